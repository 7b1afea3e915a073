//! [`PgTx`]: the storage traits on one PostgreSQL connection, one module per aggregate (SQL and
//! row mapping only; the rules are the engine's).
//!
//! **Cursors in commit order.** Agent queue cursors and inbox change cursors are
//! `xid << 20 | n`: the writing transaction's id (`pg_current_xact_id()` plus the database's
//! cursor base, `axp_xid()`: see `cursors.rs`) and the n-th cursor it hands out. No counter row
//! is shared by the writers, so creates for one agent do not queue up behind each other on any
//! replica. Readers that follow a cursor stop at the safe horizon,
//! `pg_snapshot_xmin(pg_current_snapshot()) << 20` (with the same base, `axp_horizon()`): every
//! transaction with a smaller id has ended, so every row below the horizon that will ever exist
//! is already visible, and a reader that has seen cursor N+1 never later finds N (the rule of
//! `QueueTable`). A transaction still running anywhere in the cluster holds the horizon back for
//! as long as it runs; axp's own are a batch long. Cursors from before this scheme are small
//! numbers, below every new one.
//!
//! **Multi-row writes.** New intents, events, queue items and participant touches are buffered
//! in the transaction and written together by one statement (`flush.rs`: a data-modifying CTE
//! per table over `UNNEST`) before anything in it reads or updates those tables, and when it
//! ends: a batch of creates costs a handful of statements, not a handful per create.
//!
//! The audit log's ids are such cursors too, and its reads stop at the same horizon, so a page
//! of the log below a cursor never changes (`audit.rs`).
//!
//! **Cached reads.** An agent's record and an owner's active subscriptions are read once per
//! transaction, and kept on the replica across transactions ([`RowCache`]); a transaction that
//! changed them reads them from the database from then on.

mod access_requests;
mod accounts;
mod audit;
mod deliveries;
mod directory;
mod flush;
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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axp_core::delivery::{Delivery, DeliveryStatus, EventCounters, Subscription, WebhookEvent};
use axp_core::ids::{
    ApiKeyId, ApprovalId, DeliveryId, EventId, IntentId, OrgId, ServiceAccountId, SubscriptionId, WorkspaceId,
};
use axp_core::inbox::{Approval, TimelineEntry};
use axp_core::timer::Timer;
use axp_core::{AgentAddress, Intent, IntentEvent, Status, Timestamp};
// Every storage trait and value type: each module below implements one trait over `PgTx`.
use axp_store::tables::*;
use axp_store::*;
use serde::de::DeserializeOwned;
use sqlx_core::pool::PoolConnection;
use sqlx_core::query::{Query, query};
use sqlx_core::row::Row;
use sqlx_postgres::{PgArguments, PgConnection, PgRow, Postgres};
use uuid::Uuid;

use crate::rowcache::RowCache;

use flush::{EventRow, IntentRow, QueueRow, TouchRow};

/// Bits of a cursor below the transaction id: at most 2^20 cursors per transaction.
const CURSOR_BITS: u32 = 20;

/// How long a read that follows a cursor waits at most for rows held back behind the horizon
/// (see [`PgTx::wait_for_horizon`]). Such a wait lasts about as long as one writer batch; only a
/// transaction that runs for long elsewhere in the cluster makes it reach this.
const HORIZON_WAIT: Duration = Duration::from_secs(2);

