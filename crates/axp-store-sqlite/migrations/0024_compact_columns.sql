-- The last text columns of the rows a finished intent leaves become small integers: intents.status
-- is its code (the status's place in the lifecycle, `axp_core::Status::ALL`: CREATED 0 …
-- TIMED_OUT 9; src/tables/mod.rs status_code), intents.from_agent its agent key (agent_keys, as
-- to_agent), intents.intent_type a key in type_keys. thread_participants loses role and
-- agent_queue reason, which were written and never read, and thread_participants.hidden holds
-- NULL for none instead of '[]'. About 100 bytes less per finished simple intent.
CREATE TABLE type_keys (
    key          INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    intent_type  TEXT NOT NULL,
    UNIQUE (workspace_id, intent_type)
);
INSERT INTO type_keys (workspace_id, intent_type)
SELECT DISTINCT workspace_id, intent_type FROM intents ORDER BY 1, 2;

INSERT OR IGNORE INTO agent_keys (workspace_id, agent_address)
SELECT DISTINCT workspace_id, from_agent FROM intents ORDER BY 1, 2;

CREATE TABLE intents_coded (
    workspace_id INTEGER NOT NULL,
    intent_id    BLOB NOT NULL,
    status       INTEGER NOT NULL,
    to_agent     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    body         BLOB NOT NULL,
    finished_at  INTEGER,
    from_agent   INTEGER NOT NULL,
    intent_type  INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, intent_id)
) WITHOUT ROWID;
INSERT INTO intents_coded
       (workspace_id, intent_id, status, to_agent, created_at, body, finished_at, from_agent, intent_type)
SELECT i.workspace_id, i.intent_id,
       CASE i.status
           WHEN 'CREATED' THEN 0 WHEN 'SUBMITTED' THEN 1 WHEN 'DELIVERED' THEN 2
           WHEN 'ACKNOWLEDGED' THEN 3 WHEN 'IN_PROGRESS' THEN 4 WHEN 'WAITING' THEN 5
           WHEN 'COMPLETED' THEN 6 WHEN 'FAILED' THEN 7 WHEN 'CANCELED' THEN 8
           WHEN 'TIMED_OUT' THEN 9
       END,
       i.to_agent, i.created_at, i.body, i.finished_at, a.key, t.key
  FROM intents i
  JOIN agent_keys a ON a.workspace_id = i.workspace_id AND a.agent_address = i.from_agent
  JOIN type_keys t ON t.workspace_id = i.workspace_id AND t.intent_type = i.intent_type;
DROP TABLE intents;
ALTER TABLE intents_coded RENAME TO intents;
CREATE INDEX intents_by_status ON intents (workspace_id, status, created_at);
CREATE INDEX intents_by_agent ON intents (workspace_id, to_agent, created_at);
CREATE INDEX intents_finished ON intents (workspace_id, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX intents_by_created ON intents (workspace_id, created_at, intent_id);

CREATE TABLE thread_participants_coded (
    workspace_id INTEGER NOT NULL,
    thread_id    BLOB NOT NULL,
    owner_agent  INTEGER NOT NULL,
    change_seq   INTEGER NOT NULL,
    unread       INTEGER NOT NULL,
    hidden       TEXT,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, thread_id, owner_agent)
) WITHOUT ROWID;
INSERT INTO thread_participants_coded
       (workspace_id, thread_id, owner_agent, change_seq, unread, hidden, updated_at)
SELECT workspace_id, thread_id, owner_agent, change_seq, unread, NULLIF(hidden, '[]'), updated_at
  FROM thread_participants;
DROP TABLE thread_participants;
ALTER TABLE thread_participants_coded RENAME TO thread_participants;
CREATE INDEX thread_changes ON thread_participants (workspace_id, owner_agent, change_seq);

CREATE TABLE agent_queue_coded (
    workspace_id  INTEGER NOT NULL,
    agent_address INTEGER NOT NULL,
    cursor        INTEGER NOT NULL,
    intent_id     BLOB NOT NULL,
    queued_at     INTEGER NOT NULL,
    handed_at     INTEGER,
    PRIMARY KEY (workspace_id, agent_address, cursor)
) WITHOUT ROWID;
INSERT INTO agent_queue_coded (workspace_id, agent_address, cursor, intent_id, queued_at, handed_at)
SELECT workspace_id, agent_address, cursor, intent_id, queued_at, handed_at FROM agent_queue;
DROP TABLE agent_queue;
ALTER TABLE agent_queue_coded RENAME TO agent_queue;
CREATE INDEX agent_queue_unhanded ON agent_queue (workspace_id, agent_address, cursor) WHERE handed_at IS NULL;
CREATE INDEX agent_queue_by_intent ON agent_queue (workspace_id, intent_id);
