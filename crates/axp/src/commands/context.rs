//! `axp context list|use|show`: the contexts saved by `axp login`.

use serde_json::{Value, json};

use crate::cli::Global;
use crate::config::{Config, hint};
use crate::connect;
use crate::exit::{Exit, usage};
use crate::output::{Output, Table};

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List saved contexts.
    #[command(visible_alias = "ls")]
    List,
    /// Make a saved context the active one.
    Use {
        /// The context's name.
        name: String,
    },
    /// Show the server, key and actor token a command would use now, and where each comes from.
    Show,
}

/// Runs one `context` verb.
pub fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let mut config = Config::load()?;
    match command {
        Command::List => {
            let active = config.active_context.clone();
            let items: Vec<Value> = config
                .contexts
                .iter()
                .map(|(name, c)| {
                    json!({
                        "name": name,
                        "active": Some(name) == active.as_ref(),
                        "base_url": c.base_url,
                        "has_api_key": c.api_key.is_some(),
                        "has_actor_token": c.actor_token.is_some(),
                    })
                })
                .collect();
            out.list(&items, || {
                let mut table = Table::new(&["ACTIVE", "NAME", "BASE_URL", "API_KEY", "ACTOR_TOKEN"]);
                for (name, c) in &config.contexts {
                    table.row(vec![
                        if Some(name) == active.as_ref() { "*".into() } else { String::new() },
                        name.clone(),
                        c.base_url.clone(),
                        c.api_key.as_deref().map(hint).unwrap_or_default(),
                        c.actor_token.as_deref().map(hint).unwrap_or_default(),
                    ]);
                }
                table
            });
            if config.contexts.is_empty() {
                out.tip("no contexts yet: axp login --base-url <url> --api-key <key>");
            }
        }
        Command::Use { name } => {
            if !config.contexts.contains_key(&name) {
                return Err(usage(format!("no context named {name:?}; see `axp context list`")));
            }
            config.active_context = Some(name.clone());
            config.save()?;
            out.object(&json!({"ok": true, "active_context": name}), || {
                vec![("active_context".into(), name.clone())]
            });
        }
        Command::Show => {
            let target = connect::resolve(global, &config)?;
            let value = json!({
                "context": target.context,
                "base_url": target.base_url,
                "base_url_from": target.url_source.to_string(),
                "api_key": target.api_key.as_deref().map(hint),
                "api_key_from": target.key_source.as_ref().map(ToString::to_string),
                "actor_token": target.actor_token.as_deref().map(hint),
            });
            out.object(&value, || {
                vec![
                    ("context".into(), target.context.clone().unwrap_or_else(|| "(none)".into())),
                    ("base_url".into(), format!("{}  (from {})", target.base_url, target.url_source)),
                    (
                        "api_key".into(),
                        match (&target.api_key, &target.key_source) {
                            (Some(k), Some(s)) => format!("{}  (from {s})", hint(k)),
                            _ => "(none)".into(),
                        },
                    ),
                    (
                        "actor_token".into(),
                        target.actor_token.as_deref().map_or_else(|| "(none)".into(), hint),
                    ),
                ]
            });
        }
    }
    Ok(Exit::Ok)
}
