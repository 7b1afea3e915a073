//! The axp HTTP server: the AXP Intent Protocol's REST API and SSE streams.
//!
//! Handlers parse and authorize, [`axp_core`] decides, the [`axp_store::Store`] persists. No SQL
//! lives here, and every response that is not a 2xx carries the one error envelope of contract
//! §1.4.
//!
//! # Layout
//!
//! - [`Server`]: binds the listener, opens the store, bootstraps the first admin key, serves
//!   until shut down.
//! - `config`: what `axp serve` is told; `settings`: every setting in one table, read from the
//!   config file and the environment.
//! - `state`: [`AppState`], shared by every handler.
//! - `error`: `ApiError` → HTTP status + envelope.
//! - `extract`: the authenticated caller, JSON object bodies, query maps, idempotency keys.
//! - `access`: the checks a caller is held to; `audit`: the request's trace id and the
//!   `Audit` a handler passes with an admin or security action.
//! - `api/<family>.rs`: one file per resource family, each with its `router()`.
//! - `sse`: SSE framing (contract §4.5) and the stream loop shared by intent and agent streams.
//! - `streams`: the caps on open SSE streams and long-poll claims per key and per workspace.
//! - `bootstrap`: first-start admin account and `admin.key`.
//! - `backup`: the backup archive of a SQLite data dir, written for `POST /v1/admin/backup`
//!   and restored into a new data dir by [`restore`].
//! - `data_dir`: the data directory's lock (one SQLite server per directory), private file
//!   modes, and the clean-stop marker that decides the integrity check at start.
//! - `telemetry`: request and trace ids, W3C `traceparent`, the access log.
//! - `ui`: the web dashboard under `/ui` (`docs/dashboard.md`).
//! - `listener`: the accept loop: timeouts, the connection cap, graceful shutdown with a
//!   deadline, TLS, the client's address behind trusted proxies.
//! - `metrics`: `GET /metrics` (Prometheus), its access, and the series this crate records.
//! - `openapi`: `GET /openapi.json`, the OpenAPI 3.1 document generated from the handlers.

mod access;
mod admission;
mod api;
mod audit;
mod backup;
mod bootstrap;
mod config;
mod data_dir;
mod error;
mod extract;
mod listener;
mod metrics;
mod openapi;
mod settings;
mod sse;
mod state;
mod streams;
mod telemetry;
mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axp_engine::{Clock, Dispatcher, Ledger, Notifier, Presence, Pruner, Scheduler, SchemaCache};
use axp_store::{Backend, CommitListener, Store};
use axp_store_postgres::PgStore;
use axp_store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use api::app;
pub use backup::{Manifest, restore, verify_archive};
pub use bootstrap::Bootstrapped;
pub use config::{Config, DEFAULT_POLL_INTERVAL, Options, Role, TlsFiles, TransportOptions, flag};
pub use listener::{ClientAddr, TrustedProxies, raise_fd_limit};
pub use metrics::{MetricsAccess, MetricsOptions};
pub use settings::{DEFAULT_FILE, SETTINGS, Setting, Settings, Source};

pub use state::{AppState, Shared};
pub use streams::{RETRY_AFTER_SECONDS, StreamCaps};

/// Applies the pending migrations of the PostgreSQL database at `url` (what `axp migrate`
/// runs); returns the versions applied. Safe while replicas start or run.
pub async fn migrate_database(url: &str) -> anyhow::Result<Vec<i64>> {
    anyhow::ensure!(axp_store_postgres::is_postgres_url(url), "the database URL must start with postgres://");
    axp_store_postgres::migrate(url).await.context("migrating the PostgreSQL database")
}

