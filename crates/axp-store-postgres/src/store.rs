//! [`PgStore`]: the [`Backend`]: writer lanes for jobs that write, pooled connections for jobs
//! that read; connecting and migrating.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axp_store::{Backend, CommitListener, Error, Job, Maintenance, MediaBlobs, PrincipalCache, Result};
use futures::future::BoxFuture;
use sqlx_core::migrate::{Migration, MigrationType, Migrator};
use sqlx_core::pool::{Pool, PoolOptions};
use sqlx_postgres::{PgConnectOptions, Postgres};
use tokio_util::sync::CancellationToken;

use crate::media::ChunkBlobs;
use crate::notify;
use crate::rowcache::RowCache;
use crate::tables::{PgTx, db};
use crate::writer::Writer;

/// How a [`PgStore`] connects and writes.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Connections this replica opens at most (`AXP_DATABASE_POOL`, default 16): the writer
    /// lanes, the `LISTEN` connection and readers share them. Every replica opens its own pool,
    /// so replicas × this must stay below the server's `max_connections` (100 by default),
    /// with room for migrations and administration.
    pub max_connections: u32,
    /// Transactions this replica writes in parallel (default 1). Each commits a batch of
    /// queued writes; more lanes overlap round trips, fewer make bigger batches.
    pub writer_lanes: usize,
    /// Apply pending migrations when connecting (default true). Safe with several replicas
    /// starting at once: the migrator holds an advisory lock while it runs.
    pub migrate: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self { max_connections: 16, writer_lanes: 1, migrate: true }
    }
}

/// PostgreSQL-backed [`Backend`] for any number of replicas on one database. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool<Postgres>,
    writer: Writer,
    stop: CancellationToken,
    keys: Arc<PrincipalCache>,
    rows: Arc<RowCache>,
    media: ChunkBlobs,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The embedded migrations (`migrations/*.sql`), applied in order and recorded in
/// `_sqlx_migrations`. Never edit an applied one; add the next.
pub(crate) fn migrator() -> Migrator {
    let migration = |version, name, sql| {
        Migration::new(version, Cow::Borrowed(name), MigrationType::Simple, Cow::Borrowed(sql), false)
    };
    let migrations = vec![
        migration(20260801000000, "init", include_str!("../migrations/20260801000000_init.sql")),
        migration(
            20261203000000,
            "commit_order_cursors",
            include_str!("../migrations/20261203000000_commit_order_cursors.sql"),
        ),
        migration(20261204000000, "members", include_str!("../migrations/20261204000000_members.sql")),
        migration(20261204000001, "tenancy", include_str!("../migrations/20261204000001_tenancy.sql")),
        migration(20261204000002, "people", include_str!("../migrations/20261204000002_people.sql")),
        migration(20261204000003, "audit", include_str!("../migrations/20261204000003_audit.sql")),
        migration(20261204000004, "quotas", include_str!("../migrations/20261204000004_quotas.sql")),
        migration(20261205000000, "schemas", include_str!("../migrations/20261205000000_schemas.sql")),
        migration(20261205000001, "media", include_str!("../migrations/20261205000001_media.sql")),
        migration(20261205000002, "mesh", include_str!("../migrations/20261205000002_mesh.sql")),
        migration(20261205000003, "routing", include_str!("../migrations/20261205000003_routing.sql")),
        migration(20261206000000, "retention", include_str!("../migrations/20261206000000_retention.sql")),
        migration(
            20261207000000,
            "ui_sessions",
            include_str!("../migrations/20261207000000_ui_sessions.sql"),
        ),
        migration(
            20261208000000,
            "participants_by_thread",
            include_str!("../migrations/20261208000000_participants_by_thread.sql"),
        ),
        migration(
            20261209000000,
            "event_bodies_compressed",
            include_str!("../migrations/20261209000000_event_bodies_compressed.sql"),
        ),
        migration(
            20261210000000,
            "intent_bodies_compressed",
            include_str!("../migrations/20261210000000_intent_bodies_compressed.sql"),
        ),
        migration(
            20261211000000,
            "cursor_base",
            include_str!("../migrations/20261211000000_cursor_base.sql"),
        ),
        migration(
            20261212000000,
            "write_only_columns",
            include_str!("../migrations/20261212000000_write_only_columns.sql"),
        ),
        migration(
            20261213000000,
            "bodies_v2_dictionaries",
            include_str!("../migrations/20261213000000_bodies_v2_dictionaries.sql"),
        ),
    ];
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

fn connect_options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|e| Error::Unavailable(format!("invalid database URL: {e}")))
}

async fn pool(url: &str, max_connections: u32) -> Result<Pool<Postgres>> {
    PoolOptions::<Postgres>::new()
        .max_connections(max_connections.max(3))
        .min_connections(1)
        // Every statement is one round trip already; no ping before each use.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(connect_options(url)?)
        .await
        .map_err(|e| Error::Unavailable(format!("connecting to PostgreSQL: {e}")))
}

