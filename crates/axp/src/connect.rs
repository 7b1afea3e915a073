//! Which server and which key a client command uses.
//!
//! The base URL comes from the first of: `--base-url`, `AXP_URL`, `AXME_BASE_URL`, the selected
//! context (`--context`, `AXP_CONTEXT`, `AXME_CONTEXT`, else the active one), and finally
//! `http://127.0.0.1:7420`.
//!
//! The API key comes from the first of: `--api-key`, `AXP_API_KEY`, `AXME_API_KEY`, the
//! selected context's key (only when that context is for the same base URL), and, for a server
//! on this machine (loopback or `localhost`), the admin key that `axp serve` wrote to
//! `<data-dir>/admin.key` (`--data-dir`, `AXP_DATA_DIR`, default `./axp-data`).
//!
//! A person's actor token (`axp login --token`) comes from the selected context only (for the
//! same base URL), and only when no key was given by flag or environment: it is sent as
//! `Authorization: Bearer` beside the context's key, if it has one, and no `admin.key` is read
//! for a context that has a token.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use axp_client::Client;

use crate::cli::Global;
use crate::config::Config;
use crate::exit::usage;

/// Where `axp serve` listens by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:7420";
/// Where `axp serve` keeps its data by default.
pub const DEFAULT_DATA_DIR: &str = "./axp-data";