/// Migrates the SQLite database of the data dir `dir` (what `axp migrate --data-dir` runs)
/// while holding the data dir's lock, after the integrity check an unclean stop calls for;
/// returns its schema versions before and after. Errors: no database there, a server is using
/// the dir, the database is damaged or from a newer axp, a migration failed (then nothing
/// changed: the pending migrations run in one transaction).
pub fn migrate_data_dir(dir: &std::path::Path) -> anyhow::Result<(i64, i64)> {
    let db = dir.join(data_dir::DB_FILE);
    anyhow::ensure!(
        std::fs::metadata(&db).is_ok_and(|m| m.len() > 0),
        "{} holds no database to migrate",
        dir.display()
    );
    let data = data_dir::DataDir::open(dir, true)?;
    data.check_after_unclean_stop()?;
    let versions =
        axp_store_sqlite::migrate_file(&db).with_context(|| format!("migrating {}", db.display()))?;
    // A clean stop before stays one: `axp serve` need not check the file again.
    data.close_if_clean();
    Ok(versions)
}

/// A bound, ready-to-run server.
pub struct Server {
    listener: TcpListener,
    transport: listener::Transport,
    state: AppState,
    bootstrapped: Option<Bootstrapped>,
    data_dir: data_dir::DataDir,
}

impl Server {
    /// Opens the store in `config.data_dir`, runs first-start bootstrap, and binds
    /// `config.listen` (port 0 picks a free port). Options come from the environment
    /// ([`Options::from_env`]).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, Options::from_env()?).await
    }

    /// As [`Server::build`], with time read from `clock` (tests pass a `ManualClock`).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Self::build_with(config, Options { clock, ..Options::from_env()? }).await
    }

    /// As [`Server::build`], with explicit options.
    ///
    /// With `options.database_url` set to `postgres://…`, the store is that PostgreSQL
    /// database, shared with any other replica on it (migrated at start unless
    /// `options.postgres.migrate` is off); `data_dir` then only holds `admin.key`.
    pub async fn build_with(config: Config, options: Options) -> anyhow::Result<Self> {
        let mut options = options;
        let clock = options.clock.clone();
        let postgres = options.database_url.as_deref().is_some_and(axp_store_postgres::is_postgres_url);
        let data_dir = data_dir::DataDir::open(&config.data_dir, !postgres)?;
        let notifier = Notifier::new();
        let (reads, presence) = (sse::SharedReads::default(), Presence::default());
        // A PostgreSQL replica caches schemas only while it hears the others' changes.
        let schemas = Arc::new(SchemaCache::new(postgres));
        let listener: Arc<dyn CommitListener> = Arc::new(sse::Wakeups {
            reads: reads.clone(),
            notifier: notifier.clone(),
            schemas: schemas.clone(),
        });
        let backend: Arc<dyn Backend> = match options.database_url.as_deref() {
            Some(url) if axp_store_postgres::is_postgres_url(url) => {
                options.poll_interval = options.poll_interval.or(Some(DEFAULT_POLL_INTERVAL));
                Arc::new(
                    PgStore::connect(url, options.postgres.clone(), listener)
                        .await
                        .context("opening the PostgreSQL database")?,
                )
            }
            Some(_) => anyhow::bail!(
                "unsupported database URL: give postgres://… (or nothing, for SQLite in the data dir)"
            ),
            None => {
                data_dir.check_after_unclean_stop()?;
                let db = config.data_dir.join(data_dir::DB_FILE);
                Arc::new(
                    SqliteStore::open(&db, listener).with_context(|| format!("opening {}", db.display()))?,
                )
            }
        };
        // The write rules run in the engine over the backend; a new intent for an agent with
        // a stream open here is handed over in its create transaction (long-poll claims are not
        // counted in `presence`, so a claim always finds a new intent unhanded).
        let labels = options.metrics.intent_types.clone();
        let store: Arc<dyn Store> =
            Arc::new(Ledger::new(backend, presence.clone()).with_intent_type_labels(labels));
        let bootstrapped =
            bootstrap::run(store.as_ref(), &config.data_dir, clock.now(), options.bootstrap_key.as_deref())
                .await?;
        let others = options.postgres.max_connections as usize + options.dispatcher.concurrency;
        let transport = listener::Transport::new(&options.transport, others)?;
        let listener =
            TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let slots = streams::StreamSlots::new(options.streams);
        let state = AppState::new(Shared {
            meter: Arc::new(axp_engine::UsageMeter::new(store.clone())),
            store,
            notifier,
            clock,
            shutdown: CancellationToken::new(),
            config: Arc::new(config),
            options: Arc::new(options),
            presence,
            reads,
            streams: slots,
            schemas,
        });

        Ok(Self { listener, transport, state, bootstrapped, data_dir })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound TCP listener has a local address")
    }

    /// `http://<address>`, or `https://…` when serving TLS.
    pub fn url(&self) -> String {
        format!("{}://{}", self.transport.scheme(), self.local_addr())
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The admin principal and key, when this start created them (first start on an empty store).
    pub fn bootstrapped(&self) -> Option<&Bootstrapped> {
        self.bootstrapped.as_ref()
    }

    /// The shared state (store, notifier, clock), for in-process tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, ends open SSE streams, and waits
    /// for in-flight requests (and so their writes) to finish, for at most the shutdown grace
    /// (`AXP_SHUTDOWN_GRACE_SECONDS`); connections still open then are dropped.
    ///
    /// The role in `Options::role` decides what runs: the API, the background work (scheduler,
    /// push dispatcher and pruner; then only `/health`, `/ready` and `/metrics` are served), or both.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let token = self.state.shutdown.clone();
        metrics::start(&self.state, &token);
        let (role, poll) = (self.state.options.role, self.state.options.poll_interval);
        let mut engine = Vec::new();
        if role.runs_engine() {
            let scheduler = Scheduler::new(
                self.state.store.clone(),
                self.state.clock.clone(),
                self.state.notifier.clone(),
            )
            .with_fallback_poll(poll);
            engine.push(("scheduler", tokio::spawn(scheduler.run(token.clone()))));
            let dispatcher = Dispatcher::new(
                self.state.store.clone(),
                self.state.clock.clone(),
                self.state.notifier.clone(),
                self.state.options.dispatcher.clone(),
                self.state.meter.clone(),
            )
            .with_fallback_poll(poll);
            engine.push(("dispatcher", tokio::spawn(dispatcher.run(token.clone()))));
            let pruner = Pruner::new(
                self.state.store.clone(),
                self.state.clock.clone(),
                self.state.options.retention.clone(),
            );
            engine.push(("pruner", tokio::spawn(pruner.run(token.clone()))));
        }
        let (meter, clock, every) =
            (self.state.meter.clone(), self.state.clock.clone(), self.state.options.admission.usage_flush);
        tokio::spawn(meter.clone().run(every, clock.clone(), token.clone()));
        let app = if role.serves_api() { api::app(self.state) } else { probes(self.state) };
        let stop = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            token.cancel();
        });
        self.transport.serve(self.listener, app, stop).await;
        let mut ended = Ok(());
        for (name, task) in engine {
            ended = ended.and(task.await.with_context(|| format!("the {name} task failed")));
        }
        // After the dispatcher's last attempts, so they are counted too.
        meter.flush(clock.now()).await.context("writing the usage counts at shutdown")?;
        ended?;
        self.data_dir.close().await;
        Ok(())
    }
}

/// What an engine-only replica serves: `/health`, `/ready` (as the API's: 200 once the
/// store answers, 503 while it is faulted) and `/metrics` (its pushes and timers are counted
/// there).
fn probes(state: AppState) -> axum::Router {
    use axum::routing::get;
    use serde_json::json;

    async fn health() -> axum::Json<serde_json::Value> {
        axum::Json(json!({"ok": true, "service": "axp", "role": "engine"}))
    }
    axum::Router::new()
        .route("/health", get(health))
        .route("/ready", get(api::health::ready))
        .merge(metrics::router())
        .with_state(state)
}
