//! The multi-node store: PostgreSQL shared by any number of `axp serve` replicas.
//!
//! Nothing depends on which replica a client, agent or observer talks to:
//!
//! - **Writes** are batched: each replica runs writer lanes (one by default), each committing
//!   every queued write in one transaction of three round trips (see `writer` and `tables`), so
//!   PostgreSQL's commit rate is not the ceiling.
//! - **Claims** of shared work take rows with `FOR UPDATE SKIP LOCKED` under READ COMMITTED:
//!   due timers (deleted by the transaction that fires them, so each fires once cluster-wide),
//!   due push deliveries, and poll claims of an agent's queue. Read-modify-writes of an intent
//!   lock its row (`FOR UPDATE`), so two replicas never append the same event `seq`.
//! - **Cursors** per agent queue and per inbox owner come from the writing transaction's id, and
//!   readers stop at the oldest transaction still running: unique, monotonic, and visible in
//!   cursor order, with no row that every writer of an agent waits on (see `tables`).
//! - **Caches**: principals, agents' records and active subscriptions are kept on each replica
//!   and dropped cluster-wide through the notification channel when they change (`rowcache`).
//! - **Wake-ups** cross replicas with `LISTEN/NOTIFY` (see `notify`): a doorbell only, readers
//!   re-read by cursor, and a periodic fallback read covers a lost notification.
//!
//! - **Media bytes** live in the database too, as 1 MiB chunk rows (`media`), so every replica
//!   serves every upload.
//!
//! Migrations live in `migrations/` and are embedded; [`migrate`] applies them (as
//! [`PgStore::connect`] does by default), holding an advisory lock so replicas starting together
//! are safe.
//!
//! This crate holds all of axp's PostgreSQL SQL; nothing else may.

mod cursors;
mod maintenance;
mod media;
mod notify;
mod rowcache;
mod store;
mod tables;
#[cfg(feature = "test-util")]
pub mod testdb;
#[cfg(all(test, feature = "test-util"))]
mod upgrade;
mod writer;

pub use store::{PgOptions, PgStore, migrate};

/// Whether `url` names a PostgreSQL database (`postgres://…` or `postgresql://…`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
