-- Push deliveries (http agents, webhooks) and the signing secrets of http agents.

ALTER TABLE service_accounts ADD COLUMN push_secret TEXT;

CREATE TABLE deliveries (
    workspace_id    TEXT NOT NULL,
    delivery_id     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    -- The next attempt while pending; the claim's expiry while delivering; NULL when settled.
    due_at          INTEGER,
    -- The agent address (agent pushes) whose secret signs it, or the subscription id (webhooks).
    secret_owner    TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    body            TEXT NOT NULL,
    PRIMARY KEY (workspace_id, delivery_id)
) WITHOUT ROWID;
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_by_status ON deliveries (workspace_id, status, created_at);
