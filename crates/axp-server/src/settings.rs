//! Every setting of `axp serve` in one place (`docs/configuration.md` is checked against
//! [`SETTINGS`]), and where each value comes from: the config file `axp.toml` < the
//! environment (`AXP_<KEY>`) < the command line's flags.
//!
//! The file and the environment are merged with figment; a key of the file is the setting's
//! environment variable without `AXP_`, in lower case (`retention_days = 7` is
//! `AXP_RETENTION_DAYS=7`). The typed parsing and range checks of each value stay with the
//! option it sets (`crate::config`), which reads the merged values through [`Settings::var`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use figment::value::Value;

/// One setting: its key in `axp.toml`, its default as shown by `axp config show`, whether it
/// is a secret, and what it does.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The key in `axp.toml`; the environment variable is `AXP_` + the key in upper case.
    pub key: &'static str,
    /// The default, as text (`""`: none).
    pub default: &'static str,
    /// Shown as `<redacted>` (a URL's password only) by `axp config show`.
    pub secret: bool,
    /// One line on what it does, with its unit.
    pub doc: &'static str,
}

const fn s(key: &'static str, default: &'static str, doc: &'static str) -> Setting {
    Setting { key, default, secret: false, doc }
}

const fn secret(key: &'static str, doc: &'static str) -> Setting {
    Setting { key, default: "", secret: true, doc }
}

/// Every setting `axp serve` reads, in the order `axp config show` and the docs list them.
pub const SETTINGS: &[Setting] = &[
    // Where it listens and what it stores.
    s("listen", "127.0.0.1:7420", "address to listen on; port 0 picks a free port (--listen)"),
    s("data_dir", "./axp-data", "directory of the SQLite database and admin.key (--data-dir)"),
    secret(
        "database_url",
        "postgres://… of a PostgreSQL database shared by every replica, instead of SQLite (--database-url; DATABASE_URL is read too)",
    ),
    s("role", "all", "what this replica runs: api, engine or all (--role)"),
    s(
        "no_migrate",
        "false",
        "refuse to start while PostgreSQL migrations are pending instead of applying them (--no-migrate)",
    ),
    secret("bootstrap_key", "the admin API key a first start creates, instead of a random one"),
    s("database_pool", "16", "PostgreSQL connections per replica"),
    s("database_writer_lanes", "1", "PostgreSQL write transactions in flight per replica"),
    // Connections.
    s("tls_cert", "", "PEM certificate chain: serve HTTPS, with tls_key (--tls-cert)"),
    s("tls_key", "", "PEM private key of tls_cert (--tls-key)"),
    s(
        "header_read_timeout_seconds",
        "10",
        "seconds to read a request's headers before the connection is closed",
    ),
    s("body_read_timeout_seconds", "15", "seconds to read a request's body before 408"),
    s("idle_timeout_seconds", "20", "seconds an idle keep-alive connection stays open"),
    s("max_connections", "", "open connections per listener (default: the open-file limit less a reserve)"),
    s("shutdown_grace_seconds", "10", "seconds open connections get to finish on shutdown"),
    s("trusted_proxies", "", "comma-separated CIDRs whose X-Forwarded-For names the client"),
    s("media_max_bytes", "104857600", "largest media upload, in bytes (at most 2 GiB)"),
    // Fair use.
    s("rate_limit_per_key", "1000", "requests per second per API key or actor token; 0 turns the limit off"),
    s(
        "rate_limit_burst",
        "",
        "requests a credential may make at once after being idle (default: twice the rate)",
    ),
    s(
        "workspace_max_inflight",
        "32",
        "requests of one workspace handled at once on this replica; 0 turns the cap off",
    ),
    s("workspace_max_queued", "1024", "requests of one workspace waiting for an in-flight slot"),
    s("workspace_queue_timeout_seconds", "10", "seconds a request waits for a slot before 429"),
    s("usage_flush_seconds", "5", "seconds between writes of the usage meter"),
    s("max_streams_per_key", "1000", "SSE streams and waiting claims open at once per credential; 0: no cap"),
    s("max_streams_per_workspace", "10000", "the same per workspace; 0: no cap"),
    // Push delivery.
    s("outbound_allow", "", "comma-separated CIDRs pushes may reach although loopback or private"),
    s("push_retry_schedule", "0s,30s,120s,600s", "delays before each push attempt"),
    s("push_concurrency", "16", "push attempts in flight"),
    s("push_timeout_seconds", "15", "seconds one push attempt may take"),
    // Retention (docs/retention.md).
    s("retention_days", "30", "days finished intents are kept"),
    s("dead_letter_retention_days", "30", "days dead letters are kept"),
    s("webhook_event_retention_days", "30", "days webhook events are kept"),
    s("audit_retention_days", "365", "days audit entries are kept"),
    s("retention_interval_seconds", "60", "seconds between pruner passes"),
    s("retention_batch", "256", "rows per pruner transaction (1 to 10,000)"),
    s("archive_dir", "", "archive finished intents there before removing them"),
    // Metrics (docs/metrics.md).
    secret("metrics_token", "bearer token of /metrics (at least 16 characters)"),
    s("metrics_public", "false", "open /metrics without a token"),
    s(
        "metrics_intent_types",
        "",
        "comma-separated intent types that get their own metrics label; others are `other`",
    ),
    s("metrics_refresh_seconds", "30", "seconds between reads of the store figures /metrics shows"),
    // Logs.
    s("log_format", "text", "log lines on stderr as text or json"),
    s("access_log", "true", "one log line per request (method, route, status, latency, trace id, key id)"),
];

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Not set: the default applies.
    Default,
    /// The config file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(String),
    /// A command-line flag.
    Flag,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Env(name) => f.write_str(name),
            Source::Flag => f.write_str("command line"),
        }
    }
}

