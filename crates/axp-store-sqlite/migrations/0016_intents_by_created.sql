-- Listing intents by creation (GET /v1/intents, newest or oldest first, in keyset pages):
-- without this index a listing with no agent or single status sorted the workspace's every
-- intent (SEARCH USING PRIMARY KEY + TEMP B-TREE FOR ORDER BY). PostgreSQL has had it since
-- its first migration.
CREATE INDEX intents_by_created ON intents (workspace_id, created_at, intent_id);