/// The storage traits over one pooled connection: a writer lane's (inside its batch
/// transaction) or a reader's (autocommit, reads only).
pub(crate) struct PgTx {
    conn: PoolConnection<Postgres>,
    /// Topics the jobs announced.
    pub(crate) topics: Vec<Topic>,
    /// Set by a job that changed a key or service account.
    pub(crate) principals_changed: bool,
    /// This transaction's id, once a cursor was asked for.
    xid: Option<i64>,
    /// Cursors handed out by this transaction.
    cursors: u64,
    /// Queue items not yet written.
    queue: Vec<QueueRow>,
    /// Participant touches not yet written, one per (workspace, owner, thread).
    touches: HashMap<(WorkspaceId, String, IntentId), TouchRow>,
    /// New intents and events not yet written.
    intents: Vec<IntentRow>,
    events: Vec<EventRow>,
    /// Agents (by address) and active subscriptions (by owner) read in this transaction.
    agents: HashMap<(WorkspaceId, String), Option<ServiceAccountRecord>>,
    subscriptions: HashMap<(WorkspaceId, String), Vec<Subscription>>,
    /// The replica's cache of the same, across transactions.
    rows: Arc<RowCache>,
    /// Set when this transaction changed an agent or a subscription: it reads them from the
    /// database from then on, and the replica's caches are dropped when it commits.
    pub(crate) cached_rows_changed: bool,
}

impl PgTx {
    pub(crate) fn new(conn: PoolConnection<Postgres>, rows: Arc<RowCache>) -> Self {
        Self {
            conn,
            topics: Vec::new(),
            principals_changed: false,
            xid: None,
            cursors: 0,
            queue: Vec::new(),
            touches: HashMap::new(),
            intents: Vec::new(),
            events: Vec::new(),
            agents: HashMap::new(),
            subscriptions: HashMap::new(),
            rows,
            cached_rows_changed: false,
        }
    }

    /// The connection, for the SQL of the table modules.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// Gives the connection back (to close it if the transaction's outcome is unknown).
    pub(crate) fn into_conn(self) -> PoolConnection<Postgres> {
        self.conn
    }

    /// Begins the transaction and learns its id (for cursors) in the same round trip.
    pub(crate) async fn begin(&mut self) -> Result<()> {
        let rows = crate::writer::run_sql(self.conn(), "BEGIN; SELECT axp_xid()").await?;
        let row = rows.first().ok_or_else(|| Error::Internal("BEGIN returned no transaction id".into()))?;
        self.xid = Some(get(row, 0)?);
        Ok(())
    }

    /// The next cursor of this transaction (see the module doc).
    async fn next_cursor(&mut self) -> Result<u64> {
        let xid = match self.xid {
            Some(xid) => xid,
            None => {
                let row = q("SELECT axp_xid()").fetch_one(self.conn()).await.map_err(db)?;
                *self.xid.insert(get(&row, 0)?)
            }
        };
        if self.cursors >= 1 << CURSOR_BITS {
            return Err(Error::Internal("more than 2^20 cursors in one transaction".into()));
        }
        let cursor = ((xid as u64) << CURSOR_BITS) | self.cursors;
        self.cursors += 1;
        Ok(cursor)
    }

    /// A read that follows a cursor (see the module doc). `read` builds the query; each row it
    /// returns carries its cursor in column `cursor` and, in its last column, whether that
    /// cursor is below the safe horizon. Returns the rows up to the first one held back. With
    /// `wait`, when one is held back, waits for the horizon to pass the newest row and reads
    /// once more (a reader inside a write transaction must not wait: it would hold its locks).
    async fn below_horizon<'q>(
        &mut self,
        wait: bool,
        cursor: usize,
        read: impl Fn() -> Query<'q, Postgres, PgArguments>,
    ) -> Result<Vec<PgRow>> {
        let mut rows = read().fetch_all(self.conn()).await.map_err(db)?;
        let settled = |rows: &[PgRow]| {
            rows.iter().take_while(|r| r.try_get::<bool, _>(r.len() - 1).unwrap_or(false)).count()
        };
        let mut ok = settled(&rows);
        if ok < rows.len() && wait {
            self.wait_for_horizon(get(&rows[rows.len() - 1], cursor)?).await?;
            rows = read().fetch_all(self.conn()).await.map_err(db)?;
            ok = settled(&rows);
        }
        rows.truncate(ok);
        Ok(rows)
    }

    /// Waits until the safe horizon has passed `cursor`: until every transaction older than the
    /// one that wrote it has ended, looking again after 1 ms, then 2, 4, up to 16 ms, for at
    /// most [`HORIZON_WAIT`]. A read that found rows held back behind the horizon waits here and
    /// reads again, so a reader sees a commit about a batch's length after it, not only at its
    /// next wake-up.
    async fn wait_for_horizon(&mut self, cursor: i64) -> Result<()> {
        let (mut pause, mut waited) = (Duration::from_millis(1), Duration::ZERO);
        while waited < HORIZON_WAIT {
            let row = q("SELECT $1 < (SELECT axp_horizon())")
                .bind(cursor)
                .fetch_one(self.conn())
                .await
                .map_err(db)?;
            if get::<bool>(&row, 0)? {
                break;
            }
            tokio::time::sleep(pause).await;
            waited += pause;
            pause = (pause * 2).min(Duration::from_millis(16));
        }
        Ok(())
    }
}

