//! `axp logs <intent_id> [--since N] [--tail N]`: the intent's event history (the audit trail).

use serde_json::Value;

use crate::cli::Global;
use crate::commands::{brief, intent_id};
use crate::exit::Exit;
use crate::output::{Output, Table};
use crate::watch::reason_name;

/// `logs` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The intent's id.
    intent_id: String,
    /// Only events after this seq (exclusive).
    #[arg(long, default_value_t = 0)]
    since: u64,
    /// Only the last N events (0: all).
    #[arg(long, default_value_t = 0)]
    tail: usize,
}

/// Prints the history.
pub async fn run(global: &Global, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    let id = intent_id(&args.intent_id)?;
    let mut events = client.list_events(id, args.since).await?.events;
    if args.tail > 0 && events.len() > args.tail {
        events.drain(..events.len() - args.tail);
    }
    let items = events.iter().map(serde_json::to_value).collect::<Result<Vec<Value>, _>>()?;
    out.list(&items, || {
        let mut table = Table::new(&["SEQ", "AT", "STATUS", "EVENT", "WAITING_REASON", "ACTOR", "DETAILS"])
            .status_column(2);
        for e in &events {
            table.row(vec![
                e.seq.to_string(),
                e.at.to_string(),
                e.status.to_string(),
                e.event_type.to_string(),
                e.waiting_reason.map(reason_name).unwrap_or_default().to_owned(),
                e.actor.clone(),
                if e.details.is_empty() {
                    String::new()
                } else {
                    brief(&Value::Object(e.details.clone()), 60)
                },
            ]);
        }
        table
    });
    Ok(Exit::Ok)
}
