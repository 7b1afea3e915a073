//! `axp intents send --to agent://… --intent-type … --data-json '{…}'`.

use axp_client::Client;
use serde_json::{Map, Value, json};

use super::WatchFlags;
use crate::commands::{idempotency_key, json_object};
use crate::exit::Exit;
use crate::output::Output;

/// `intents send` options (named as in `axme intents send`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Target agent: `agent://org/workspace/name` (a bare name is taken in your workspace).
    #[arg(long, value_name = "ADDRESS")]
    to: String,
    /// Intent type, e.g. `intent.report.generate.v1`.
    #[arg(long, default_value = "intent.ask.v1")]
    intent_type: String,
    /// Payload fields as a JSON object.
    #[arg(long, value_name = "JSON")]
    data_json: Option<String>,
    /// Sets `payload.service`, as `axme intents send --service` does.
    #[arg(long)]
    service: Option<String>,
    /// Where the completion is delivered (an agent address).
    #[arg(long, value_name = "ADDRESS")]
    reply_to: Option<String>,
    /// Deadline (RFC 3339); after it the intent is TIMED_OUT.
    #[arg(long, value_name = "RFC3339")]
    deadline_at: Option<String>,
    /// Failed deliveries allowed before the intent FAILs.
    #[arg(long, value_name = "N")]
    max_delivery_attempts: Option<u32>,
    /// A human task to open at once, as a JSON object (`{"title": …, "task_type": "approval"}`).
    #[arg(long, value_name = "JSON")]
    human_task_json: Option<String>,
    /// Correlation id (a UUID) to store on the intent; the server generates one when absent.
    #[arg(long, value_name = "UUID")]
    correlation_id: Option<uuid::Uuid>,
    /// Makes the send safe to repeat: the same key and body return the same intent. Default: a
    /// fresh key per run, so the CLI's own retries never create a second intent.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    #[command(flatten)]
    watch: WatchFlags,
}

/// The `POST /v1/intents` body for these options.
fn body(args: &Args) -> anyhow::Result<Value> {
    let mut payload = Map::new();
    if let Some(service) = &args.service {
        payload.insert("service".into(), Value::String(service.clone()));
    }
    if let Some(data) = &args.data_json {
        payload.extend(json_object("--data-json", data)?);
    }
    let mut body = json!({
        "intent_type": args.intent_type,
        "to_agent": args.to.trim(),
        "payload": payload,
    });
    let fields = [
        ("correlation_id", args.correlation_id.map(|id| Value::String(id.to_string()))),
        ("reply_to", args.reply_to.clone().map(Value::String)),
        ("deadline_at", args.deadline_at.clone().map(Value::String)),
        ("max_delivery_attempts", args.max_delivery_attempts.map(Value::from)),
        (
            "human_task",
            args.human_task_json
                .as_deref()
                .map(|t| json_object("--human-task-json", t))
                .transpose()?
                .map(Value::Object),
        ),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            body[key] = value;
        }
    }
    Ok(body)
}

/// Sends the intent.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let body = body(&args)?;
    let key = args.idempotency_key.clone().unwrap_or_else(|| idempotency_key("send"));
    let response = client.create_intent_raw(&body, Some(&key)).await?;
    super::created(client, out, &response, args.watch).await
}
