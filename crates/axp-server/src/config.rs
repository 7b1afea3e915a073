//! What `axp serve` is told.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axp_core::retention::{MAX_DAYS, RetentionDefaults};
use axp_engine::retention::ArchiveDir;
use axp_engine::{Clock, DispatcherOptions, OutboundPolicy, RetentionOptions, RetrySchedule, SystemClock};
use axp_store_postgres::PgOptions;

use crate::listener::TrustedProxies;
use crate::settings::Settings;
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
    /// The HTTP API only: no scheduler, no push dispatcher, no pruner. Needs an `engine` (or
    /// `all`) replica on the same database to fire timers, send pushes and apply retention.
    Api,
    /// The background work only (timers, leases, deadlines, pushes, retention); serves `/health` and
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

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Api => "api",
            Role::Engine => "engine",
            Role::All => "all",
        })
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
    /// Connection timeouts, the connection cap, the shutdown grace, trusted proxies and TLS.
    pub transport: TransportOptions,
    /// Per-key rate limit and per-workspace admission ([`AdmissionOptions::from_env`]).
    pub admission: AdmissionOptions,
    /// Caps on open SSE streams and long-poll claims (`AXP_MAX_STREAMS_PER_KEY`,
    /// `AXP_MAX_STREAMS_PER_WORKSPACE`).
    pub streams: StreamCaps,
    /// Retention periods, the pruner's pace and the archive ([`retention_from_env`]).
    pub retention: RetentionOptions,
    /// One `info` log line per request (`AXP_ACCESS_LOG`, default true): method, route
    /// template, status, latency, trace id and key id (`crate::telemetry`).
    pub access_log: bool,
    /// `/metrics`: its access, the `intent_type` allow-list, the refresh ([`MetricsOptions::from_env`]).
    pub metrics: crate::metrics::MetricsOptions,
}

impl Options {
    /// [`Options::from_settings`] of the environment alone (no config file), as embedded servers
    /// in tests and tools read it.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_settings(&Settings::from_env()?)
    }

    /// The system clock and the settings (`crate::settings`: `axp.toml` < environment), by
    /// their environment names:
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
    /// - the connection settings of [`TransportOptions::from_env`].
    /// - `AXP_MAX_STREAMS_PER_KEY`: SSE streams and waiting claims open at once per API key or
    ///   actor token (default 1,000; `0`: no cap);
    /// - `AXP_MAX_STREAMS_PER_WORKSPACE`: the same per workspace (default 10,000; `0`: no cap);
    /// - the retention settings of [`retention_from_env`].
    ///
    /// - `AXP_ACCESS_LOG`: `true` (default) or `false`;
    /// - the `/metrics` settings of [`crate::MetricsOptions::from_env`] (`AXP_METRICS_*`).
    ///
    /// The database URL is not read here: `axp serve` takes it from `--database-url`,
    /// `AXP_DATABASE_URL` or `DATABASE_URL`.
    ///
    /// Errors: a value that does not parse, naming its variable.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let var = |name: &str| settings.var(name);
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
            transport: TransportOptions::from_env(&var)?,
            admission: AdmissionOptions::from_env(&var)?,
            streams,
            retention: retention_from_env(&var)?,
            access_log: flag(&var, "AXP_ACCESS_LOG")?.unwrap_or(true),
            metrics: crate::metrics::MetricsOptions::from_env(&var)?,
        })
    }
}

