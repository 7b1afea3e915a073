//! `axp tasks confirm|complete <id>` and `axp tasks submit <id> --outcome …`: a `task_result`
//! sent with `POST /v1/intents/{id}/resume`.

use axp_client::Client;
use serde_json::{Map, Value};

use crate::commands::intents::print_mutation;
use crate::commands::{intent_id, json_object, key_values};
use crate::exit::Exit;
use crate::output::Output;

/// Options of the fixed-outcome verbs.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The intent waiting for a person.
    intent_id: String,
    /// A comment (required by tasks with `required_comment`).
    #[arg(short = 'c', long)]
    comment: Option<String>,
    /// Extra task_result fields, `key=value` (repeatable); they go at the top level, where form
    /// validation looks for them.
    #[arg(long, value_name = "KEY=VALUE")]
    data: Vec<String>,
}

/// Options of `submit`.
#[derive(clap::Args, Debug)]
pub struct SubmitArgs {
    /// The intent waiting for a person.
    intent_id: String,
    /// The outcome, e.g. `changes_requested`; must be one of the task's allowed outcomes.
    #[arg(long)]
    outcome: String,
    /// A comment.
    #[arg(short = 'c', long)]
    comment: Option<String>,
    /// Extra task_result fields, `key=value` (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    data: Vec<String>,
    /// Extra task_result fields as a JSON object (merged after --data).
    #[arg(long, value_name = "JSON")]
    data_json: Option<String>,
}

async fn send(
    client: &Client,
    out: &Output,
    raw_id: &str,
    outcome: &str,
    comment: Option<String>,
    extra: Map<String, Value>,
) -> anyhow::Result<Exit> {
    let id = intent_id(raw_id)?;
    let mut task_result = Map::new();
    task_result.extend(extra);
    task_result.insert("outcome".into(), Value::String(outcome.to_owned()));
    if let Some(comment) = comment {
        task_result.insert("comment".into(), Value::String(comment));
    }
    let response = client.submit_task_result(id, &Value::Object(task_result)).await?;
    print_mutation(out, &response)?;
    out.tip(&format!("task answered ({outcome})  ·  follow it: axp intents watch {id}"));
    Ok(Exit::Ok)
}

/// Answers with a fixed outcome.
pub async fn run(client: &Client, out: &Output, outcome: &str, args: Args) -> anyhow::Result<Exit> {
    let extra = key_values("--data", &args.data)?;
    send(client, out, &args.intent_id, outcome, args.comment, extra).await
}

/// Answers with the given outcome.
pub async fn submit(client: &Client, out: &Output, args: SubmitArgs) -> anyhow::Result<Exit> {
    let mut extra = key_values("--data", &args.data)?;
    if let Some(json) = &args.data_json {
        extra.extend(json_object("--data-json", json)?);
    }
    send(client, out, &args.intent_id, &args.outcome, args.comment, extra).await
}
