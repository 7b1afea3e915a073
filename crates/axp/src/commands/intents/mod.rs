//! `axp intents <verb>`: the `axme intents` verbs, plus `send`.

mod bulk_cancel;
mod cancel;
mod get;
mod list;
mod resume;
mod retry;
mod send;
mod watch;

use std::time::Duration;

use axp_client::{Client, CreateIntentResponse};
use serde_json::Value;

pub use cancel::print_mutation;
pub use get::pairs as intent_pairs;

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Send an intent to an agent (POST /v1/intents); prints its id.
    Send(send::Args),
    /// Show one intent.
    Get(get::Args),
    /// List intents, filtered by status, agents, type and creation time, a page at a time.
    #[command(visible_alias = "ls")]
    List(list::Args),
    /// Follow an intent's lifecycle live until it ends; the exit code tells how it ended.
    Watch(watch::Args),
    /// Cancel an intent (resolve with status CANCELED).
    Cancel(cancel::Args),
    /// Resume a blocked intent (POST /v1/intents/{id}/resume).
    Resume(resume::Args),
    /// Send a new intent with the same type, target and payload as an earlier one.
    Retry(retry::Args),
    /// Cancel the workspace's old open intents in one go (or preview with --dry-run).
    BulkCancel(bulk_cancel::Args),
}

/// Runs one `intents` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::Send(args) => send::run(&client, out, args).await,
        Command::Get(args) => get::run(&client, out, args).await,
        Command::List(args) => list::run(&client, out, args).await,
        Command::Watch(args) => watch::run(&client, out, args).await,
        Command::Cancel(args) => cancel::run(&client, out, args).await,
        Command::Resume(args) => resume::run(&client, out, args).await,
        Command::Retry(args) => retry::run(&client, out, args).await,
        Command::BulkCancel(args) => bulk_cancel::run(&client, out, args).await,
    }
}

/// `--watch` / `--timeout` of the commands that create an intent.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct WatchFlags {
    /// Follow the new intent live until it ends; the exit code tells how it ended.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// With --watch: stop waiting after this many seconds (exit code 6).
    #[arg(long, value_name = "SECONDS", requires = "watch")]
    pub timeout: Option<u64>,
}

/// Reports a created intent (the id on stdout for people, the response in JSON modes), then
/// watches it when asked.
pub async fn created(
    client: &Client,
    out: &Output,
    response: &Value,
    flags: WatchFlags,
) -> anyhow::Result<Exit> {
    let created: CreateIntentResponse = serde_json::from_value(response.clone())?;
    let id = created.intent_id;
    if flags.watch {
        if out.is_machine() {
            out.json_line(response);
        } else {
            out.note(&format!("intent {id} {}", created.status));
        }
        let watched = crate::watch::watch(client, out, id, 0, flags.timeout.map(Duration::from_secs)).await?;
        return Ok(watched.exit);
    }
    if out.is_machine() {
        out.json(response);
    } else {
        out.line(&id.to_string());
        out.tip(&format!("status: {}  ·  follow it: axp intents watch {id}", created.status));
    }
    Ok(Exit::Ok)
}
