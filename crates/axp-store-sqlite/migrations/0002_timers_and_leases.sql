-- Durable timers (deadlines, lease expiry) and handoff tracking on the agent queue.

CREATE TABLE timers (
    workspace_id TEXT NOT NULL,
    intent_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, intent_id, key)
) WITHOUT ROWID;
CREATE INDEX timers_by_due ON timers (due_at);

-- Set when the queue item was handed to the agent (stream frame or poll claim); a poll claim
-- takes only items not yet handed, so each is claimed once.
ALTER TABLE agent_queue ADD COLUMN handed_at INTEGER;
CREATE INDEX agent_queue_unhanded ON agent_queue (workspace_id, agent_address, cursor) WHERE handed_at IS NULL;
