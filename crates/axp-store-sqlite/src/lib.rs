//! The embedded default store: SQLite in WAL mode with `synchronous=FULL`.
//!
//! One writer thread owns the only write connection. Callers queue closures to it; it takes
//! every queued closure (up to [`writer::MAX_BATCH`]), runs each inside its own savepoint in one
//! `BEGIN IMMEDIATE` transaction, commits once, and only then answers each caller. That is group
//! commit: one fsync serves every write in the batch, and an acknowledged write has been fsynced,
//! so it survives `kill -9` and power loss. A closure that fails rolls back to its savepoint and
//! does not disturb the others.
//!
//! Reads go to a small pool of read-only connections on blocking threads; WAL lets them run
//! beside the writer. WAL checkpoints run on a thread of their own (`checkpoint.rs`); a commit
//! only finishes one when the WAL has grown past a few thousand pages, so that it starts over.
//! Authentication is answered from an in-process cache that the writer invalidates
//! whenever a key or a service account changes ([`axp_store::PrincipalCache`]).
//!
//! This crate holds all of axp's SQLite SQL; nothing else may.

mod checkpoint;
mod counters;
mod rows;
mod schema;
mod store;
mod writer;

pub use store::SqliteStore;
