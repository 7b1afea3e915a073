//! One module per command: `commands/<noun>/<verb>.rs`, or `commands/<noun>.rs` when the noun
//! is small. Each exposes its clap `Args` (or `Command` for a noun with verbs) and a `run`.

pub mod admin;
pub mod agents;
pub mod approvals;
pub mod archive;
pub mod audit;
pub mod backup;
pub mod capabilities;
pub mod completions;
pub mod config;
pub mod context;
pub mod deliveries;
pub mod demo;
pub mod inbox;
pub mod intents;
pub mod invites;
pub mod login;
pub mod logs;
pub mod man;
pub mod members;
pub mod orgs;
pub mod restore;
pub mod scenarios;
pub mod serve;
pub mod status;
pub mod tasks;
pub mod ui;
pub mod users;
pub mod whoami;
pub mod workspaces;

use axp_client::IntentId;
use serde_json::{Map, Value};

use crate::cli::{Command, Global};
use crate::config::Config;
use crate::connect::{self, Target};
use crate::exit::{Exit, usage};
use crate::output::Output;

/// Runs one client command.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Serve(_) => Err(usage("`serve` is not a client command")),
        Command::Migrate(_) => Err(usage("`migrate` is not a client command")),
        Command::Archive(command) => archive::run(out, command),
        Command::Config(command) => config::run(out, command),
        Command::Completions(args) => completions::run(out, args),
        Command::Man(args) => man::run(out, args),
        Command::Demo(args) => demo::run(args, out).await,
        Command::Backup(args) => backup::run(global, out, args).await,
        Command::Restore(args) => restore::run(global, out, args),
        Command::Admin(command) => admin::run(global, out, command).await,
        Command::Ui(args) => ui::run(global, out, args).await,
        Command::Login(args) => login::run(global, out, args).await,
        Command::Context(command) => context::run(global, out, command),
        Command::Whoami(args) => whoami::run(global, out, args).await,
        Command::Status(args) => status::run(global, out, args).await,
        Command::Intents(command) => intents::run(global, out, command).await,
        Command::Logs(args) => logs::run(global, out, args).await,
        Command::Tasks(command) => tasks::run(global, out, command).await,
        Command::Inbox(command) => inbox::run(global, out, command).await,
        Command::Approvals(command) => approvals::run(global, out, command).await,
        Command::Audit(args) => audit::run(global, out, args).await,
        Command::Capabilities(args) => capabilities::run(global, out, args).await,
        Command::Scenarios(command) => scenarios::run(global, out, command).await,
        Command::Agents(command) => agents::run(global, out, command).await,
        Command::Deliveries(command) => deliveries::run(global, out, command).await,
        Command::Orgs(command) => orgs::run(global, out, command).await,
        Command::Workspaces(command) => workspaces::run(global, out, command).await,
        Command::Members(command) => members::run(global, out, command).await,
        Command::Users(command) => users::run(global, out, command).await,
        Command::Invites(command) => invites::run(global, out, command).await,
    }
}

/// A hint to print under an error, when there is an obvious next step.
pub fn hint_for(error: &anyhow::Error) -> Option<String> {
    let api = error.chain().find_map(|e| e.downcast_ref::<axp_client::Error>())?;
    match api {
        e if e.is_auth() => {
            Some("hint: check the key with `axp whoami`, or save a new one with `axp login`".into())
        }
        axp_client::Error::Transport(_) => Some(
            "hint: is the server running? `axp serve` starts one; `axp status` checks the URL in use".into(),
        ),
        _ => None,
    }
}

/// The target for this run, from flags, env and the saved contexts.
pub fn target(global: &Global) -> anyhow::Result<Target> {
    connect::resolve(global, &Config::load()?)
}

/// Parses an intent id argument.
pub fn intent_id(raw: &str) -> anyhow::Result<IntentId> {
    raw.trim().parse().map_err(|_| usage(format!("{raw:?} is not an intent id (a UUID)")))
}

/// Parses an optional RFC 3339 flag `--<flag>` (`--since`, `--created-after`, …).
pub fn time_flag(
    flag: &str,
    value: Option<String>,
) -> anyhow::Result<Option<axp_client::axp_core::Timestamp>> {
    value
        .map(|v| {
            axp_client::axp_core::Timestamp::parse_rfc3339(&v)
                .ok_or_else(|| usage(format!("--{flag} {v:?} is not an RFC 3339 date-time")))
        })
        .transpose()
}

/// Parses a `--data-json`-style flag: must be a JSON object.
pub fn json_object(flag: &str, text: &str) -> anyhow::Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(usage(format!("{flag} must be a JSON object, e.g. '{{\"key\": \"value\"}}'"))),
        Err(e) => Err(usage(format!("{flag} is not valid JSON: {e}"))),
    }
}

/// Parses `key=value` flags into JSON strings (a value that is valid JSON, like `3` or `true`,
/// keeps its type).
pub fn key_values(flag: &str, pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut map = Map::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| usage(format!("{flag} expects key=value, got {pair:?}")))?;
        let value = match serde_json::from_str::<Value>(value) {
            Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => v,
            _ => Value::String(value.to_owned()),
        };
        map.insert(key.trim().to_owned(), value);
    }
    Ok(map)
}

/// Reads a JSON file (or `-` for stdin) that must hold an object.
pub fn read_json_file(path: &str) -> anyhow::Result<Value> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| usage(format!("reading stdin: {e}")))?
    } else {
        std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {path}: {e}")))?
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(usage(format!("{path} must hold a JSON object"))),
        Err(e) => Err(usage(format!("{path} is not valid JSON: {e}"))),
    }
}

/// A short string form of any JSON value: strings bare, everything else compact JSON, cut at
/// `max` characters.
pub fn brief(value: &Value, max: usize) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if text.chars().count() > max {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// A fresh idempotency key for a create the CLI may retry.
pub fn idempotency_key(prefix: &str) -> String {
    format!("axp-cli-{prefix}-{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn flag_parsers() {
        assert_eq!(json_object("--data-json", r#"{"a":1}"#).unwrap()["a"], 1);
        assert!(json_object("--data-json", "[1]").is_err());
        assert!(json_object("--data-json", "{").is_err());
        let kv = key_values("--data", &["n=3".into(), "ok=true".into(), "name=x=y".into()]).unwrap();
        assert_eq!(Value::Object(kv), json!({"n": 3, "ok": true, "name": "x=y"}));
        assert!(key_values("--data", &["novalue".into()]).is_err());
        assert!(intent_id("not-a-uuid").is_err());
    }

    #[test]
    fn brief_cuts_long_values() {
        assert_eq!(brief(&json!("abc"), 10), "abc");
        assert_eq!(brief(&json!({"k": "0123456789"}), 8), "{\"k\":\"0…");
    }
}
