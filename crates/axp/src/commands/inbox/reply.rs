//! `axp inbox reply <thread_id> -m "…"`: posts a message (`POST /v1/inbox/{id}/reply`).

use axp_client::{Client, Thread};

use super::{Owner, thread_id, to_json};
use crate::exit::{Exit, usage};
use crate::output::Output;

/// `inbox reply` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The thread's id (= its intent's id).
    thread_id: String,
    /// The message (1 to 5000 characters).
    #[arg(short = 'm', long)]
    message: String,
    #[command(flatten)]
    owner: Owner,
}

/// The `message_id` of the newest reply `owner` posted in `thread`.
fn my_last_message(thread: &Thread) -> Option<String> {
    thread
        .timeline
        .iter()
        .rev()
        .find(|e| e.event_type == "reply" && e.actor == thread.owner_agent)
        .and_then(|e| e.details.get("message_id"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// Posts the reply: the thread in JSON modes, the new message's id for people.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = thread_id(&args.thread_id)?;
    if args.message.trim().is_empty() {
        return Err(usage("--message must not be empty"));
    }
    let thread = client.reply_inbox_thread(id, &args.message, args.owner.get()).await?;
    if out.is_machine() {
        out.json(&to_json(&thread)?);
    } else {
        out.line(&my_last_message(&thread).unwrap_or_default());
        out.tip(&format!("see the thread: axp inbox show {id}"));
    }
    Ok(Exit::Ok)
}