/// Applies the pending migrations of the database at `url`; returns the versions applied by
/// this call. Safe to run while replicas start (an advisory lock serialises migrators).
pub async fn migrate(url: &str) -> Result<Vec<i64>> {
    let pool = pool(url, 2).await?;
    let result = run_migrations(&pool).await;
    pool.close().await;
    result
}

async fn run_migrations(pool: &Pool<Postgres>) -> Result<Vec<i64>> {
    let before = applied_versions(pool).await?;
    refuse_unknown(&before)?;
    migrator().run(pool).await.map_err(|e| Error::Unavailable(format!("migrating: {e}")))?;
    let after = applied_versions(pool).await?;
    Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
}

/// Refuses a database with an applied migration this binary does not know: a newer axp
/// migrated it, and this one would misread its rows. Errors: [`Error::Unavailable`] naming the
/// versions.
fn refuse_unknown(applied: &[i64]) -> Result<()> {
    let known: Vec<i64> = migrator().iter().map(|m| m.version).collect();
    let unknown: Vec<i64> = applied.iter().copied().filter(|v| !known.contains(v)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::Unavailable(format!(
        "the database has migrations {unknown:?} that this axp does not know (it knows up to {}): \
         a newer axp migrated it. Run that version (or newer) on every replica",
        known.last().copied().unwrap_or(0)
    )))
}

async fn applied_versions(pool: &Pool<Postgres>) -> Result<Vec<i64>> {
    let exists: bool = sqlx_core::query_scalar::query_scalar::<Postgres, bool>(
        "SELECT to_regclass('_sqlx_migrations') IS NOT NULL",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx_core::query_scalar::query_scalar::<Postgres, i64>(
        "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .map_err(db)
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`), applies pending
    /// migrations unless `options.migrate` is off (then it checks that none is pending), starts
    /// the writer lanes and the `LISTEN` task. `listener` is told about every commit of this
    /// replica and, through `NOTIFY`, of every other replica.
    ///
    /// Errors: [`Error::Unavailable`] when the database cannot be reached or migrated.
    pub async fn connect(url: &str, options: PgOptions, listener: Arc<dyn CommitListener>) -> Result<Self> {
        let pool = pool(url, options.max_connections).await?;
        if options.migrate {
            let applied = run_migrations(&pool).await?;
            if !applied.is_empty() {
                tracing::info!(?applied, "applied postgres migrations");
            }
        } else {
            let applied = applied_versions(&pool).await?;
            refuse_unknown(&applied)?;
            let missing: Vec<i64> =
                migrator().iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect();
            if !missing.is_empty() {
                return Err(Error::Unavailable(format!(
                    "the database lacks migrations {missing:?}: run `axp migrate`"
                )));
            }
        }
        let raised = crate::cursors::align(&pool).await?;
        if raised > 0 {
            tracing::warn!(
                raised,
                "cursors were ahead of this cluster's transaction ids (a database restored from another \
                 cluster): the cursor base rose past them"
            );
        }
        let stop = CancellationToken::new();
        let (keys, rows) = (Arc::new(PrincipalCache::suspended()), Arc::new(RowCache::suspended()));
        tokio::spawn(notify::listen(
            pool.clone(),
            listener.clone(),
            (keys.clone(), rows.clone()),
            stop.clone(),
        ));
        let lanes = options.writer_lanes.clamp(1, options.max_connections.saturating_sub(2).max(1) as usize);
        let writer = Writer::spawn(pool.clone(), lanes, listener, (keys.clone(), rows.clone()));
        let media = ChunkBlobs::new(pool.clone());
        Ok(Self { inner: Arc::new(Inner { pool, writer, stop, keys, rows, media }) })
    }

    /// The connection pool (maintenance reads).
    pub(crate) fn pool(&self) -> &Pool<Postgres> {
        &self.inner.pool
    }

    /// Closes the pool's connections (the writer and listener stop with the last clone).
    pub async fn close(&self) {
        self.inner.stop.cancel();
        self.inner.pool.close().await;
    }
}

impl Backend for PgStore {
    fn write(&self, job: Box<dyn Job>) -> BoxFuture<'_, ()> {
        Box::pin(self.inner.writer.write(job))
    }

    fn read(&self, mut job: Box<dyn Job>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            match self.inner.pool.acquire().await {
                Ok(conn) => {
                    job.run(&mut PgTx::new(conn, self.inner.rows.clone())).await;
                    job.reply(Ok(()));
                }
                Err(e) => job.reply(Err(db(e))),
            }
        })
    }

    fn principals(&self) -> &PrincipalCache {
        &self.inner.keys
    }

    fn media(&self) -> &dyn MediaBlobs {
        &self.inner.media
    }

    fn maintenance(&self) -> &dyn Maintenance {
        self
    }
}
