//! `axp scenarios apply <file.json> [--watch] [--timeout S] [--idempotency-key K]`.

use std::time::Duration;

use axp_client::Client;

use crate::commands::intents::WatchFlags;
use crate::commands::{idempotency_key, read_json_file};
use crate::exit::Exit;
use crate::output::{Output, Style};

/// `scenarios apply` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bundle (a JSON file; `-` reads stdin).
    file: String,
    /// Makes the apply safe to repeat: the same key and bundle return the same intent. Default:
    /// the bundle's own `idempotency_key`, else a fresh key per run.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    #[command(flatten)]
    watch: WatchFlags,
}

/// Applies the bundle.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let bundle = read_json_file(&args.file)?;
    let key = args
        .idempotency_key
        .clone()
        .or_else(|| bundle.get("idempotency_key").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| idempotency_key("apply"));
    let applied = client.apply_scenario(&bundle, Some(&key)).await?;
    let value = serde_json::to_value(&applied)?;
    if out.is_machine() {
        if args.watch.watch { out.json_line(&value) } else { out.json(&value) }
    } else {
        let mut pairs = vec![
            ("scenario".to_owned(), applied.scenario_id.clone()),
            ("intent".to_owned(), format!("{}  {}", applied.intent_id, applied.status)),
            ("compile_id".to_owned(), applied.compile_id.clone()),
        ];
        for agent in &applied.agents {
            let how = if agent.created { "created" } else { "existing" };
            pairs.push((
                format!("agent {}", agent.role),
                format!("{}  ({how}, {} binding)", agent.address, agent.delivery_mode),
            ));
            if let Some(key) = &agent.api_key {
                pairs.push(("  api key".to_owned(), key.clone()));
            }
        }
        if applied.idempotent {
            pairs.push(("replayed".into(), "yes (same idempotency key and bundle)".into()));
        }
        out.object(&value, || pairs);
        if applied.agents.iter().any(|a| a.api_key.is_some()) {
            out.note(&format!(
                "{} the API keys of new agents are shown once; store them now",
                out.paint("note:", Style::Yellow)
            ));
        }
    }
    if args.watch.watch {
        if !out.is_machine() {
            out.line("");
        }
        let watched = crate::watch::watch(
            client,
            out,
            applied.intent_id,
            0,
            args.watch.timeout.map(Duration::from_secs),
        )
        .await?;
        return Ok(watched.exit);
    }
    out.tip(&format!("follow it: axp intents watch {}", applied.intent_id));
    Ok(Exit::Ok)
}
