//! `axp tasks get <id>`: the intent and its human task, with the commands that answer it.

use axp_client::Client;
use serde_json::Value;

use crate::commands::intents::intent_pairs;
use crate::commands::{brief, intent_id};
use crate::exit::Exit;
use crate::output::Output;

/// `tasks get` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The intent's id.
    intent_id: String,
}

/// Prints the task.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = intent_id(&args.intent_id)?;
    let body = client.get_intent_raw(id).await?;
    let intent = body.get("intent").cloned().unwrap_or(Value::Null);
    let task = intent.get("human_task").cloned().unwrap_or(Value::Null);
    out.object(&intent, || {
        let mut pairs = intent_pairs(&intent);
        for key in ["description", "allowed_outcomes", "assignees", "required_comment"] {
            if let Some(v) = task.get(key).filter(|v| !v.is_null()) {
                pairs.push((format!("task.{key}"), brief(v, 100)));
            }
        }
        pairs
    });
    if task.is_null() {
        out.tip("this intent has no human task");
        return Ok(Exit::Ok);
    }
    if intent.get("waiting_reason").and_then(Value::as_str) != Some("WAITING_FOR_HUMAN") {
        let status = intent.get("status").and_then(Value::as_str).unwrap_or("?");
        out.tip(&format!("nothing to answer now: the intent is {status}"));
        return Ok(Exit::Ok);
    }
    let hint = match task.get("task_type").and_then(Value::as_str).unwrap_or("approval") {
        "confirmation" => format!("answer: axp tasks confirm {id}  |  axp tasks reject {id}"),
        "manual_action" => {
            format!("answer: axp tasks complete {id}  |  axp tasks submit {id} --outcome failed")
        }
        "review" => format!(
            "answer: axp tasks approve {id}  |  axp tasks submit {id} --outcome changes_requested -c …  |  axp tasks reject {id}"
        ),
        _ => format!(
            "answer: axp tasks approve {id}  |  axp tasks reject {id}  |  axp tasks submit {id} --outcome …"
        ),
    };
    out.tip(&hint);
    Ok(Exit::Ok)
}
