//! `axp deliveries list|get|replay`: the server's pushes to `http` agents and webhooks, their
//! attempts, and replaying dead letters (contract §5.5).

use axp_client::{Client, Delivery, DeliveryId, DeliveryStatus};
use serde_json::Value;

use crate::cli::Global;
use crate::commands::brief;
use crate::exit::{Exit, usage};
use crate::output::{Output, Style, Table};

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List deliveries, newest first.
    #[command(visible_alias = "ls")]
    List {
        /// Only deliveries in this state.
        #[arg(long, value_parser = ["pending", "delivering", "delivered", "failed", "dead_lettered"])]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one delivery with every attempt.
    Get {
        /// The delivery's id.
        delivery_id: String,
    },
    /// Send a dead-lettered delivery again (a new delivery linked to it).
    Replay {
        /// The delivery's id.
        delivery_id: String,
    },
}

fn id(raw: &str) -> anyhow::Result<DeliveryId> {
    raw.trim().parse().map_err(|_| usage(format!("{raw:?} is not a delivery id (a UUID)")))
}

fn style(status: DeliveryStatus) -> Style {
    match status {
        DeliveryStatus::Delivered => Style::Green,
        DeliveryStatus::DeadLettered | DeliveryStatus::Failed => Style::Red,
        DeliveryStatus::Pending | DeliveryStatus::Delivering => Style::Cyan,
    }
}

fn pairs(out: &Output, d: &Delivery) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("delivery_id".to_owned(), d.delivery_id.to_string()),
        ("status".to_owned(), out.paint(d.status.as_str(), style(d.status))),
        ("kind".to_owned(), d.kind.as_str().to_owned()),
        ("target".to_owned(), d.target.clone()),
        ("url".to_owned(), d.url.clone()),
        ("attempts".to_owned(), d.attempt.to_string()),
    ];
    if let Some(intent) = d.intent_id {
        pairs.push(("intent_id".into(), intent.to_string()));
    }
    if let Some(original) = d.replay_of_delivery_id {
        pairs.push(("replay_of".into(), original.to_string()));
    }
    if let Some(next) = d.next_attempt_at {
        pairs.push(("next_attempt_at".into(), next.to_string()));
    }
    if let Some(error) = &d.error_detail {
        pairs.push(("error".into(), error.clone()));
    }
    for a in &d.attempts {
        let outcome = match (a.status_code, &a.error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(e)) => e.clone(),
            (None, None) => String::new(),
        };
        pairs
            .push((format!("attempt {}", a.attempt), format!("{}  {outcome}  ({} ms)", a.at, a.duration_ms)));
    }
    pairs.push(("payload".into(), brief(&d.payload, 100)));
    pairs
}

/// Runs one `deliveries` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client: Client = super::target(global)?.client()?;
    match command {
        Command::List { status, limit } => {
            let status = status.as_deref().and_then(DeliveryStatus::parse);
            let deliveries = client.list_deliveries(status, Some(limit)).await?;
            let items = deliveries.iter().map(serde_json::to_value).collect::<Result<Vec<Value>, _>>()?;
            out.list(&items, || {
                let mut table = Table::new(&[
                    "DELIVERY_ID",
                    "STATUS",
                    "KIND",
                    "TARGET",
                    "ATTEMPTS",
                    "INTENT_ID",
                    "ERROR",
                ]);
                for d in &deliveries {
                    table.row(vec![
                        d.delivery_id.to_string(),
                        d.status.as_str().to_owned(),
                        d.kind.as_str().to_owned(),
                        d.target.clone(),
                        d.attempt.to_string(),
                        d.intent_id.map(|i| i.to_string()).unwrap_or_default(),
                        d.error_detail
                            .as_deref()
                            .map(|e| brief(&Value::String(e.to_owned()), 50))
                            .unwrap_or_default(),
                    ]);
                }
                table
            });
        }
        Command::Get { delivery_id } => {
            let delivery = client.get_delivery(id(&delivery_id)?).await?;
            out.object(&serde_json::to_value(&delivery)?, || pairs(out, &delivery));
        }
        Command::Replay { delivery_id } => {
            let delivery = client.replay_delivery(id(&delivery_id)?).await?;
            out.object(&serde_json::to_value(&delivery)?, || pairs(out, &delivery));
            out.tip(&format!("follow it: axp deliveries get {}", delivery.delivery_id));
        }
    }
    Ok(Exit::Ok)
}
