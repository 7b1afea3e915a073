-- axp schema v1. Every table carries workspace_id; every key starts with it.

CREATE TABLE orgs (
    org_id      TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE workspaces (
    workspace_id TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (org_id),
    slug         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE service_accounts (
    workspace_id       TEXT NOT NULL,
    service_account_id TEXT NOT NULL,
    name               TEXT NOT NULL,
    agent_address      TEXT NOT NULL,
    body               TEXT NOT NULL,
    PRIMARY KEY (workspace_id, service_account_id),
    UNIQUE (workspace_id, name),
    UNIQUE (workspace_id, agent_address)
) WITHOUT ROWID;

CREATE TABLE api_keys (
    key_hash           BLOB PRIMARY KEY,
    workspace_id       TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    service_account_id TEXT NOT NULL,
    body               TEXT NOT NULL,
    expires_at         INTEGER,
    revoked_at         INTEGER,
    UNIQUE (workspace_id, key_id)
) WITHOUT ROWID;

CREATE TABLE intents (
    workspace_id TEXT NOT NULL,
    intent_id    TEXT NOT NULL,
    status       TEXT NOT NULL,
    to_agent     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, intent_id)
) WITHOUT ROWID;
CREATE INDEX intents_by_status ON intents (workspace_id, status, created_at);
CREATE INDEX intents_by_agent ON intents (workspace_id, to_agent, created_at);

CREATE TABLE intent_events (
    workspace_id TEXT NOT NULL,
    intent_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, intent_id, seq)
) WITHOUT ROWID;

-- The per-agent delivery queue: cursor is monotonic per (workspace, agent address).
CREATE TABLE agent_queue (
    workspace_id  TEXT NOT NULL,
    agent_address TEXT NOT NULL,
    cursor        INTEGER NOT NULL,
    intent_id     TEXT NOT NULL,
    reason        TEXT NOT NULL,
    queued_at     INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, agent_address, cursor)
) WITHOUT ROWID;

CREATE TABLE idempotency (
    workspace_id TEXT NOT NULL,
    caller       TEXT NOT NULL,
    route        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    intent_id    TEXT NOT NULL,
    body         TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, caller, route, key)
) WITHOUT ROWID;

-- Completions delivered to an intent's reply_to owner (contract §4.6).
CREATE TABLE completion_deliveries (
    workspace_id TEXT NOT NULL,
    intent_id    TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    reply_to     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, intent_id, message_id)
) WITHOUT ROWID;
