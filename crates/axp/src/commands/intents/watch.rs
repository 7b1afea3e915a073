//! `axp intents watch <id> [--since N] [--timeout SECONDS]`.

use std::time::Duration;

use axp_client::Client;

use crate::commands::intent_id;
use crate::exit::Exit;
use crate::output::Output;

/// `intents watch` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The intent's id.
    intent_id: String,
    /// Start after this event seq (exclusive; 0 shows the whole history first).
    #[arg(long, default_value_t = 0)]
    since: u64,
    /// Stop waiting after this many seconds (exit code 6); the intent itself goes on.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
}

/// Follows the intent to its end.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = intent_id(&args.intent_id)?;
    let watched =
        crate::watch::watch(client, out, id, args.since, args.timeout.map(Duration::from_secs)).await?;
    Ok(watched.exit)
}
