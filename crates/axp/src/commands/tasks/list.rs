//! `axp tasks list`: the open human tasks of the key's agent, from `GET /v1/me/tasks` (as
//! `axme tasks list`): intents WAITING_FOR_HUMAN whose assignees or `pending_with` name the
//! agent, or that it sent. `--owner-agent` lists another owner's (a person's e-mail, an inbox
//! agent).

use axp_client::{Client, OpenTask};
use serde_json::Value;

use crate::commands::brief;
use crate::commands::inbox::Owner;
use crate::exit::Exit;
use crate::output::{Output, Table};

/// `tasks list` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// At most this many (the server allows 1 to 500).
    #[arg(long, default_value_t = 100)]
    limit: u32,
    #[command(flatten)]
    owner: Owner,
}

fn task_field(task: &OpenTask, key: &str) -> String {
    task.human_task
        .as_ref()
        .and_then(|t| t.get(key))
        .filter(|v| !v.is_null())
        .map(|v| brief(v, 50))
        .unwrap_or_default()
}

/// Lists open human tasks.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let tasks = client.list_my_tasks(Some(args.limit), args.owner.get()).await?;
    let items = tasks.iter().map(serde_json::to_value).collect::<Result<Vec<Value>, _>>()?;
    out.list(&items, || {
        let mut table = Table::new(&[
            "INTENT_ID",
            "TITLE",
            "TASK_TYPE",
            "PENDING_WITH",
            "FROM",
            "INTENT_TYPE",
            "ASSIGNED_AT",
            "DUE_AT",
        ]);
        for t in &tasks {
            let pending = match (&t.pending_with, task_field(t, "assignees")) {
                (_, assignees) if !assignees.is_empty() => assignees,
                (Some(p), _) => p.reference.clone(),
                (None, _) => String::new(),
            };
            table.row(vec![
                t.intent_id.to_string(),
                task_field(t, "title"),
                task_field(t, "task_type"),
                pending,
                t.from_agent.clone(),
                t.intent_type.clone(),
                t.assigned_at.map(|a| a.to_string()).unwrap_or_default(),
                t.due_at.map(|d| d.to_string()).unwrap_or_default(),
            ]);
        }
        table
    });
    if tasks.is_empty() {
        out.tip("no open human tasks");
    } else {
        out.tip(
            "answer one: axp tasks approve|reject|submit <intent_id>  ·  details: axp tasks get <intent_id>",
        );
    }
    Ok(Exit::Ok)
}
