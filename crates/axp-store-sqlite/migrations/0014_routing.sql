-- Routing (contract §6 "routing", §5.6): a principal's routes (routing endpoints) and its
-- transport bindings. Rows are JSON bodies; the columns are what queries filter by.

CREATE TABLE routes (
    workspace_id TEXT NOT NULL,
    route_id     TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, route_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX routes_id ON routes (route_id);
CREATE INDEX routes_principal ON routes (workspace_id, principal_id, created_at);

-- A principal has one binding per (transport type, handle): the upsert key.
CREATE TABLE transport_bindings (
    workspace_id     TEXT NOT NULL,
    binding_id       TEXT NOT NULL,
    principal_id     TEXT NOT NULL,
    transport_type   TEXT NOT NULL,
    transport_handle TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    body             TEXT NOT NULL,
    PRIMARY KEY (workspace_id, binding_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX transport_bindings_id ON transport_bindings (binding_id);
CREATE UNIQUE INDEX transport_bindings_key ON transport_bindings (principal_id, transport_type, transport_handle);
CREATE INDEX transport_bindings_principal ON transport_bindings (workspace_id, principal_id, created_at);

-- Deliveries routed to a principal (§5.5): each is carried by one intent.
CREATE TABLE routed_deliveries (
    workspace_id TEXT NOT NULL,
    delivery_id  TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    intent_id    TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, delivery_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX routed_deliveries_intent ON routed_deliveries (workspace_id, intent_id);
CREATE INDEX routed_deliveries_principal ON routed_deliveries (workspace_id, principal_id, created_at);
