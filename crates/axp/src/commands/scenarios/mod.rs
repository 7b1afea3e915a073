//! `axp scenarios apply|validate <file.json>`: scenario bundles (contract §4.13), applied on the
//! server (`POST /v1/scenarios/apply`), which provisions the agents and starts the intent.

mod apply;
mod validate;

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Provision the bundle's agents and start its intent; `--watch` follows it to the end.
    Apply(apply::Args),
    /// Check a bundle without applying it; exit code 1 when it has errors.
    Validate(validate::Args),
}

/// Runs one `scenarios` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::Apply(args) => apply::run(&client, out, args).await,
        Command::Validate(args) => validate::run(&client, out, args).await,
    }
}
