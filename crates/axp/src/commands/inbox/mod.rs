//! `axp inbox <verb>`: threads (one per intent) as an owner sees them, their timelines, and the
//! owner's actions on them (contract §5.1). Every verb acts for `--owner-agent`, default the
//! key's own agent.

mod changes;
mod delegate;
mod list;
mod read;
mod reply;
mod show;

use axp_client::{IntentId, Thread, ThreadStatus, TimelineEntry};
use serde_json::Value;

use crate::cli::Global;
use crate::commands::brief;
use crate::exit::{Exit, usage};
use crate::output::{Output, Table};

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List the owner's threads, most recently changed first.
    #[command(visible_alias = "ls")]
    List(list::Args),
    /// Show one thread and its timeline.
    Show(show::Args),
    /// Threads changed since a cursor (the sync feed); prints where to resume.
    Changes(changes::Args),
    /// Post a message to a thread; prints the message id.
    Reply(reply::Args),
    /// Hand a thread (and its open human task) to another agent or person.
    Delegate(delegate::Args),
    /// Mark a thread read.
    Read(read::Args),
}

/// Runs one `inbox` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::List(args) => list::run(&client, out, args).await,
        Command::Show(args) => show::run(&client, out, args).await,
        Command::Changes(args) => changes::run(&client, out, args).await,
        Command::Reply(args) => reply::run(&client, out, args).await,
        Command::Delegate(args) => delegate::run(&client, out, args).await,
        Command::Read(args) => read::run(&client, out, args).await,
    }
}

/// `--owner-agent`: whose inbox (contract §1.2).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Owner {
    /// Act for this owner (an agent address, or a person's e-mail); default the key's own agent.
    #[arg(long, value_name = "ADDRESS")]
    pub owner_agent: Option<String>,
}

impl Owner {
    /// The owner to send, if one was given.
    pub fn get(&self) -> Option<&str> {
        self.owner_agent.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}

/// Parses a thread id argument (a thread's id is its intent's id).
pub fn thread_id(raw: &str) -> anyhow::Result<IntentId> {
    raw.trim().parse().map_err(|_| usage(format!("{raw:?} is not a thread id (a UUID: the intent's id)")))
}

/// `pending`, `active` or `done`.
pub fn status_name(status: ThreadStatus) -> &'static str {
    match status {
        ThreadStatus::Pending => "pending",
        ThreadStatus::Active => "active",
        ThreadStatus::Done => "done",
    }
}

/// The thread as one JSON value (what the server sent).
pub fn to_json(thread: &Thread) -> anyhow::Result<Value> {
    Ok(serde_json::to_value(thread)?)
}

/// Key/value pairs of a thread's header, for people.
pub fn pairs(thread: &Thread) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("thread_id".to_owned(), thread.thread_id.to_string()),
        ("status".to_owned(), status_name(thread.status).to_owned()),
        ("unread".to_owned(), thread.unread.to_string()),
        ("intent_type".to_owned(), thread.intent_type.clone()),
        ("from_agent".to_owned(), thread.from_agent.clone()),
        ("to_agent".to_owned(), thread.to_agent.clone()),
        ("owner_agent".to_owned(), thread.owner_agent.clone()),
        ("updated_at".to_owned(), thread.updated_at.to_string()),
    ];
    if let Some(at) = thread.last_message_at {
        pairs.push(("last_message_at".into(), at.to_string()));
    }
    if let Some(p) = &thread.pending_with {
        let who =
            if p.reference == p.kind { p.kind.clone() } else { format!("{} ({})", p.reference, p.kind) };
        pairs.push(("pending_with".into(), who));
    }
    if let Some(task) = &thread.human_task {
        let field = |k: &str| task.get(k).map(|v| brief(v, 80)).unwrap_or_default();
        pairs.push(("human_task".into(), format!("{} ({})", field("title"), field("task_type"))));
    }
    pairs
}

