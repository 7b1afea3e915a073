-- Webhook subscriptions and the events sent to them.

CREATE TABLE webhook_subscriptions (
    workspace_id    TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    owner_agent     TEXT NOT NULL,
    callback_url    TEXT NOT NULL,
    active          INTEGER NOT NULL,
    secret          TEXT NOT NULL,
    body            TEXT NOT NULL,
    PRIMARY KEY (workspace_id, subscription_id),
    UNIQUE (workspace_id, owner_agent, callback_url)
) WITHOUT ROWID;
CREATE INDEX webhook_subscriptions_active ON webhook_subscriptions (workspace_id, owner_agent) WHERE active = 1;

CREATE TABLE webhook_events (
    workspace_id TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    owner_agent  TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
) WITHOUT ROWID;

ALTER TABLE deliveries ADD COLUMN event_id TEXT;
CREATE INDEX deliveries_by_event ON deliveries (workspace_id, event_id) WHERE event_id IS NOT NULL;