impl Transaction for PgTx {
    fn announce(&mut self, topic: Topic) {
        self.topics.push(topic);
    }

    fn principals_changed(&mut self) {
        self.principals_changed = true;
    }
}

/// Prefix of the [`Error::Unavailable`] message of a transaction PostgreSQL aborted to break a
/// deadlock (or a serialization failure): the writer runs the batch again.
pub(crate) const RETRY: &str = "transaction conflict, retrying:";

/// Maps a PostgreSQL error to a store error: unique violations name their constraint as
/// `table.rest` (`service_accounts.agent_address`), deadlocks are retryable, lost connections
/// and an unreachable server are [`Error::Unavailable`].
pub(crate) fn db(e: sqlx_core::Error) -> Error {
    match &e {
        sqlx_core::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                "23505" => {
                    let constraint = d.constraint().unwrap_or("unique").to_owned();
                    let constraint = match d.table() {
                        Some(t) => match constraint.strip_prefix(&format!("{t}_")) {
                            Some(rest) => format!("{t}.{rest}"),
                            None => constraint,
                        },
                        None => constraint,
                    };
                    Error::Conflict { constraint }
                }
                "40P01" | "40001" | "55P03" => Error::Unavailable(format!("{RETRY} {d}")),
                c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") => {
                    Error::Unavailable(d.to_string())
                }
                // data_corrupted, index_corrupted
                "XX001" | "XX002" => Error::Corrupt(d.to_string()),
                _ => Error::Internal(e.to_string()),
            }
        }
        sqlx_core::Error::Io(_)
        | sqlx_core::Error::PoolTimedOut
        | sqlx_core::Error::PoolClosed
        | sqlx_core::Error::WorkerCrashed
        | sqlx_core::Error::Tls(_) => Error::Unavailable(e.to_string()),
        _ => Error::Internal(e.to_string()),
    }
}

/// True for an error after which the whole transaction should simply run again.
pub(crate) fn retryable(e: &Error) -> bool {
    matches!(e, Error::Unavailable(m) if m.starts_with(RETRY))
}

fn q<'q>(sql: &'q str) -> Query<'q, Postgres, PgArguments> {
    query(sql)
}

fn get<'r, T: sqlx_core::decode::Decode<'r, Postgres> + sqlx_core::types::Type<Postgres>>(
    row: &'r PgRow,
    i: usize,
) -> Result<T> {
    row.try_get(i).map_err(db)
}

fn bodies<T: DeserializeOwned>(rows: Vec<PgRow>) -> Result<Vec<T>> {
    rows.iter().map(|r| from_json(&get::<String>(r, 0)?)).collect()
}

fn body<T: DeserializeOwned>(row: Option<PgRow>) -> Result<Option<T>> {
    row.map(|r| from_json(&get::<String>(&r, 0)?)).transpose()
}

/// Takes a transaction-scoped advisory lock on `key` (hashed): concurrent transactions asking
/// for the same key wait for each other's commit. Used where a check-then-insert must not race
/// across replicas (idempotency keys, approvals, bootstrap, subscription upserts).
async fn lock_key(conn: &mut PgConnection, key: &str) -> Result<()> {
    q("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(key).execute(conn).await.map_err(db)?;
    Ok(())
}