/// The merged settings: each set key's value (as text) and where it came from.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    values: BTreeMap<&'static str, (String, Source)>,
    file: Option<PathBuf>,
}

/// The file [`Settings::load`] reads when no path is given: `axp.toml` in the working directory,
/// when it exists.
pub const DEFAULT_FILE: &str = "axp.toml";

impl Settings {
    /// The environment alone (`AXP_*`), as the embedded servers of tests and tools read it.
    ///
    /// Errors: as [`Settings::load`].
    pub fn from_env() -> anyhow::Result<Self> {
        Self::merge(Figment::new(), None)
    }

    /// The config file, then the environment over it. `file` is `--config` or `AXP_CONFIG`;
    /// without it, [`DEFAULT_FILE`] is read when it exists.
    ///
    /// Errors: a given file that is missing or not TOML, a key that is not a setting (with the
    /// file's path), or a value that is a table.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let file = match file {
            Some(path) => {
                anyhow::ensure!(path.is_file(), "the config file {} does not exist", path.display());
                Some(path.to_path_buf())
            }
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()),
        };
        let mut figment = Figment::new();
        if let Some(path) = &file {
            let table: BTreeMap<String, Value> = Figment::from(Toml::file_exact(path))
                .extract()
                .with_context(|| format!("reading the config file {}", path.display()))?;
            if let Some(key) = table.keys().find(|key| setting(key).is_none()) {
                anyhow::bail!(
                    "{}: unknown setting {key:?} (`axp config show` and docs/configuration.md list them)",
                    path.display()
                );
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::merge(figment, file)
    }

    fn merge(figment: Figment, file: Option<PathBuf>) -> anyhow::Result<Self> {
        let keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        let figment = figment.merge(Env::prefixed("AXP_").only(&keys));
        let data: BTreeMap<String, Value> = figment.extract().context("reading the settings")?;
        let mut values = BTreeMap::new();
        for (key, value) in data {
            let Some(setting) = setting(&key) else { continue };
            let text = text(&value).with_context(|| format!("setting {key}"))?;
            // An empty environment variable means "not set", as it always has.
            if text.trim().is_empty() {
                continue;
            }
            let env = format!("AXP_{}", key.to_ascii_uppercase());
            let source = match &file {
                Some(path) if std::env::var_os(&env).is_none_or(|v| v.is_empty()) => {
                    Source::File(path.clone())
                }
                _ => Source::Env(env),
            };
            values.insert(setting.key, (text, source));
        }
        Ok(Self { values, file })
    }

    /// A command-line flag's value over whatever the file or environment said.
    ///
    /// Panics: `key` is not in [`SETTINGS`] (a programming error).
    pub fn set_flag(&mut self, key: &str, value: impl Into<String>) {
        let setting = setting(key).unwrap_or_else(|| panic!("{key} is not a setting"));
        self.values.insert(setting.key, (value.into(), Source::Flag));
    }

    /// The value of the setting whose environment variable is `env_name` (`AXP_RETENTION_DAYS`),
    /// from wherever it came; `None` when unset (or set empty).
    pub fn var(&self, env_name: &str) -> Option<String> {
        let key = env_name.strip_prefix("AXP_")?.to_ascii_lowercase();
        self.values.get(key.as_str()).map(|(v, _)| v.clone())
    }

    /// The config file that was read, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Every setting with its effective value (the default when unset; secrets redacted) and
    /// its source, in [`SETTINGS`] order.
    pub fn effective(&self) -> Vec<(Setting, String, Source)> {
        SETTINGS
            .iter()
            .map(|setting| match self.values.get(setting.key) {
                Some((value, source)) => {
                    let shown = if setting.secret { redact(value) } else { value.clone() };
                    (*setting, shown, source.clone())
                }
                None => (*setting, setting.default.to_owned(), Source::Default),
            })
            .collect()
    }
}

