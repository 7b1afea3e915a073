-- thread_participants.role and agent_queue.reason were written and never read: this release
-- writes neither (NULL, which takes no room in a row). The columns stay, so an older replica
-- still running during a rolling upgrade keeps writing them.
ALTER TABLE thread_participants ALTER COLUMN role DROP NOT NULL;
ALTER TABLE agent_queue ALTER COLUMN reason DROP NOT NULL;
