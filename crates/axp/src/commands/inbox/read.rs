//! `axp inbox read <thread_id>`: marks the thread read for the owner (`POST /v1/inbox/{id}/read`).

use axp_client::Client;

use super::{Owner, print_thread, thread_id};
use crate::exit::Exit;
use crate::output::Output;

/// `inbox read` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The thread's id (= its intent's id).
    thread_id: String,
    #[command(flatten)]
    owner: Owner,
}

/// Marks it read and prints the thread.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = thread_id(&args.thread_id)?;
    let thread = client.mark_inbox_thread_read(id, args.owner.get()).await?;
    print_thread(out, &thread)?;
    Ok(Exit::Ok)
}
