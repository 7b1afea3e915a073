-- The audit log: one row per admin or security action, written in the action's transaction.
-- `audit_id` increases in commit order (one writer), so it is the log's cursor; AUTOINCREMENT
-- keeps ids from ever being handed out twice. `workspace_id` is NULL for an organization-wide
-- action. `details` is a JSON object.
CREATE TABLE audit_log (
    audit_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       TEXT NOT NULL,
    workspace_id TEXT,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    trace_id     TEXT,
    created_at   INTEGER NOT NULL,
    details      TEXT NOT NULL
);

CREATE INDEX audit_log_org ON audit_log (org_id, audit_id);