/// Retention from the environment (`docs/retention.md`), each period in whole days from 1 to
/// [`MAX_DAYS`]:
///
/// - `AXP_RETENTION_DAYS`: finished intents (default 30);
/// - `AXP_DEAD_LETTER_RETENTION_DAYS`: dead letters (default 30);
/// - `AXP_WEBHOOK_EVENT_RETENTION_DAYS`: webhook events (default 30);
/// - `AXP_AUDIT_RETENTION_DAYS`: the audit log (default 365);
/// - `AXP_RETENTION_INTERVAL_SECONDS`: time between pruner passes (default 60, at least 1);
/// - `AXP_RETENTION_BATCH`: rows per pruner transaction (default 256, 1 to 10,000);
/// - `AXP_ARCHIVE_DIR`: archive finished intents there before removing them (default: no
///   archive).
///
/// Errors: a value out of range names its variable.
pub fn retention_from_env(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<RetentionOptions> {
    let mut options = RetentionOptions::default();
    let number = |name: &str, range: std::ops::RangeInclusive<u32>| -> anyhow::Result<Option<u32>> {
        let Some(v) = var(name) else { return Ok(None) };
        match v.trim().parse::<u32>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => anyhow::bail!("{name} must be a whole number from {} to {}", range.start(), range.end()),
        }
    };
    let days = options.defaults;
    options.defaults = RetentionDefaults {
        intent_days: number("AXP_RETENTION_DAYS", 1..=MAX_DAYS)?.unwrap_or(days.intent_days),
        dead_letter_days: number("AXP_DEAD_LETTER_RETENTION_DAYS", 1..=MAX_DAYS)?
            .unwrap_or(days.dead_letter_days),
        webhook_event_days: number("AXP_WEBHOOK_EVENT_RETENTION_DAYS", 1..=MAX_DAYS)?
            .unwrap_or(days.webhook_event_days),
        audit_days: number("AXP_AUDIT_RETENTION_DAYS", 1..=MAX_DAYS)?.unwrap_or(days.audit_days),
    };
    if let Some(n) = number("AXP_RETENTION_INTERVAL_SECONDS", 1..=u32::MAX)? {
        options.every = Duration::from_secs(u64::from(n));
    }
    if let Some(n) = number("AXP_RETENTION_BATCH", 1..=10_000)? {
        options.batch = n;
    }
    if let Some(dir) = var("AXP_ARCHIVE_DIR") {
        let dir = PathBuf::from(dir.trim());
        options.archive = Some(
            ArchiveDir::open(&dir).with_context(|| format!("AXP_ARCHIVE_DIR: creating {}", dir.display()))?,
        );
    }
    Ok(options)
}

/// A yes/no setting: `true`/`false`, `1`/`0`, `on`/`off`, `yes`/`no` (any case).
///
/// Errors: anything else, naming the variable.
pub fn flag(var: &dyn Fn(&str) -> Option<String>, name: &str) -> anyhow::Result<Option<bool>> {
    let Some(v) = var(name) else { return Ok(None) };
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(Some(true)),
        "false" | "0" | "off" | "no" => Ok(Some(false)),
        _ => anyhow::bail!("{name} must be true or false, not {v:?}"),
    }
}

/// What every API request passes before its handler (README "Rate limits and quotas").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmissionOptions {
    /// Requests per second each credential (API key or actor token) may make; 0 turns the
    /// per-key limit off (`AXP_RATE_LIMIT_PER_KEY`, default 1000).
    pub rate_per_key: u32,
    /// Requests a credential may make at once after being idle (`AXP_RATE_LIMIT_BURST`,
    /// default twice the rate).
    pub burst: u32,
    /// Requests of one workspace handled at once on this replica
    /// (`AXP_WORKSPACE_MAX_INFLIGHT`, default 32); 0 turns the cap off.
    pub workspace_max_inflight: usize,
    /// Requests of one workspace waiting, first come first served, for an in-flight slot
    /// (`AXP_WORKSPACE_MAX_QUEUED`, default 1024); one more is refused at once (429).
    pub workspace_max_queued: usize,
    /// How long a request waits for a slot before 429 (`AXP_WORKSPACE_QUEUE_TIMEOUT_SECONDS`,
    /// default 10 s).
    pub queue_timeout: Duration,
    /// How often the usage meter writes its counts (`AXP_USAGE_FLUSH_SECONDS`, default 5 s).
    pub usage_flush: Duration,
}

impl Default for AdmissionOptions {
    fn default() -> Self {
        Self {
            rate_per_key: 1000,
            burst: 2000,
            workspace_max_inflight: 32,
            workspace_max_queued: 1024,
            queue_timeout: Duration::from_secs(10),
            usage_flush: Duration::from_secs(5),
        }
    }
}

