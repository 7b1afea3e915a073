//! `axp archive read FILE --intent ID`: finds an intent in an archive file written by the
//! pruner (`AXP_ARCHIVE_DIR`, `docs/retention.md`). Local: it reads the file, no server.

use std::path::PathBuf;

use anyhow::Context as _;
use axp_engine::retention::find;
use serde_json::Value;

use crate::commands::intent_id;
use crate::exit::Exit;
use crate::output::{Output, Table};

/// `archive` verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print an archived intent: the intent as it finished, its events and its deliveries.
    Read(ReadArgs),
}

/// `archive read` options.
#[derive(clap::Args, Debug)]
pub struct ReadArgs {
    /// An archive file (`intents-YYYY-MM-DD.jsonl.gz`, or plain JSON lines).
    file: PathBuf,
    /// The intent's id.
    #[arg(long)]
    intent: String,
}

/// Runs an `archive` verb. Exit 1 when the intent is not in the file.
pub fn run(out: &Output, command: Command) -> anyhow::Result<Exit> {
    let Command::Read(args) = command;
    let id = intent_id(&args.intent)?;
    let record = find(&args.file, id)
        .with_context(|| format!("reading {}", args.file.display()))?
        .with_context(|| format!("intent {id} is not in {}", args.file.display()))?;
    let value = serde_json::to_value(&record)?;
    if out.is_machine() {
        out.json(&value);
        return Ok(Exit::Ok);
    }
    let intent = &record.intent;
    out.line(&format!(
        "intent {id}  {}  {} -> {}  {}  finished {}  archived {}",
        intent.status,
        intent.from_agent,
        intent.to_agent,
        intent.intent_type,
        intent.updated_at,
        record.archived_at
    ));
    let mut table = Table::new(&["SEQ", "AT", "STATUS", "EVENT", "ACTOR"]).status_column(2);
    for e in &record.events {
        table.row(vec![
            e.seq.to_string(),
            e.at.to_string(),
            e.status.to_string(),
            e.event_type.to_string(),
            e.actor.clone(),
        ]);
    }
    out.table(&table);
    if !record.deliveries.is_empty() {
        out.line(&format!("{} deliveries (use -o json for them)", record.deliveries.len()));
    }
    if let Some(result) = intent.result.as_ref().filter(|r| !matches!(r, Value::Null)) {
        out.line(&format!("result: {result}"));
    }
    Ok(Exit::Ok)
}
