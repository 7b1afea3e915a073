//! The embedded default store: SQLite in WAL mode with `synchronous=FULL`.
//!
//! It implements the storage traits of [`axp_store::tables`] with SQL and row mapping only
//! (`tables/`, one module per aggregate); the rules are `axp-engine`'s, which hands its work over
//! as jobs ([`axp_store::Job`]).
//!
//! One writer thread owns the only write connection. It takes every queued job (up to
//! [`writer::MAX_BATCH`]), runs them in one `BEGIN IMMEDIATE` transaction, commits once, and
//! only then answers each caller. That is group commit: one fsync serves every write in the
//! batch, and an acknowledged write has been fsynced, so it survives `kill -9` and power loss.
//! A batch first runs with no savepoints; if a job fails, the batch is rolled back and runs
//! again with a savepoint per job, so the failed job rolls back to its savepoint and does not
//! disturb the others (jobs are re-runnable, see [`axp_store::Job`]). The batch after one with a
//! failed job starts with savepoints. Every storage call is synchronous, so the writer runs a
//! job's future to completion in one poll, with no executor.
//!
//! Reads go to a small pool of read-only connections on blocking threads; WAL lets them run
//! beside the writer. WAL checkpoints run on a thread of their own (`checkpoint.rs`); a commit
//! only finishes one when the WAL has grown past a few thousand pages, so that it starts over.
//! Authentication is answered from an in-process cache that the writer invalidates
//! whenever a key or a service account changes ([`axp_store::PrincipalCache`]).
//!
//! The tables that grow by rows per intent name their workspace and agent addresses by small
//! integer keys (`keys.rs`) and their intent by its id's 16 bytes (`tables/mod.rs`).
//!
//! Media bytes are files under `<data-dir>/media/` (`media.rs`); their metadata is a table.
//!
//! This crate holds all of axp's SQLite SQL; nothing else may.

mod checkpoint;
mod counters;
mod integrity;
mod keys;
mod maintenance;
mod media;
#[cfg(test)]
mod retention_tests;
mod schema;
mod store;
mod tables;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade;
mod writer;

pub use integrity::check_integrity;
pub use schema::{database_version, migrate_file, schema_version};
pub use store::SqliteStore;
