//! `store::Error`: the failures callers can act on.

use axp_core::lifecycle::LifecycleError;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such row in the caller's workspace.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; `constraint` names it (e.g. `service_accounts.agent_address`).
    #[error("conflict on {constraint}")]
    Conflict {
        /// The rule that was broken.
        constraint: String,
    },
    /// The idempotency key was used before with a different request.
    #[error("idempotency key reused with different payload")]
    IdempotencyConflict,
    /// The lifecycle refused the command; nothing was written.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The store cannot serve now (shutting down, disk full, database down); retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The database file is damaged (SQLite `SQLITE_CORRUPT`/`SQLITE_NOTADB`, PostgreSQL
    /// `XX001`/`XX002`). The store that sees one is marked faulted ([`Store::fault`](crate::Store::fault))
    /// and stays so until restarted; restore from a backup.
    #[error("store data corrupted: {0}")]
    Corrupt(String),
    /// This backend does not offer the operation; the message says what to use instead (e.g.
    /// a backup of PostgreSQL: `pg_dump` or PITR).
    #[error("{0}")]
    Unsupported(String),
    /// A bug or bad data.
    #[error("store internal error: {0}")]
    Internal(String),
}