/// The setting named `key`.
fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// A value as the text its environment variable would hold: a list is comma-separated.
fn text(value: &Value) -> anyhow::Result<String> {
    Ok(match value {
        Value::String(_, s) => s.clone(),
        Value::Char(_, c) => c.to_string(),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => match n.to_u128() {
            Some(u) => u.to_string(),
            None => match n.to_i128() {
                Some(i) => i.to_string(),
                None => n.to_f64().map(|f| f.to_string()).unwrap_or_default(),
            },
        },
        Value::Empty(..) => String::new(),
        Value::Array(_, items) => items.iter().map(text).collect::<anyhow::Result<Vec<_>>>()?.join(","),
        Value::Dict(..) => anyhow::bail!("a table is not a value"),
    })
}

/// A secret as `axp config show` prints it: a URL keeps all but its password, anything else
/// becomes `<redacted>`.
fn redact(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut url) if url.has_host() => {
            if url.password().is_some() {
                let _ = url.set_password(Some("redacted"));
            }
            url.to_string()
        }
        _ => "<redacted>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_list_every_setting_and_nothing_else() {
        let docs = include_str!("../../../docs/configuration.md");
        for setting in SETTINGS {
            let env = format!("AXP_{}", setting.key.to_ascii_uppercase());
            assert!(
                docs.contains(&format!("| `{}` | `{env}` |", setting.key)),
                "{} is not documented",
                setting.key
            );
        }
        let rows = docs.lines().filter(|l| l.starts_with("| `") && l.contains("` | `AXP_")).count();
        assert_eq!(rows, SETTINGS.len(), "docs/configuration.md lists a setting that does not exist");
    }

    #[test]
    fn keys_are_unique_lower_case_and_secrets_have_no_default() {
        let mut keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), SETTINGS.len(), "a key is listed twice");
        for s in SETTINGS {
            assert!(s.key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", s.key);
            assert!(!s.secret || s.default.is_empty(), "{}", s.key);
        }
    }

    #[test]
    fn a_file_is_read_with_its_lists_and_an_unknown_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("axp.toml");
        std::fs::write(&path, "outbound_allow = [\"127.0.0.0/8\", \"::1/128\"]\nworkspace_max_queued = 12\n")
            .unwrap();
        let settings = Settings::load(Some(&path)).unwrap();
        assert_eq!(settings.var("AXP_OUTBOUND_ALLOW").as_deref(), Some("127.0.0.0/8,::1/128"));
        assert_eq!(settings.var("AXP_WORKSPACE_MAX_QUEUED").as_deref(), Some("12"));
        assert_eq!(settings.file(), Some(path.as_path()));
        std::fs::write(&path, "[server]\nlisten = \"x\"\n").unwrap();
        let err = Settings::load(Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("\"server\""), "{err:#}");
        let err = Settings::load(Some(&dir.path().join("missing.toml"))).unwrap_err();
        assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
    }

    #[test]
    fn a_flag_wins_and_shows_its_source() {
        let mut settings = Settings::default();
        settings.set_flag("role", "engine");
        assert_eq!(settings.var("AXP_ROLE").as_deref(), Some("engine"));
        let role = settings.effective().into_iter().find(|(s, ..)| s.key == "role").unwrap();
        assert_eq!((role.1.as_str(), role.2), ("engine", Source::Flag));
        assert_eq!(settings.var("AXP_NOT_A_SETTING"), None);
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redact("postgres://u:pw@db:5432/axp"), "postgres://u:redacted@db:5432/axp");
        assert_eq!(redact("postgres://u@db/axp"), "postgres://u@db/axp");
        assert_eq!(redact("axme_sa_secret"), "<redacted>");
    }
}
