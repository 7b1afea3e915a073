//! `axp inbox list [--status pending|active|done]`: the owner's threads, most recently changed
//! first (`GET /v1/inbox`).

use axp_client::{Client, ThreadStatus};
use serde_json::Value;

use super::{Owner, threads_table, to_json};
use crate::exit::Exit;
use crate::output::Output;

/// `inbox list` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only threads in this state.
    #[arg(long, value_parser = ["pending", "active", "done"])]
    status: Option<String>,
    /// At most this many (the server allows 1 to 200).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    #[command(flatten)]
    owner: Owner,
}

/// Lists threads.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let status = args.status.as_deref().and_then(ThreadStatus::parse);
    let threads = client.list_inbox(status, Some(args.limit), args.owner.get()).await?;
    let items = threads.iter().map(to_json).collect::<anyhow::Result<Vec<Value>>>()?;
    out.list(&items, || threads_table(&threads.iter().collect::<Vec<_>>()));
    match threads.first() {
        None => out.tip("no threads"),
        Some(t) => out.tip(&format!("open one: axp inbox show {}", t.thread_id)),
    }
    Ok(Exit::Ok)
}
