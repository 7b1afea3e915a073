-- Inbox threads (one per intent): who sees them, their own timeline entries, approvals, and the
-- intent types scenarios registered.

-- One row per (owner, thread) the owner can see. change_seq is per owner and monotonic: the
-- inbox changes cursor.
CREATE TABLE thread_participants (
    workspace_id TEXT NOT NULL,
    owner_agent  TEXT NOT NULL,
    thread_id    TEXT NOT NULL,
    role         TEXT NOT NULL,
    change_seq   INTEGER NOT NULL,
    unread       INTEGER NOT NULL,
    hidden       TEXT NOT NULL DEFAULT '[]',
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, owner_agent, thread_id)
) WITHOUT ROWID;
CREATE INDEX thread_changes ON thread_participants (workspace_id, owner_agent, change_seq);
CREATE INDEX thread_members ON thread_participants (workspace_id, thread_id);

-- Replies, delegations, decisions, reads, completion deliveries (lifecycle entries come from
-- intent_events).
CREATE TABLE thread_entries (
    workspace_id TEXT NOT NULL,
    thread_id    TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    at           INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, thread_id, entry_id)
) WITHOUT ROWID;

CREATE TABLE approvals (
    workspace_id TEXT NOT NULL,
    approval_id  TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, approval_id)
) WITHOUT ROWID;

CREATE TABLE intent_types (
    workspace_id TEXT NOT NULL,
    intent_type  TEXT NOT NULL,
    PRIMARY KEY (workspace_id, intent_type)
) WITHOUT ROWID;

-- Completions are now thread entries of the reply_to owner.
DROP TABLE completion_deliveries;
