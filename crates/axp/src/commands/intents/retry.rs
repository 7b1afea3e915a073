//! `axp intents retry <id>`: as `axme intents retry`, a new intent with the original's type,
//! target, payload, reply-to, delivery limit and human task (not its deadline, which may have
//! passed).

use axp_client::Client;
use serde_json::{Value, json};

use super::WatchFlags;
use crate::commands::{idempotency_key, intent_id};
use crate::exit::Exit;
use crate::output::Output;

/// `intents retry` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The intent to copy.
    intent_id: String,
    #[command(flatten)]
    watch: WatchFlags,
}

/// Sends the copy.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = intent_id(&args.intent_id)?;
    let original = client.get_intent(id).await?;
    let mut body = json!({
        "intent_type": original.intent_type,
        "to_agent": original.to_agent,
        "payload": original.payload,
        "correlation_id": uuid::Uuid::new_v4(),
    });
    if let Some(reply_to) = original.reply_to {
        body["reply_to"] = Value::String(reply_to);
    }
    if let Some(n) = original.max_delivery_attempts {
        body["max_delivery_attempts"] = Value::from(n);
    }
    if let Some(task) = original.human_task {
        body["human_task"] = Value::Object(task);
    }
    let response = client.create_intent_raw(&body, Some(&idempotency_key("retry"))).await?;
    out.tip(&format!("retry of {id}"));
    super::created(client, out, &response, args.watch).await
}
