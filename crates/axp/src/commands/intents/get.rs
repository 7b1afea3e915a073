//! `axp intents get <id>`.

use axp_client::Client;
use serde_json::Value;

use crate::commands::{brief, intent_id};
use crate::exit::Exit;
use crate::output::Output;

/// `intents get` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The intent's id.
    intent_id: String,
}

/// The fields people look at first, in order; absent and null ones are skipped.
const FIELDS: [&str; 16] = [
    "intent_id",
    "status",
    "waiting_reason",
    "intent_type",
    "from_agent",
    "to_agent",
    "reply_to",
    "created_at",
    "updated_at",
    "deadline_at",
    "delivery_attempt",
    "scenario_id",
    "step_id",
    "last_seq",
    "result",
    "error",
];

/// Key/value pairs for a wire intent object.
pub fn pairs(intent: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = FIELDS
        .iter()
        .filter_map(|k| intent.get(*k).filter(|v| !v.is_null()).map(|v| ((*k).to_owned(), brief(v, 100))))
        .collect();
    if let Some(p) = intent.get("pending_with").filter(|p| p.is_object()) {
        let who = p.get("name").or_else(|| p.get("ref")).map(|v| brief(v, 60)).unwrap_or_default();
        let kind = p.get("type").map(|v| brief(v, 20)).unwrap_or_default();
        pairs.push(("pending_with".into(), format!("{who} ({kind})")));
    }
    if let Some(task) = intent.get("human_task").filter(|t| t.is_object()) {
        let title = task.get("title").map(|v| brief(v, 80)).unwrap_or_default();
        let kind = task.get("task_type").map(|v| brief(v, 30)).unwrap_or_default();
        pairs.push(("human_task".into(), format!("{title} ({kind})")));
    }
    if let Some(payload) = intent.get("payload") {
        pairs.push(("payload".into(), brief(payload, 100)));
    }
    pairs
}

/// Prints the intent.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = intent_id(&args.intent_id)?;
    let body = client.get_intent_raw(id).await?;
    let intent = body.get("intent").cloned().unwrap_or(Value::Null);
    out.object(&intent, || pairs(&intent));
    out.tip(&format!("history: axp logs {id}  ·  live: axp intents watch {id}"));
    Ok(Exit::Ok)
}
