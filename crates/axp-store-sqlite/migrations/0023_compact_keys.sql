-- The tables that grow by rows per intent (intents, intent_events, agent_queue,
-- thread_participants) name their workspace by a small integer key instead of its 36-character
-- UUID text, an agent address (intents.to_agent, agent_queue.agent_address,
-- thread_participants.owner_agent) by a small integer key within its workspace's, and the
-- intent by its id's 16 bytes (a BLOB, which sorts as the text did): about 35, 25 and 20 bytes
-- less in each of the rows and index entries a finished simple intent leaves (src/keys.rs,
-- src/tables/mod.rs). The other tables keep the text. Keys are never deleted or reused; key 0
-- is never given (INTEGER PRIMARY KEY counts from 1).
CREATE TABLE workspace_keys (
    key          INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL UNIQUE
);
INSERT INTO workspace_keys (workspace_id)
SELECT workspace_id FROM intents
 UNION SELECT workspace_id FROM intent_events
 UNION SELECT workspace_id FROM agent_queue
 UNION SELECT workspace_id FROM thread_participants
 ORDER BY 1;

CREATE TABLE agent_keys (
    key           INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    agent_address TEXT NOT NULL,
    UNIQUE (workspace_id, agent_address)
);
INSERT INTO agent_keys (workspace_id, agent_address)
SELECT k.key, a.address
  FROM (SELECT workspace_id, to_agent AS address FROM intents
         UNION SELECT workspace_id, agent_address FROM agent_queue
         UNION SELECT workspace_id, owner_agent FROM thread_participants) a
  JOIN workspace_keys k ON k.workspace_id = a.workspace_id
 ORDER BY 1, 2;

CREATE TABLE intents_keyed (
    workspace_id INTEGER NOT NULL,
    intent_id    BLOB NOT NULL,
    status       TEXT NOT NULL,
    to_agent     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    body         BLOB NOT NULL,
    finished_at  INTEGER,
    from_agent   TEXT NOT NULL,
    intent_type  TEXT NOT NULL,
    PRIMARY KEY (workspace_id, intent_id)
) WITHOUT ROWID;
INSERT INTO intents_keyed
       (workspace_id, intent_id, status, to_agent, created_at, body, finished_at, from_agent, intent_type)
SELECT k.key, unhex(replace(i.intent_id, '-', '')), i.status, a.key, i.created_at, i.body, i.finished_at, i.from_agent, i.intent_type
  FROM intents i JOIN workspace_keys k ON k.workspace_id = i.workspace_id
  JOIN agent_keys a ON a.workspace_id = k.key AND a.agent_address = i.to_agent;
DROP TABLE intents;
ALTER TABLE intents_keyed RENAME TO intents;
CREATE INDEX intents_by_status ON intents (workspace_id, status, created_at);
CREATE INDEX intents_by_agent ON intents (workspace_id, to_agent, created_at);
CREATE INDEX intents_finished ON intents (workspace_id, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX intents_by_created ON intents (workspace_id, created_at, intent_id);

CREATE TABLE intent_events_keyed (
    workspace_id INTEGER NOT NULL,
    intent_id    BLOB NOT NULL,
    seq          INTEGER NOT NULL,
    body         BLOB NOT NULL,
    PRIMARY KEY (workspace_id, intent_id, seq)
) WITHOUT ROWID;
INSERT INTO intent_events_keyed (workspace_id, intent_id, seq, body)
SELECT k.key, unhex(replace(e.intent_id, '-', '')), e.seq, e.body
  FROM intent_events e JOIN workspace_keys k ON k.workspace_id = e.workspace_id;
DROP TABLE intent_events;
ALTER TABLE intent_events_keyed RENAME TO intent_events;

CREATE TABLE agent_queue_keyed (
    workspace_id  INTEGER NOT NULL,
    agent_address INTEGER NOT NULL,
    cursor        INTEGER NOT NULL,
    intent_id     BLOB NOT NULL,
    reason        TEXT NOT NULL,
    queued_at     INTEGER NOT NULL,
    handed_at     INTEGER,
    PRIMARY KEY (workspace_id, agent_address, cursor)
) WITHOUT ROWID;
INSERT INTO agent_queue_keyed (workspace_id, agent_address, cursor, intent_id, reason, queued_at, handed_at)
SELECT k.key, a.key, q.cursor, unhex(replace(q.intent_id, '-', '')), q.reason, q.queued_at, q.handed_at
  FROM agent_queue q JOIN workspace_keys k ON k.workspace_id = q.workspace_id
  JOIN agent_keys a ON a.workspace_id = k.key AND a.agent_address = q.agent_address;
DROP TABLE agent_queue;
ALTER TABLE agent_queue_keyed RENAME TO agent_queue;
CREATE INDEX agent_queue_unhanded ON agent_queue (workspace_id, agent_address, cursor) WHERE handed_at IS NULL;
CREATE INDEX agent_queue_by_intent ON agent_queue (workspace_id, intent_id);

CREATE TABLE thread_participants_keyed (
    workspace_id INTEGER NOT NULL,
    thread_id    BLOB NOT NULL,
    owner_agent  INTEGER NOT NULL,
    role         TEXT NOT NULL,
    change_seq   INTEGER NOT NULL,
    unread       INTEGER NOT NULL,
    hidden       TEXT NOT NULL DEFAULT '[]',
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, thread_id, owner_agent)
) WITHOUT ROWID;
INSERT INTO thread_participants_keyed
       (workspace_id, thread_id, owner_agent, role, change_seq, unread, hidden, updated_at)
SELECT k.key, unhex(replace(p.thread_id, '-', '')), a.key, p.role, p.change_seq, p.unread, p.hidden, p.updated_at
  FROM thread_participants p JOIN workspace_keys k ON k.workspace_id = p.workspace_id
  JOIN agent_keys a ON a.workspace_id = k.key AND a.agent_address = p.owner_agent;
DROP TABLE thread_participants;
ALTER TABLE thread_participants_keyed RENAME TO thread_participants;
CREATE INDEX thread_changes ON thread_participants (workspace_id, owner_agent, change_seq);
