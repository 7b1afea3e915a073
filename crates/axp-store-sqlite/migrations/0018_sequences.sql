-- The writer's sequences (src/counters.rs): one agent queue cursor and one inbox change cursor
-- for the whole database instead of one per agent address or owner, each row holding the last
-- value handed out. Seeded from the rows already written, so every agent's and owner's next
-- cursor is above every cursor it has seen.
CREATE TABLE sequences (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sequences (name, value) SELECT 'agent_cursor', COALESCE(MAX(cursor), 0) FROM agent_queue;
INSERT INTO sequences (name, value) SELECT 'change_seq', COALESCE(MAX(change_seq), 0) FROM thread_participants;
