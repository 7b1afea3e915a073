-- axp schema v1 for PostgreSQL: the same aggregates as the SQLite store (its migrations
-- 0001..0005), in one file. Every table carries workspace_id and every key starts with it, so
-- the schema can later be distributed by workspace. Times are Unix milliseconds (bigint); row
-- bodies are the serde JSON of the axp-core value, as text (written and read whole).

CREATE TABLE orgs (
    org_id      uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    created_at  bigint NOT NULL
);

CREATE TABLE workspaces (
    workspace_id uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES orgs (org_id),
    slug         text NOT NULL,
    created_at   bigint NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE service_accounts (
    workspace_id       uuid NOT NULL,
    service_account_id uuid NOT NULL,
    name               text NOT NULL,
    agent_address      text NOT NULL,
    body               text NOT NULL,
    push_secret        text,
    PRIMARY KEY (workspace_id, service_account_id),
    CONSTRAINT service_accounts_name UNIQUE (workspace_id, name),
    CONSTRAINT service_accounts_agent_address UNIQUE (workspace_id, agent_address)
);

CREATE TABLE api_keys (
    key_hash           bytea PRIMARY KEY,
    workspace_id       uuid NOT NULL,
    key_id             uuid NOT NULL,
    service_account_id uuid NOT NULL,
    body               text NOT NULL,
    expires_at         bigint,
    revoked_at         bigint,
    UNIQUE (workspace_id, key_id)
);
CREATE INDEX api_keys_by_account ON api_keys (workspace_id, service_account_id);

CREATE TABLE intents (
    workspace_id uuid NOT NULL,
    intent_id    uuid NOT NULL,
    status       text NOT NULL,
    to_agent     text NOT NULL,
    created_at   bigint NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, intent_id)
);
CREATE INDEX intents_by_created ON intents (workspace_id, created_at, intent_id);
CREATE INDEX intents_by_status ON intents (workspace_id, status, created_at);
CREATE INDEX intents_by_agent ON intents (workspace_id, to_agent, created_at);

CREATE TABLE intent_events (
    workspace_id uuid NOT NULL,
    intent_id    uuid NOT NULL,
    seq          bigint NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, intent_id, seq)
);

-- The last cursor handed out per agent queue. The row is locked by the transaction that takes
-- the next cursors (at the end of a batch, in key order), so cursors are unique, and they
-- become visible in cursor order: a reader never sees cursor n+1 before n.
CREATE TABLE agent_cursors (
    workspace_id  uuid NOT NULL,
    agent_address text NOT NULL,
    last_cursor   bigint NOT NULL,
    PRIMARY KEY (workspace_id, agent_address)
);

-- The per-agent delivery queue. handed_at is set when the item was handed to the agent (stream
-- frame, poll claim or push); a poll claim takes only unhanded items.
CREATE TABLE agent_queue (
    workspace_id  uuid NOT NULL,
    agent_address text NOT NULL,
    cursor        bigint NOT NULL,
    intent_id     uuid NOT NULL,
    reason        text NOT NULL,
    queued_at     bigint NOT NULL,
    handed_at     bigint,
    PRIMARY KEY (workspace_id, agent_address, cursor)
);
CREATE INDEX agent_queue_unhanded ON agent_queue (workspace_id, agent_address, cursor) WHERE handed_at IS NULL;

CREATE TABLE idempotency (
    workspace_id uuid NOT NULL,
    caller       uuid NOT NULL,
    route        text NOT NULL,
    key          text NOT NULL,
    fingerprint  text NOT NULL,
    intent_id    uuid NOT NULL,
    body         text NOT NULL,
    expires_at   bigint NOT NULL,
    PRIMARY KEY (workspace_id, caller, route, key)
);

-- Durable timers: a row lives until it fires (it is deleted by the claim that fires it).
CREATE TABLE timers (
    workspace_id uuid NOT NULL,
    intent_id    uuid NOT NULL,
    key          text NOT NULL,
    kind         text NOT NULL,
    due_at       bigint NOT NULL,
    PRIMARY KEY (workspace_id, intent_id, key)
);
CREATE INDEX timers_by_due ON timers (due_at);

CREATE TABLE deliveries (
    workspace_id    uuid NOT NULL,
    delivery_id     uuid NOT NULL,
    kind            text NOT NULL,
    status          text NOT NULL,
    -- The next attempt while pending; the claim's expiry while delivering; NULL when settled
    -- (settled rows leave the partial index the dispatcher claims from).
    due_at          bigint,
    -- The agent address (agent pushes) whose secret signs it, or the subscription id (webhooks).
    secret_owner    text NOT NULL,
    created_at      bigint NOT NULL,
    event_id        uuid,
    body            text NOT NULL,
    PRIMARY KEY (workspace_id, delivery_id)
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_by_created ON deliveries (workspace_id, created_at DESC, delivery_id DESC);
CREATE INDEX deliveries_by_status ON deliveries (workspace_id, status, created_at);
CREATE INDEX deliveries_by_event ON deliveries (workspace_id, event_id) WHERE event_id IS NOT NULL;

CREATE TABLE webhook_subscriptions (
    workspace_id    uuid NOT NULL,
    subscription_id uuid NOT NULL,
    owner_agent     text NOT NULL,
    callback_url    text NOT NULL,
    active          boolean NOT NULL,
    secret          text NOT NULL,
    body            text NOT NULL,
    PRIMARY KEY (workspace_id, subscription_id),
    CONSTRAINT webhook_subscriptions_owner_url UNIQUE (workspace_id, owner_agent, callback_url)
);
CREATE INDEX webhook_subscriptions_active ON webhook_subscriptions (workspace_id, owner_agent) WHERE active;

CREATE TABLE webhook_events (
    workspace_id uuid NOT NULL,
    event_id     uuid NOT NULL,
    owner_agent  text NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
);

-- The last inbox change_seq handed out per owner (the changes cursor), locked like
-- agent_cursors.
CREATE TABLE owner_cursors (
    workspace_id uuid NOT NULL,
    owner_agent  text NOT NULL,
    last_seq     bigint NOT NULL,
    PRIMARY KEY (workspace_id, owner_agent)
);

-- One row per (owner, thread) the owner can see; change_seq is the owner's changes cursor.
CREATE TABLE thread_participants (
    workspace_id uuid NOT NULL,
    owner_agent  text NOT NULL,
    thread_id    uuid NOT NULL,
    role         text NOT NULL,
    change_seq   bigint NOT NULL,
    unread       boolean NOT NULL,
    hidden       text NOT NULL DEFAULT '[]',
    updated_at   bigint NOT NULL,
    PRIMARY KEY (workspace_id, owner_agent, thread_id)
);
CREATE INDEX thread_changes ON thread_participants (workspace_id, owner_agent, change_seq);
CREATE INDEX thread_members ON thread_participants (workspace_id, thread_id);

CREATE TABLE thread_entries (
    workspace_id uuid NOT NULL,
    thread_id    uuid NOT NULL,
    entry_id     uuid NOT NULL,
    at           bigint NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, thread_id, entry_id)
);

CREATE TABLE approvals (
    workspace_id uuid NOT NULL,
    approval_id  uuid NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, approval_id)
);

CREATE TABLE intent_types (
    workspace_id uuid NOT NULL,
    intent_type  text NOT NULL,
    PRIMARY KEY (workspace_id, intent_type)
);