/// What matters about a timeline entry, in a few words.
pub fn entry_summary(entry: &TimelineEntry) -> String {
    let detail = |k: &str| entry.details.get(k).filter(|v| !v.is_null()).map(|v| brief(v, 70));
    let summary = match entry.event_type.as_str() {
        "reply" => detail("message"),
        "delegated" => detail("delegate_to").map(|to| match detail("note") {
            Some(note) => format!("→ {to}: {note}"),
            None => format!("→ {to}"),
        }),
        "approved" | "rejected" => detail("comment"),
        "intent_completion_delivered" => {
            entry.details.get("completion").and_then(|c| c.get("status")).map(|s| brief(s, 30))
        }
        t if t.starts_with("lifecycle.") => detail("status"),
        _ => None,
    };
    summary.unwrap_or_default()
}

/// The timeline as a table, oldest entry first.
pub fn timeline_table(thread: &Thread) -> Table {
    let mut table = Table::new(&["AT", "ENTRY", "ACTOR", "DETAILS"]);
    for entry in &thread.timeline {
        table.row(vec![
            entry.at.to_string(),
            entry.event_type.clone(),
            entry.actor.clone(),
            entry_summary(entry),
        ]);
    }
    table
}

/// A one-line table of threads.
pub fn threads_table(threads: &[&Thread]) -> Table {
    let mut table = Table::new(&[
        "THREAD_ID",
        "STATUS",
        "UNREAD",
        "INTENT_TYPE",
        "FROM",
        "TO",
        "LAST_ENTRY",
        "UPDATED_AT",
    ]);
    for t in threads {
        table.row(vec![
            t.thread_id.to_string(),
            status_name(t.status).to_owned(),
            if t.unread { "*".into() } else { String::new() },
            t.intent_type.clone(),
            t.from_agent.clone(),
            t.to_agent.clone(),
            t.timeline.last().map(|e| e.event_type.clone()).unwrap_or_default(),
            t.updated_at.to_string(),
        ]);
    }
    table
}

/// Prints a thread after an action: the thread in JSON modes, its header for people.
pub fn print_thread(out: &Output, thread: &Thread) -> anyhow::Result<()> {
    out.object(&to_json(thread)?, || pairs(thread));
    Ok(())
}

#[cfg(test)]
mod tests {
    use axp_client::axp_core::Timestamp;
    use serde_json::{Map, json};

    use super::*;

    fn entry(event_type: &str, details: Value) -> TimelineEntry {
        let Value::Object(details) = details else { panic!("details must be an object") };
        TimelineEntry {
            event_id: uuid::Uuid::new_v4(),
            event_type: event_type.into(),
            actor: "agent://o/w/me".into(),
            at: Timestamp::from_millis(0),
            details,
        }
    }

    #[test]
    fn entries_are_summarised_by_kind() {
        assert_eq!(entry_summary(&entry("reply", json!({"message": "hi", "message_id": "m"}))), "hi");
        assert_eq!(entry_summary(&entry("delegated", json!({"delegate_to": "a", "note": null}))), "→ a");
        assert_eq!(entry_summary(&entry("delegated", json!({"delegate_to": "a", "note": "n"}))), "→ a: n");
        assert_eq!(entry_summary(&entry("approved", json!({"comment": "ok"}))), "ok");
        assert_eq!(
            entry_summary(&entry("lifecycle.intent.completed", json!({"seq": 5, "status": "COMPLETED"}))),
            "COMPLETED"
        );
        assert_eq!(
            entry_summary(&entry("intent_completion_delivered", json!({"completion": {"status": "FAILED"}}))),
            "FAILED"
        );
        assert_eq!(entry_summary(&entry("read", Value::Object(Map::new()))), "");
    }

    #[test]
    fn thread_ids_are_uuids() {
        assert!(thread_id("nope").is_err());
        assert!(thread_id(" 0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e ").is_ok());
        assert_eq!(Owner { owner_agent: Some("  ".into()) }.get(), None);
    }
}
