//! `axp agents <verb>`: agents are service accounts with an `agent://` address (contract §4.12,
//! §6 "Service accounts").

mod binding;
mod keys;
mod list;
mod register;
mod set_delivery;
mod show;

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List the workspace's agents, with their delivery binding and connection state.
    #[command(visible_alias = "ls")]
    List(list::Args),
    /// Show one agent's registry record.
    Show(show::Args),
    /// Register a new agent (a service account with its own address and delivery binding).
    Register(register::Args),
    /// Change how intents reach an agent (stream, poll, http, inbox, internal).
    SetDelivery(set_delivery::Args),
    /// Create and revoke an agent's API keys.
    #[command(subcommand)]
    Keys(keys::Command),
}

/// Runs one `agents` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::List(args) => list::run(&client, out, args).await,
        Command::Show(args) => show::run(&client, out, args).await,
        Command::SetDelivery(args) => set_delivery::run(&client, out, args).await,
        Command::Register(args) => register::run(&client, out, args).await,
        Command::Keys(command) => keys::run(&client, out, command).await,
    }
}
