-- The agent mesh (contract §6 "Mesh"): each agent's last heartbeat and kill switch (a row once
-- it sent a heartbeat or was killed; times in ms since the epoch), its reported metrics summed
-- per UTC day (days since 1970-01-01), and the mesh event log.
CREATE TABLE mesh_agents (
    workspace_id       TEXT NOT NULL,
    service_account_id TEXT NOT NULL,
    address            TEXT NOT NULL,
    last_heartbeat_at  INTEGER,
    killed_at          INTEGER,
    PRIMARY KEY (workspace_id, service_account_id)
) WITHOUT ROWID;

CREATE INDEX mesh_agents_killed ON mesh_agents (workspace_id) WHERE killed_at IS NOT NULL;

CREATE TABLE mesh_metrics (
    workspace_id       TEXT NOT NULL,
    service_account_id TEXT NOT NULL,
    day                INTEGER NOT NULL,
    intents_total      INTEGER NOT NULL,
    intents_succeeded  INTEGER NOT NULL,
    intents_failed     INTEGER NOT NULL,
    latency_ms_sum     REAL NOT NULL,
    latency_weight     INTEGER NOT NULL,
    cost_usd           REAL NOT NULL,
    reports            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, service_account_id)
) WITHOUT ROWID;

CREATE TABLE mesh_events (
    workspace_id TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    address      TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    details      TEXT,
    actor_id     TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
);

CREATE INDEX mesh_events_newest ON mesh_events (workspace_id, created_at, event_id);