/// Where a value came from, for `context show` / `whoami` and error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable (its name).
    Env(&'static str),
    /// A saved context (its name).
    Context(String),
    /// A data directory's `admin.key` (its path).
    AdminKey(PathBuf),
    /// The built-in default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(name) => write!(f, "${name}"),
            Source::Context(name) => write!(f, "context {name:?}"),
            Source::AdminKey(path) => write!(f, "{}", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

/// The server and key a command will use.
#[derive(Clone, Debug)]
pub struct Target {
    /// Base URL, without a trailing slash.
    pub base_url: String,
    /// Where it came from.
    pub url_source: Source,
    /// The API key, if any source had one.
    pub api_key: Option<String>,
    /// Where it came from.
    pub key_source: Option<Source>,
    /// A person's actor token from the selected context, if it has one.
    pub actor_token: Option<String>,
    /// The context that was selected, if any.
    pub context: Option<String>,
}

/// Reads an environment variable, treating empty as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Looks up an environment variable (a parameter so tests need not touch the process env).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn first_env(env: Env<'_>, names: &[&'static str]) -> Option<(String, &'static str)> {
    names.iter().find_map(|name| env(name).map(|v| (v, *name)))
}

/// The data directory client commands read `admin.key` from.
pub fn data_dir(global: &Global, env: Env<'_>) -> PathBuf {
    global
        .data_dir
        .clone()
        .or_else(|| env("AXP_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// The context name selected by `--context`, `AXP_CONTEXT` or `AXME_CONTEXT`.
pub fn selected_context(global: &Global, env: Env<'_>) -> Option<String> {
    global.context.clone().or_else(|| first_env(env, &["AXP_CONTEXT", "AXME_CONTEXT"]).map(|(v, _)| v))
}

fn normalize(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

/// Whether `url` points at this machine: `localhost`, `127.0.0.0/8` or `[::1]`.
pub fn is_local(url: &str) -> bool {
    let Ok(url) = axp_client::Url::parse(url) else { return false };
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Resolves the target from flags, the process environment and `config` (see the module docs).
pub fn resolve(global: &Global, config: &Config) -> anyhow::Result<Target> {
    resolve_with(global, config, &env)
}

/// [`resolve`] with environment lookups through `env`.
pub fn resolve_with(global: &Global, config: &Config, env: Env<'_>) -> anyhow::Result<Target> {
    let selected = selected_context(global, env);
    let context = match &selected {
        Some(name) => Some(
            config
                .context(Some(name))
                .ok_or_else(|| usage(format!("no context named {name:?}; see `axp context list`")))?,
        ),
        None => config.context(None),
    };
    let (base_url, url_source) = if let Some(url) = &global.base_url {
        (normalize(url), Source::Flag)
    } else if let Some((url, name)) = first_env(env, &["AXP_URL", "AXME_BASE_URL"]) {
        (normalize(&url), Source::Env(name))
    } else if let Some((name, ctx)) = context {
        (normalize(&ctx.base_url), Source::Context(name.to_owned()))
    } else {
        (DEFAULT_URL.to_owned(), Source::Default)
    };
    let same_server = context.filter(|(_, ctx)| normalize(&ctx.base_url) == base_url);
    let mut actor_token = None;
    let (api_key, key_source) = if let Some(key) = &global.api_key {
        (Some(key.trim().to_owned()), Some(Source::Flag))
    } else if let Some((key, name)) = first_env(env, &["AXP_API_KEY", "AXME_API_KEY"]) {
        (Some(key), Some(Source::Env(name)))
    } else if let Some((name, ctx)) =
        same_server.filter(|(_, c)| c.api_key.is_some() || c.actor_token.is_some())
    {
        actor_token.clone_from(&ctx.actor_token);
        (ctx.api_key.clone(), ctx.api_key.as_ref().map(|_| Source::Context(name.to_owned())))
    } else if is_local(&base_url) {
        let path = data_dir(global, env).join("admin.key");
        match read_admin_key(&path)? {
            Some(key) => (Some(key), Some(Source::AdminKey(path))),
            None => (None, None),
        }
    } else {
        (None, None)
    };
    let context = context.map(|(n, _)| n.to_owned());
    Ok(Target { base_url, url_source, api_key, key_source, actor_token, context })
}

/// The key in `path` (first line), or `None` when the file does not exist.
pub fn read_admin_key(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.lines().next().map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

impl Target {
    /// The API key, or a usage error telling how to provide one.
    pub fn require_key(&self) -> anyhow::Result<&str> {
        self.api_key.as_deref().ok_or_else(|| {
            usage(format!(
                "no API key for {}: run `axp login --base-url {} --api-key <key>`, pass --api-key, or set AXP_API_KEY{}",
                self.base_url,
                self.base_url,
                if is_local(&self.base_url) { " (or --data-dir to read <data-dir>/admin.key)" } else { "" }
            ))
        })
    }

    /// A client for this target (its key, and its actor token if any); fails when there is
    /// neither.
    pub fn client(&self) -> anyhow::Result<Client> {
        match &self.actor_token {
            Some(token) => self.client_as(self.api_key.as_deref().unwrap_or_default(), Some(token)),
            None => self.client_with(self.require_key()?),
        }
    }

    /// A client for this target's URL with `key` (and no actor token).
    pub fn client_with(&self, key: &str) -> anyhow::Result<Client> {
        self.client_as(key, None)
    }

    /// A client for this target's URL with `key` (empty: none) and a person's `actor_token`.
    pub fn client_as(&self, key: &str, actor_token: Option<&str>) -> anyhow::Result<Client> {
        let mut builder = Client::builder(&self.base_url, key).timeout(Duration::from_secs(30));
        if let Some(token) = actor_token {
            builder = builder.actor_token(token);
        }
        builder.build().map_err(|e| usage(format!("cannot talk to {}: {e}", self.base_url)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::Context;

    fn global() -> Global {
        Global::default()
    }

    fn config(url: &str, key: &str) -> Config {
        let mut config = Config::default();
        config.contexts.insert(
            "saved".into(),
            Context { base_url: url.into(), api_key: Some(key.into()), actor_token: None },
        );
        config.active_context = Some("saved".into());
        config
    }

    fn run(global: &Global, config: &Config, vars: &[(&str, &str)]) -> anyhow::Result<Target> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        resolve_with(global, config, &|name: &str| vars.get(name).cloned().filter(|v| !v.is_empty()))
    }

    #[test]
    fn flags_beat_env_beat_context() {
        let cfg = config("http://saved:1/", "ctx-key");
        let t = run(&global(), &cfg, &[]).unwrap();
        assert_eq!((t.base_url.as_str(), t.api_key.as_deref()), ("http://saved:1", Some("ctx-key")));
        assert_eq!(t.key_source, Some(Source::Context("saved".into())));

        let t = run(&global(), &cfg, &[("AXME_BASE_URL", "http://axme:2"), ("AXME_API_KEY", "axme-key")])
            .unwrap();
        assert_eq!((t.base_url.as_str(), t.api_key.as_deref()), ("http://axme:2", Some("axme-key")));
        assert_eq!(t.url_source, Source::Env("AXME_BASE_URL"));

        let t = run(
            &global(),
            &cfg,
            &[("AXP_URL", "http://axp:3"), ("AXME_BASE_URL", "http://axme:2"), ("AXP_API_KEY", "axp-key")],
        )
        .unwrap();
        assert_eq!((t.base_url.as_str(), t.api_key.as_deref()), ("http://axp:3", Some("axp-key")));

        let flags = Global {
            base_url: Some("http://flag:4".into()),
            api_key: Some("flag-key".into()),
            ..Global::default()
        };
        let t = run(&flags, &cfg, &[("AXP_URL", "http://axp:3"), ("AXP_API_KEY", "axp-key")]).unwrap();
        assert_eq!((t.base_url.as_str(), t.api_key.as_deref()), ("http://flag:4", Some("flag-key")));
    }

    #[test]
    fn a_context_key_is_not_sent_to_another_server() {
        let cfg = config("http://saved:1", "ctx-key");
        let t = run(&global(), &cfg, &[("AXP_URL", "http://other:9")]).unwrap();
        assert_eq!(t.api_key, None);
        assert!(t.client().is_err());
    }

    #[test]
    fn local_servers_fall_back_to_admin_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("admin.key"), "axme_sa_admin_secret\n").unwrap();
        let g = Global { data_dir: Some(dir.path().to_path_buf()), ..Global::default() };
        let t = run(&g, &Config::default(), &[]).unwrap();
        assert_eq!(t.base_url, DEFAULT_URL);
        assert_eq!(t.api_key.as_deref(), Some("axme_sa_admin_secret"));
        assert!(matches!(t.key_source, Some(Source::AdminKey(_))));

        let env_dir =
            run(&global(), &Config::default(), &[("AXP_DATA_DIR", dir.path().to_str().unwrap())]).unwrap();
        assert_eq!(env_dir.api_key.as_deref(), Some("axme_sa_admin_secret"));

        let remote = run(&g, &Config::default(), &[("AXP_URL", "https://axp.example.com")]).unwrap();
        assert_eq!(remote.api_key, None, "admin.key is only for servers on this machine");
        let e = remote.client().unwrap_err();
        assert_eq!(crate::exit::for_error(&e), crate::exit::Exit::Usage);
    }

    #[test]
    fn a_persons_token_comes_from_the_context_and_stops_the_admin_key_fallback() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("admin.key"), "axme_sa_admin_secret\n").unwrap();
        let g = Global { data_dir: Some(dir.path().to_path_buf()), ..Global::default() };
        let mut cfg = Config::default();
        let person =
            Context { base_url: DEFAULT_URL.into(), api_key: None, actor_token: Some("axme_at_me".into()) };
        cfg.contexts.insert("me".into(), person);
        cfg.active_context = Some("me".into());
        let t = run(&g, &cfg, &[]).unwrap();
        assert_eq!((t.api_key.as_deref(), t.actor_token.as_deref()), (None, Some("axme_at_me")));
        assert!(t.client().is_ok(), "a token alone is enough");
        let t = run(&g, &cfg, &[("AXP_API_KEY", "env-key")]).unwrap();
        assert_eq!(
            (t.api_key.as_deref(), t.actor_token.as_deref()),
            (Some("env-key"), None),
            "an explicit key wins"
        );
        let t = run(&g, &cfg, &[("AXP_URL", "http://other:9")]).unwrap();
        assert_eq!(t.actor_token, None, "a context's token is never sent to another server");
    }

    #[test]
    fn unknown_named_context_is_a_usage_error() {
        let g = Global { context: Some("nope".into()), ..Global::default() };
        let e = run(&g, &Config::default(), &[]).unwrap_err();
        assert_eq!(crate::exit::for_error(&e), crate::exit::Exit::Usage);
        let e = run(&global(), &Config::default(), &[("AXP_CONTEXT", "nope")]).unwrap_err();
        assert_eq!(crate::exit::for_error(&e), crate::exit::Exit::Usage);
    }

    #[test]
    fn locality() {
        for url in ["http://127.0.0.1:7420", "http://localhost", "http://[::1]:80", "http://127.1.2.3"] {
            assert!(is_local(url), "{url}");
        }
        for url in ["http://10.0.0.1", "https://axp.example.com", "not a url"] {
            assert!(!is_local(url), "{url}");
        }
    }
}
