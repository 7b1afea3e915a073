//! `axp tasks <verb>`: human tasks (contract §4.9). `list` reads `GET /v1/me/tasks`;
//! `approve|reject` answer through the inbox (`POST /v1/inbox/{id}/approve|reject`, the task
//! type's outcome); `confirm|complete|submit` send a `task_result` with
//! `POST /v1/intents/{id}/resume` (§4.7), as `axme tasks` does.

mod approve;
mod decide;
mod get;
mod list;

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List your open human tasks (intents WAITING_FOR_HUMAN assigned to, pending with, or sent
    /// by the key's agent).
    #[command(visible_alias = "ls")]
    List(list::Args),
    /// Show a task (the intent and its human task) and how to answer it.
    Get(get::Args),
    /// Approve through the inbox: the task type's affirmative outcome (`approved`, …).
    Approve(approve::Args),
    /// Reject through the inbox: the task's negative outcome (`rejected`, …).
    Reject(approve::Args),
    /// Confirm: task_result outcome `confirmed`.
    Confirm(decide::Args),
    /// Complete a manual action: task_result outcome `completed`.
    Complete(decide::Args),
    /// Answer with any outcome and data (for custom `allowed_outcomes` and forms).
    Submit(decide::SubmitArgs),
}

/// Runs one `tasks` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::List(args) => list::run(&client, out, args).await,
        Command::Get(args) => get::run(&client, out, args).await,
        Command::Approve(args) => approve::run(&client, out, true, args).await,
        Command::Reject(args) => approve::run(&client, out, false, args).await,
        Command::Confirm(args) => decide::run(&client, out, "confirmed", args).await,
        Command::Complete(args) => decide::run(&client, out, "completed", args).await,
        Command::Submit(args) => decide::submit(&client, out, args).await,
    }
}
