//! The storage traits, one per aggregate (the model is restate's `storage-api`: one `*Table`
//! trait per table family, the state machine written once over a transaction that implements
//! them all).
//!
//! A backend implements every trait on its transaction type with SQL and row mapping only: no
//! lifecycle rule, no routing by binding, no decision. The rules live in `axp-engine`, which
//! runs them as [`Job`]s through a [`Backend`].
//!
//! Every method is scoped by a `WorkspaceId` except the few the server's own background work
//! uses across workspaces (due timers, due deliveries, authentication).
//!
//! Locking: a method with `for_update` (or named `*_for_update`) locks what it reads until the
//! transaction ends where the backend has concurrent writers (PostgreSQL replicas); the SQLite
//! backend has one writer and ignores it.

mod access_requests;
mod accounts;
mod audit;
mod deliveries;
mod directory;
mod idempotency;
mod inbox;
mod intents;
mod media;
mod members;
mod mesh;
mod orgs;
mod people;
mod queue;
mod quotas;
mod retention;
mod routing;
mod schemas;
mod timers;
mod ui_sessions;
mod webhooks;

pub use access_requests::AccessRequestTable;
pub use accounts::AccountTable;
pub use audit::AuditTable;
pub use deliveries::DeliveryTable;
pub use directory::DirectoryTable;
pub use idempotency::IdempotencyTable;
pub use inbox::InboxTable;
pub use intents::IntentTable;
pub use media::MediaTable;
pub use members::MemberTable;
pub use mesh::{DayMetrics, MeshState, MeshTable};
pub use orgs::OrgTable;
pub use people::PeopleTable;
pub use queue::QueueTable;
pub use quotas::{QuotaTable, UsageCount};
pub use retention::RetentionTable;
pub use routing::RoutingTable;
pub use schemas::{SchemaTable, scope_key};
pub use timers::TimerTable;
pub use ui_sessions::UiSessionTable;
pub use webhooks::WebhookTable;

use futures::future::BoxFuture;

use crate::{Error, Maintenance, MediaBlobs, PrincipalCache, Topic};

/// One transaction (or, for [`Backend::read`], one read connection) over every aggregate.
///
/// Writes are visible to later calls in the same transaction and to everyone once it commits;
/// if a job fails, its writes are rolled back.
pub trait Transaction:
    AccountTable
    + MemberTable
    + AuditTable
    + QuotaTable
    + RetentionTable
    + MeshTable
    + OrgTable
    + DirectoryTable
    + RoutingTable
    + AccessRequestTable
    + PeopleTable
    + IntentTable
    + QueueTable
    + TimerTable
    + DeliveryTable
    + WebhookTable
    + InboxTable
    + IdempotencyTable
    + SchemaTable
    + MediaTable
    + UiSessionTable
    + Send
{
    /// Records that `topic` changed: the backend tells its `CommitListener` (and, for
    /// PostgreSQL, the other replicas) once the transaction commits, and forgets it if the job
    /// fails.
    fn announce(&mut self, topic: Topic);

    /// Records that a key or service account changed: cached principals are dropped once the
    /// transaction commits, on every replica, before any caller of the batch is answered.
    fn principals_changed(&mut self);
}

/// A unit of work the engine hands to a backend: runs in a transaction (or on a read
/// connection) and answers its caller itself.
///
/// A job may be **run more than once**: a backend that batches jobs in one transaction without
/// savepoints rolls the batch back when one job fails and runs it again, without the failed job
/// (PostgreSQL) or with a savepoint per job (SQLite). Only the run whose transaction committed
/// counts; [`Job::reply`] delivers its result.
pub trait Job: Send {
    /// Runs the job's reads and writes in `tx`. Returns whether it succeeded; on failure its
    /// writes must be rolled back (the job keeps its error for [`Job::reply`]).
    fn run<'a>(&'a mut self, tx: &'a mut dyn Transaction) -> BoxFuture<'a, bool>;

    /// The error of the last run, if it failed (a backend reads it to tell a transaction it
    /// should simply run again, e.g. after a deadlock, from the job's own failure).
    fn error(&self) -> Option<&Error>;

    /// Answers the caller: `committed` is `Ok` when the job's last run is final (its
    /// transaction committed, or it failed and its writes were rolled back), or the error that
    /// kept the transaction from committing.
    fn reply(self: Box<Self>, committed: Result<(), Error>);
}

/// A storage backend: runs [`Job`]s in transactions (writes, committed in batches) and on read
/// connections (reads). Object-safe: the engine holds an `Arc<dyn Backend>`.
pub trait Backend: Send + Sync + 'static {
    /// Queues `job` for the next write transaction; it is answered through [`Job::reply`] once
    /// the transaction committed or failed. The returned future resolves when the job is
    /// queued (not when it ran).
    fn write(&self, job: Box<dyn Job>) -> BoxFuture<'_, ()>;

    /// Runs `job` on a read connection (no transaction spanning calls; writes are refused or
    /// autocommitted, so a read job must not write) and answers it through [`Job::reply`].
    fn read(&self, job: Box<dyn Job>) -> BoxFuture<'_, ()>;

    /// The principals cache the backend invalidates after commits that changed keys (see
    /// [`Transaction::principals_changed`]).
    fn principals(&self) -> &PrincipalCache;

    /// Where this backend keeps media bytes (see [`MediaBlobs`]).
    fn media(&self) -> &dyn MediaBlobs;

    /// Its operator maintenance: backups and stats (see [`Maintenance`]).
    fn maintenance(&self) -> &dyn Maintenance;
}
