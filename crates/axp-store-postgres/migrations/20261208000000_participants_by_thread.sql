-- Inbox participants keyed by thread first: (workspace, thread, owner), was (workspace, owner,
-- thread). The key then serves what the index thread_members (workspace, thread) served
-- (everyone on a thread, retention's removal of a thread), so every write of a participant
-- updates one index fewer. The change feed keeps its index.
ALTER TABLE thread_participants DROP CONSTRAINT thread_participants_pkey;
ALTER TABLE thread_participants ADD PRIMARY KEY (workspace_id, thread_id, owner_agent);
DROP INDEX thread_members;
