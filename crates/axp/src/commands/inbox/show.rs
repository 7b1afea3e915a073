//! `axp inbox show <thread_id>`: one thread, its header and its timeline (`GET /v1/inbox/{id}`).

use axp_client::Client;

use super::{Owner, pairs, thread_id, timeline_table, to_json};
use crate::exit::Exit;
use crate::output::Output;

/// `inbox show` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The thread's id (= its intent's id).
    thread_id: String,
    #[command(flatten)]
    owner: Owner,
}

/// Prints the thread.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = thread_id(&args.thread_id)?;
    let thread = client.get_inbox_thread(id, args.owner.get()).await?;
    out.object(&to_json(&thread)?, || pairs(&thread));
    if !out.is_machine() {
        out.line("");
        out.table(&timeline_table(&thread));
    }
    if thread.human_task.is_some() {
        out.tip(&format!(
            "answer: axp tasks approve {id}  |  axp tasks reject {id}  ·  details: axp tasks get {id}"
        ));
    } else {
        out.tip(&format!("reply: axp inbox reply {id} -m \"…\"  ·  history: axp logs {id}"));
    }
    Ok(Exit::Ok)
}
