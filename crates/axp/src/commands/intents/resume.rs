//! `axp intents resume <id> [--reason …] [--data-json '{…}']`.
//!
//! Unlike `axme intents resume` (which re-submits the payload as a new intent), this calls the
//! server's real resume: `POST /v1/intents/{id}/resume` (contract §4.7).

use axp_client::Client;
use serde_json::{Value, json};

use super::cancel::print_mutation;
use crate::commands::{intent_id, json_object};
use crate::exit::Exit;
use crate::output::Output;

/// `intents resume` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The intent's id.
    intent_id: String,
    /// Why; recorded in the audit trail.
    #[arg(long)]
    reason: Option<String>,
    /// Report a step result instead of only continuing, e.g. `{"action":"complete","report_url":"…"}`
    /// (the agent side of a delivery).
    #[arg(long, value_name = "JSON")]
    data_json: Option<String>,
}

/// Resumes the intent.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = intent_id(&args.intent_id)?;
    let mut body = match &args.data_json {
        Some(data) => Value::Object(json_object("--data-json", data)?),
        None => json!({"approve_current_step": true}),
    };
    if let Some(reason) = args.reason {
        body["reason"] = Value::String(reason);
    }
    let response = client.resume(id, &body).await?;
    print_mutation(out, &response)?;
    Ok(Exit::Ok)
}
