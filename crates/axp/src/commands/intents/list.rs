//! `axp intents list [--status S] [--to ADDRESS] [--limit N]`.

use axp_client::{Client, Status};
use serde_json::Value;

use crate::exit::{Exit, usage};
use crate::output::{Output, Table};

/// `intents list` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only these statuses (repeat, or comma-separate: `--status WAITING,IN_PROGRESS`).
    #[arg(long, value_delimiter = ',')]
    status: Vec<String>,
    /// Only intents sent to this agent.
    #[arg(long, value_name = "ADDRESS")]
    to: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

/// Lists intents.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let statuses = args
        .status
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<Status>().map_err(|e| usage(e.to_string())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let intents = client.list_intents(&statuses, args.to.as_deref(), Some(args.limit)).await?;
    let items: Vec<Value> = intents.iter().map(|i| i.to_wire()).collect();
    out.list(&items, || {
        let mut table = Table::new(&["INTENT_ID", "STATUS", "TYPE", "TO", "CREATED_AT"]).status_column(1);
        for i in &intents {
            table.row(vec![
                i.intent_id.to_string(),
                i.status.to_string(),
                i.intent_type.clone(),
                i.to_agent.clone(),
                i.created_at.to_string(),
            ]);
        }
        table
    });
    Ok(Exit::Ok)
}
