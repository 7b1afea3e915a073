-- The agent mesh (contract §6 "Mesh"): each agent's last heartbeat and kill switch (a row once
-- it sent a heartbeat or was killed; times in ms since the epoch), its reported metrics summed
-- per UTC day (days since 1970-01-01), and the mesh event log.
CREATE TABLE mesh_agents (
    workspace_id       uuid NOT NULL,
    service_account_id uuid NOT NULL,
    address            text NOT NULL,
    last_heartbeat_at  bigint,
    killed_at          bigint,
    PRIMARY KEY (workspace_id, service_account_id)
);

CREATE INDEX mesh_agents_killed ON mesh_agents (workspace_id) WHERE killed_at IS NOT NULL;

CREATE TABLE mesh_metrics (
    workspace_id       uuid NOT NULL,
    service_account_id uuid NOT NULL,
    day                bigint NOT NULL,
    intents_total      bigint NOT NULL,
    intents_succeeded  bigint NOT NULL,
    intents_failed     bigint NOT NULL,
    latency_ms_sum     double precision NOT NULL,
    latency_weight     bigint NOT NULL,
    cost_usd           double precision NOT NULL,
    reports            bigint NOT NULL,
    PRIMARY KEY (workspace_id, day, service_account_id)
);

CREATE TABLE mesh_events (
    workspace_id uuid NOT NULL,
    event_id     uuid NOT NULL,
    address      text NOT NULL,
    event_type   text NOT NULL,
    details      text,
    actor_id     text,
    created_at   bigint NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
);

CREATE INDEX mesh_events_newest ON mesh_events (workspace_id, created_at, event_id);
