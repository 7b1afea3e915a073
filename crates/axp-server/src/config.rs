//! What `axp serve` is told.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axp_engine::{Clock, DispatcherOptions, OutboundPolicy, RetrySchedule, SystemClock};
use axp_store_postgres::PgOptions;

use crate::streams::StreamCaps;

/// Where the server listens and keeps its data.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:7420`; port 0 picks a free port.
    pub listen: String,
    /// Directory for the SQLite database and `admin.key`.
    pub data_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Self { listen: "127.0.0.1:7420".into(), data_dir: PathBuf::from("./axp-data") }
    }
}

/// What a replica runs (`axp serve --role`, `AXP_ROLE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    /// The HTTP API only: no scheduler, no push dispatcher. Needs an `engine` (or `all`)
    /// replica on the same database to fire timers and send pushes.
    Api,
    /// The background work only (timers, leases, deadlines, pushes); serves `/health` and
    /// `/ready` for probes and nothing else.
    Engine,
    /// Both (the default).
    #[default]
    All,
}

impl Role {
    /// Whether this replica serves the API.
    pub fn serves_api(self) -> bool {
        matches!(self, Role::Api | Role::All)
    }

    /// Whether this replica runs the scheduler and the dispatcher.
    pub fn runs_engine(self) -> bool {
        matches!(self, Role::Engine | Role::All)
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "api" => Ok(Role::Api),
            "engine" => Ok(Role::Engine),
            "all" => Ok(Role::All),
            other => Err(format!("unknown role {other:?}: expected api, engine or all")),
        }
    }
}

/// How often multi-node replicas re-read the store without a wake-up (streams, scheduler,
/// dispatcher), in case a cross-replica notification was lost.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How the server's background work behaves.
#[derive(Clone)]
pub struct Options {
    /// The only source of time (tests pass a `ManualClock`).
    pub clock: Arc<dyn Clock>,
    /// Push delivery: retry schedule, concurrency, attempt timeout, outbound policy.
    pub dispatcher: DispatcherOptions,
    /// `postgres://…`: the shared PostgreSQL database of a multi-node deployment. `None`: the
    /// embedded SQLite database in `Config::data_dir` (the default).
    pub database_url: Option<String>,
    /// PostgreSQL pool and writer settings (`AXP_DATABASE_POOL`, migrations at start).
    pub postgres: PgOptions,
    /// What this replica runs.
    pub role: Role,
    /// The admin key a first start creates, instead of a random one (`AXP_BOOTSTRAP_KEY`), so
    /// every replica and deploy script knows it in advance.
    pub bootstrap_key: Option<String>,
    /// Re-read interval for streams, scheduler and dispatcher without a wake-up; `None` relies
    /// on wake-ups alone (SQLite: every commit is this process's). Set to
    /// [`DEFAULT_POLL_INTERVAL`] for PostgreSQL unless given.
    pub poll_interval: Option<Duration>,
    /// Caps on open SSE streams and long-poll claims (`AXP_MAX_STREAMS_PER_KEY`,
    /// `AXP_MAX_STREAMS_PER_WORKSPACE`).
    pub streams: StreamCaps,
}

impl Options {
    /// The system clock and dispatcher settings from the environment:
    ///
    /// - `AXP_OUTBOUND_ALLOW`: comma-separated CIDRs outbound calls may reach even though they
    ///   are loopback/private/… (default none), e.g. `127.0.0.0/8` for local development;
    /// - `AXP_PUSH_RETRY_SCHEDULE`: delays before each push attempt (default `0s,30s,120s,600s`);
    /// - `AXP_PUSH_CONCURRENCY`: push attempts in flight (default 16);
    /// - `AXP_PUSH_TIMEOUT_SECONDS`: time limit of one attempt (default 15);
    /// - `AXP_BOOTSTRAP_KEY`: the admin key of a first start (default: a random one);
    /// - `AXP_DATABASE_POOL`: PostgreSQL connections per replica (default 16);
    /// - `AXP_DATABASE_WRITER_LANES`: PostgreSQL write transactions in flight per replica
    ///   (default 1);
    /// - `AXP_ROLE`: `api`, `engine` or `all` (default);
    /// - `AXP_MAX_STREAMS_PER_KEY`: SSE streams and waiting claims open at once per API key or
    ///   actor token (default 1,000; `0`: no cap);
    /// - `AXP_MAX_STREAMS_PER_WORKSPACE`: the same per workspace (default 10,000; `0`: no cap).
    ///
    /// The database URL is not read here: `axp serve` takes it from `--database-url`,
    /// `AXP_DATABASE_URL` or `DATABASE_URL`.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut dispatcher = DispatcherOptions::default();
        if let Some(allow) = var("AXP_OUTBOUND_ALLOW") {
            dispatcher.policy = OutboundPolicy::parse(&allow).map_err(anyhow::Error::msg)?;
        }
        if let Some(schedule) = var("AXP_PUSH_RETRY_SCHEDULE") {
            dispatcher.schedule = RetrySchedule::parse(&schedule).map_err(anyhow::Error::msg)?;
        }
        if let Some(n) = var("AXP_PUSH_CONCURRENCY") {
            dispatcher.concurrency = n.parse().context("AXP_PUSH_CONCURRENCY must be a number")?;
        }
        if let Some(n) = var("AXP_PUSH_TIMEOUT_SECONDS") {
            dispatcher.attempt_timeout =
                Duration::from_secs(n.parse().context("AXP_PUSH_TIMEOUT_SECONDS must be a number")?);
        }
        let mut postgres = PgOptions::default();
        if let Some(n) = var("AXP_DATABASE_POOL") {
            postgres.max_connections = n.parse().context("AXP_DATABASE_POOL must be a number")?;
        }
        if let Some(n) = var("AXP_DATABASE_WRITER_LANES") {
            postgres.writer_lanes = n.parse().context("AXP_DATABASE_WRITER_LANES must be a number")?;
        }
        let role = match var("AXP_ROLE") {
            Some(r) => r.parse().map_err(anyhow::Error::msg)?,
            None => Role::All,
        };
        let mut streams = StreamCaps::default();
        if let Some(n) = var("AXP_MAX_STREAMS_PER_KEY") {
            streams.per_key = n.trim().parse().context("AXP_MAX_STREAMS_PER_KEY must be a number")?;
        }
        if let Some(n) = var("AXP_MAX_STREAMS_PER_WORKSPACE") {
            streams.per_workspace =
                n.trim().parse().context("AXP_MAX_STREAMS_PER_WORKSPACE must be a number")?;
        }
        Ok(Self {
            clock: Arc::new(SystemClock),
            dispatcher,
            database_url: None,
            postgres,
            role,
            bootstrap_key: var("AXP_BOOTSTRAP_KEY").map(|k| k.trim().to_owned()),
            poll_interval: None,
            streams,
        })
    }
}