impl AdmissionOptions {
    /// The defaults, overridden by `AXP_RATE_LIMIT_PER_KEY`, `AXP_RATE_LIMIT_BURST`,
    /// `AXP_WORKSPACE_MAX_INFLIGHT`, `AXP_WORKSPACE_MAX_QUEUED`,
    /// `AXP_WORKSPACE_QUEUE_TIMEOUT_SECONDS` and `AXP_USAGE_FLUSH_SECONDS` as read by `var`.
    /// Errors: a value that is not a whole number.
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let num = |name: &str| -> anyhow::Result<Option<u64>> {
            match var(name) {
                Some(v) => {
                    v.trim().parse().map(Some).map_err(|_| anyhow::anyhow!("{name} must be a whole number"))
                }
                None => Ok(None),
            }
        };
        let count = |name: &str| -> anyhow::Result<Option<usize>> {
            num(name)?
                .map(|n| usize::try_from(n).map_err(|_| anyhow::anyhow!("{name} is too large")))
                .transpose()
        };
        let d = Self::default();
        let rate = |name: &str| -> anyhow::Result<Option<u32>> {
            num(name)?
                .map(|n| u32::try_from(n).map_err(|_| anyhow::anyhow!("{name} is too large")))
                .transpose()
        };
        let rate_per_key = rate("AXP_RATE_LIMIT_PER_KEY")?.unwrap_or(d.rate_per_key);
        Ok(Self {
            rate_per_key,
            burst: rate("AXP_RATE_LIMIT_BURST")?.unwrap_or_else(|| rate_per_key.saturating_mul(2)),
            workspace_max_inflight: count("AXP_WORKSPACE_MAX_INFLIGHT")?.unwrap_or(d.workspace_max_inflight),
            workspace_max_queued: count("AXP_WORKSPACE_MAX_QUEUED")?.unwrap_or(d.workspace_max_queued),
            queue_timeout: num("AXP_WORKSPACE_QUEUE_TIMEOUT_SECONDS")?
                .map(Duration::from_secs)
                .unwrap_or(d.queue_timeout),
            usage_flush: num("AXP_USAGE_FLUSH_SECONDS")?
                .filter(|s| *s > 0)
                .map(Duration::from_secs)
                .unwrap_or(d.usage_flush),
        })
    }
}

// ---- Connections, timeouts and TLS (issue 12: "Timeouts", "concurrent connections per
// listener", "Graceful shutdown with a deadline", "TLS and proxies") ----

/// How the listener treats connections (issue 12). Every timeout is a whole number of seconds.
#[derive(Clone, Debug)]
pub struct TransportOptions {
    /// From a connection's first byte of a request (or from accept) to the end of its headers;
    /// past it the connection is closed without an answer (`AXP_HEADER_READ_TIMEOUT_SECONDS`,
    /// default 10).
    pub header_read_timeout: Duration,
    /// From a request's headers to the end of its body; past it the request gets 408 with the
    /// envelope (code `bad_request`) and the connection is closed (`AXP_BODY_READ_TIMEOUT_SECONDS`,
    /// default 15).
    pub body_read_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this
    /// (`AXP_IDLE_TIMEOUT_SECONDS`, default 20).
    pub idle_timeout: Duration,
    /// Open connections per listener; one more is answered 429 `rate_limit_exceeded` with
    /// `Retry-After: 1` and closed (`AXP_MAX_CONNECTIONS`). `None` (the default): the soft
    /// `RLIMIT_NOFILE` less 128, the PostgreSQL pool and the push concurrency, at least 16.
    pub max_connections: Option<usize>,
    /// On shutdown, how long open connections get to finish before they are dropped
    /// (`AXP_SHUTDOWN_GRACE_SECONDS`, default 10).
    pub shutdown_grace: Duration,
    /// Peers whose `X-Forwarded-For` is believed (`AXP_TRUSTED_PROXIES`, comma-separated CIDRs
    /// or addresses; default none).
    pub trusted_proxies: TrustedProxies,
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP (`AXP_TLS_CERT` and
    /// `AXP_TLS_KEY`, or `axp serve --tls-cert/--tls-key`; both or neither).
    pub tls: Option<TlsFiles>,
    /// The largest media upload in bytes (`AXP_MEDIA_MAX_BYTES`, default 100 MiB, contract §6
    /// "Media"). A byte upload's body read deadline grows with its size (see
    /// `listener::body::upload_deadline`), so it lives here beside the deadline.
    pub media_max_bytes: u64,
}

/// The PEM files of a TLS listener.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(20),
            max_connections: None,
            shutdown_grace: Duration::from_secs(10),
            trusted_proxies: TrustedProxies::default(),
            tls: None,
            media_max_bytes: axp_core::media::DEFAULT_MAX_BYTES,
        }
    }
}

