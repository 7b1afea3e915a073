//! The writer's sequences: agent queue cursors and inbox change cursors (`change_seq`).
//!
//! Each is one counter for the whole database, not one per agent address or owner. The contract
//! asks only that an agent's cursors grow ("monotonic per agent address (or global)",
//! AXP-CONTRACT.md, agent stream) and that the inbox change feed's cursors grow (§ inbox
//! changes), so one counter serves every address: nothing to load when a new address appears,
//! and no per-address state in memory, however many addresses clients invent.
//!
//! The writer hands values out from memory. Table `sequences` holds the last value handed out,
//! written in the transaction of the rows that use it ([`Counters::save`]), and read once when
//! the writer starts ([`Counters::load`]); deleting old rows (retention) never takes a value
//! back. A value taken by a job or batch that rolled back is skipped, never reused: cursors have
//! gaps, as they do on PostgreSQL.

use axp_store::Result;
use r2d2_sqlite::rusqlite::{Connection, params};

use crate::tables::db;

/// One sequence: the last value handed out, and the last one written to `sequences`.
pub(crate) struct Sequence {
    name: &'static str,
    last: u64,
    saved: u64,
}

impl Sequence {
    /// The next value: one past the last one handed out.
    pub(crate) fn next(&mut self) -> u64 {
        self.last += 1;
        self.last
    }
}

/// The writer's sequences.
pub(crate) struct Counters {
    /// Agent queue cursors (`agent_queue.cursor`).
    pub(crate) cursors: Sequence,
    /// Inbox change cursors (`thread_participants.change_seq`).
    pub(crate) change_seqs: Sequence,
}

impl Counters {
    /// Reads the last values handed out from `sequences`.
    ///
    /// Errors: [`axp_store::Error::Internal`] when the table or a row is missing (a database
    /// the migrations did not reach).
    pub(crate) fn load(conn: &Connection) -> Result<Self> {
        let last = |name: &'static str| -> Result<Sequence> {
            let value: i64 = conn
                .query_row("SELECT value FROM sequences WHERE name = ?1", params![name], |r| r.get(0))
                .map_err(db)?;
            Ok(Sequence { name, last: value as u64, saved: value as u64 })
        };
        Ok(Self { cursors: last("agent_cursor")?, change_seqs: last("change_seq")? })
    }

    /// Writes to `sequences` every value handed out since the last save. Call inside the
    /// batch's transaction, before it commits, so the rows and the high-water mark commit
    /// together.
    ///
    /// Errors: the database's.
    pub(crate) fn save(&mut self, conn: &Connection) -> Result<()> {
        for seq in [&mut self.cursors, &mut self.change_seqs] {
            if seq.last != seq.saved {
                conn.prepare_cached("UPDATE sequences SET value = ?2 WHERE name = ?1")
                    .map_err(db)?
                    .execute(params![seq.name, seq.last as i64])
                    .map_err(db)?;
                seq.saved = seq.last;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn values_grow_and_survive_a_reload_only_once_saved() {
        let conn = migrated();
        let mut counters = Counters::load(&conn).unwrap();
        assert_eq!((counters.cursors.next(), counters.cursors.next()), (1, 2));
        assert_eq!(counters.change_seqs.next(), 1);
        counters.save(&conn).unwrap();
        let mut reloaded = Counters::load(&conn).unwrap();
        assert_eq!((reloaded.cursors.next(), reloaded.change_seqs.next()), (3, 2));
        // Handed out but never saved (its batch rolled back): reused after a restart, which is
        // harmless, as no committed row holds it.
        let mut again = Counters::load(&conn).unwrap();
        assert_eq!(again.cursors.next(), 3);
    }

    #[test]
    fn a_rolled_back_save_leaves_the_last_committed_value() {
        let conn = migrated();
        let mut counters = Counters::load(&conn).unwrap();
        counters.cursors.next();
        counters.save(&conn).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        counters.cursors.next();
        counters.save(&conn).unwrap();
        conn.execute_batch("ROLLBACK").unwrap();
        assert_eq!(Counters::load(&conn).unwrap().cursors.next(), 2);
        // In memory the rolled-back value stays taken: the next one skips it.
        assert_eq!(counters.cursors.next(), 3);
    }
}
