//! `axp inbox delegate <thread_id> --to <address|e-mail> [--note …]`: hands the thread, and the
//! human task it waits on, to someone else (`POST /v1/inbox/{id}/delegate`).

use axp_client::Client;

use super::{Owner, print_thread, thread_id};
use crate::exit::Exit;
use crate::output::Output;

/// `inbox delegate` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The thread's id (= its intent's id).
    thread_id: String,
    /// The delegate: an agent address (a bare name is taken in your workspace) or a person's
    /// e-mail.
    #[arg(long, visible_alias = "delegate-to", value_name = "ADDRESS")]
    to: String,
    /// Why (at most 2000 characters).
    #[arg(long)]
    note: Option<String>,
    #[command(flatten)]
    owner: Owner,
}

/// Delegates and prints the thread.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = thread_id(&args.thread_id)?;
    let thread =
        client.delegate_inbox_thread(id, args.to.trim(), args.note.as_deref(), args.owner.get()).await?;
    print_thread(out, &thread)?;
    out.tip(&format!("delegated to {}  ·  axp inbox show {id}", args.to.trim()));
    Ok(Exit::Ok)
}