impl TransportOptions {
    /// The defaults above, overridden by `AXP_HEADER_READ_TIMEOUT_SECONDS`,
    /// `AXP_BODY_READ_TIMEOUT_SECONDS`, `AXP_IDLE_TIMEOUT_SECONDS`, `AXP_MAX_CONNECTIONS`,
    /// `AXP_SHUTDOWN_GRACE_SECONDS`, `AXP_TRUSTED_PROXIES`, `AXP_TLS_CERT`, `AXP_TLS_KEY` and
    /// `AXP_MEDIA_MAX_BYTES` (at most 2 GiB) as read by `var`. Errors name the variable: a count or timeout that is not a whole
    /// number of at least 1, a bad CIDR, or only one of the two TLS files.
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut options = Self::default();
        let positive = |name: &str| -> anyhow::Result<Option<u64>> {
            let Some(v) = var(name) else { return Ok(None) };
            match v.trim().parse::<u64>() {
                Ok(n) if n >= 1 => Ok(Some(n)),
                _ => anyhow::bail!("{name} must be a whole number of at least 1, not {v:?}"),
            }
        };
        let seconds = |name: &str, into: &mut Duration| -> anyhow::Result<()> {
            if let Some(n) = positive(name)? {
                *into = Duration::from_secs(n);
            }
            Ok(())
        };
        seconds("AXP_HEADER_READ_TIMEOUT_SECONDS", &mut options.header_read_timeout)?;
        seconds("AXP_BODY_READ_TIMEOUT_SECONDS", &mut options.body_read_timeout)?;
        seconds("AXP_IDLE_TIMEOUT_SECONDS", &mut options.idle_timeout)?;
        seconds("AXP_SHUTDOWN_GRACE_SECONDS", &mut options.shutdown_grace)?;
        if let Some(n) = positive("AXP_MEDIA_MAX_BYTES")? {
            anyhow::ensure!(
                n <= axp_core::media::SCHEMA_MAX_BYTES,
                "AXP_MEDIA_MAX_BYTES must be at most {}",
                axp_core::media::SCHEMA_MAX_BYTES
            );
            options.media_max_bytes = n;
        }
        options.max_connections =
            positive("AXP_MAX_CONNECTIONS")?.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        if let Some(list) = var("AXP_TRUSTED_PROXIES") {
            options.trusted_proxies =
                TrustedProxies::parse(&list).map_err(|e| anyhow::anyhow!("AXP_TRUSTED_PROXIES: {e}"))?;
        }
        options.tls =
            TlsFiles::pair(var("AXP_TLS_CERT").map(PathBuf::from), var("AXP_TLS_KEY").map(PathBuf::from))
                .context("AXP_TLS_CERT and AXP_TLS_KEY")?;
        Ok(options)
    }
}

impl TlsFiles {
    /// Both files, neither, or an error naming the missing one.
    pub fn pair(cert: Option<PathBuf>, key: Option<PathBuf>) -> anyhow::Result<Option<Self>> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(Self { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) => anyhow::bail!("a TLS certificate was given without its private key"),
            (None, Some(_)) => anyhow::bail!("a TLS private key was given without its certificate"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> anyhow::Result<TransportOptions> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        TransportOptions::from_env(&|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn transport_defaults_and_overrides() {
        let d = from(&[]).unwrap();
        assert_eq!(d.header_read_timeout, Duration::from_secs(10));
        assert_eq!(d.body_read_timeout, Duration::from_secs(15));
        assert_eq!(d.idle_timeout, Duration::from_secs(20));
        assert_eq!(d.shutdown_grace, Duration::from_secs(10));
        assert!(d.max_connections.is_none() && d.tls.is_none());
        let o = from(&[("AXP_HEADER_READ_TIMEOUT_SECONDS", "2"), ("AXP_MAX_CONNECTIONS", "64")]).unwrap();
        assert_eq!(o.header_read_timeout, Duration::from_secs(2));
        assert_eq!(o.max_connections, Some(64));
    }

    #[test]
    fn transport_refuses_bad_values() {
        for (name, value) in [
            ("AXP_IDLE_TIMEOUT_SECONDS", "0"),
            ("AXP_BODY_READ_TIMEOUT_SECONDS", "1.5"),
            ("AXP_MAX_CONNECTIONS", "-1"),
            ("AXP_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("AXP_TLS_CERT", "/tmp/cert.pem"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert!(format!("{err:#}").contains(name.split('_').nth(1).unwrap()), "{name}: {err:#}");
        }
    }
}
