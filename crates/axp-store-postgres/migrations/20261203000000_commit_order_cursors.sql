-- Agent queue cursors and inbox change cursors now come from the writing transaction's id
-- (`pg_current_xact_id() << 20 | n`), read up to the safe horizon `pg_snapshot_xmin`: no counter
-- row serialises the writers of one agent or owner any more. Cursors taken before are small
-- numbers, below every new one, so existing cursors stay valid.
DROP TABLE agent_cursors;
DROP TABLE owner_cursors;
