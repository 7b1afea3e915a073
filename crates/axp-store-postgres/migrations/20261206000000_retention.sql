-- Retention (docs/retention.md): what the pruner needs to find rows past retention without
-- scanning, each workspace's own periods, and the existing rows brought along.
--
-- `intents.finished_at`: when a terminal intent finished (its updated_at), NULL while it is
-- not finished; only finished intents are in the index the pruner reads.
ALTER TABLE intents ADD COLUMN finished_at bigint;
UPDATE intents
   SET finished_at = (extract(epoch FROM ((body::jsonb) ->> 'updated_at')::timestamptz) * 1000)::bigint
 WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT');
CREATE INDEX intents_finished ON intents (workspace_id, finished_at) WHERE finished_at IS NOT NULL;

-- An intent's queue rows and deliveries, found by intent when it is removed.
CREATE INDEX agent_queue_by_intent ON agent_queue (workspace_id, intent_id);
ALTER TABLE deliveries ADD COLUMN intent_id uuid;
UPDATE deliveries SET intent_id = ((body::jsonb) ->> 'intent_id')::uuid;
CREATE INDEX deliveries_by_intent ON deliveries (workspace_id, intent_id) WHERE intent_id IS NOT NULL;

-- Webhook events by age.
ALTER TABLE webhook_events ADD COLUMN occurred_at bigint NOT NULL DEFAULT 0;
UPDATE webhook_events
   SET occurred_at = (extract(epoch FROM ((body::jsonb) ->> 'occurred_at')::timestamptz) * 1000)::bigint;
CREATE INDEX webhook_events_by_age ON webhook_events (workspace_id, occurred_at);

-- Expired idempotency records and old audit entries, across workspaces.
CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);
CREATE INDEX audit_log_by_age ON audit_log (created_at);

-- A workspace's own periods (RetentionOverrides as JSON), once it changed one.
CREATE TABLE retention_settings (
    workspace_id uuid PRIMARY KEY,
    body         text NOT NULL,
    updated_at   bigint NOT NULL
);
