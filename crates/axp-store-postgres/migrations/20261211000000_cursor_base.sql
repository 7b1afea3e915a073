-- Cursors (agent queue cursors, inbox change cursors, audit ids) count transaction ids from a
-- base kept in the database: `(xid + base) << 20 | n`, read up to `(xmin + base) << 20`. A
-- database restored into another cluster (pg_dump, then pg_restore) keeps its cursors, but that
-- cluster's transaction ids may be far behind them: new rows would then take smaller cursors
-- than the restored ones and stay out of reads past them, and the restored rows would stay
-- behind the horizon. A store that finds a cursor at or past its next one when it connects
-- raises the base past it (src/cursors.rs); on the cluster the rows were written on, nothing is.
CREATE TABLE cursor_base (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    xids     bigint NOT NULL
);
INSERT INTO cursor_base (xids) VALUES (0);

-- This transaction's id, counted from the base (assigns it one, as pg_current_xact_id does).
CREATE FUNCTION axp_xid() RETURNS bigint LANGUAGE sql VOLATILE
    AS $$ SELECT pg_current_xact_id()::text::bigint + xids FROM cursor_base $$;

-- The safe horizon as a cursor: below it, every row that will ever exist is visible.
CREATE FUNCTION axp_horizon() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint + xids) << 20 FROM cursor_base $$;

-- What the check at connect reads: whether any cursor is at or past a value, without reading
-- the tables (audit_log's key is its cursor already).
CREATE INDEX agent_queue_cursor_range ON agent_queue USING brin (cursor);
CREATE INDEX thread_participants_change_range ON thread_participants USING brin (change_seq);
