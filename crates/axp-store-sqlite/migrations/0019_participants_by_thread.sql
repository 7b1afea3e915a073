-- Inbox participants keyed by thread first: (workspace, thread, owner), was (workspace, owner,
-- thread). A create's two participants then go into one leaf page, next to the threads created
-- just before it, instead of one page per owner (to many agent addresses, a page per create);
-- and the index thread_members (workspace, thread) goes: the key serves what it served
-- (everyone on a thread, retention's removal of a thread). The change feed keeps its index.
CREATE TABLE thread_participants_by_thread (
    workspace_id TEXT NOT NULL,
    thread_id    TEXT NOT NULL,
    owner_agent  TEXT NOT NULL,
    role         TEXT NOT NULL,
    change_seq   INTEGER NOT NULL,
    unread       INTEGER NOT NULL,
    hidden       TEXT NOT NULL DEFAULT '[]',
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, thread_id, owner_agent)
) WITHOUT ROWID;
INSERT INTO thread_participants_by_thread
       (workspace_id, thread_id, owner_agent, role, change_seq, unread, hidden, updated_at)
SELECT workspace_id, thread_id, owner_agent, role, change_seq, unread, hidden, updated_at
  FROM thread_participants;
DROP TABLE thread_participants;
ALTER TABLE thread_participants_by_thread RENAME TO thread_participants;
CREATE INDEX thread_changes ON thread_participants (workspace_id, owner_agent, change_seq);
