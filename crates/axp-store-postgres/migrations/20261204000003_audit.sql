-- The audit log: one row per admin or security action, written in the action's transaction.
-- `audit_id` is `xid << 20 | n` like the queue's cursors (no shared sequence, whose order is not
-- commit order); reads stop at the safe horizon, so a page below a cursor never changes.
-- `workspace_id` is NULL for an organization-wide action. `details` is a JSON object.
CREATE TABLE audit_log (
    audit_id     bigint PRIMARY KEY,
    org_id       uuid NOT NULL,
    workspace_id uuid,
    actor_type   text NOT NULL,
    actor_id     text NOT NULL,
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    trace_id     text,
    created_at   bigint NOT NULL,
    details      text NOT NULL
);

CREATE INDEX audit_log_org ON audit_log (org_id, audit_id);
