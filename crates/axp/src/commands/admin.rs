//! `axp admin stats`: what the server's store holds (`GET /v1/admin/stats`), for its operator.
//! The server and key are found like every client command's.

use serde_json::json;

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::{Output, Table};

/// `axp admin <verb>`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Rows per table, database and WAL sizes, the oldest unfinished intent and the dead-letter
    /// count, across the whole server.
    Stats,
}

/// Runs an `admin` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Stats => stats(global, out).await,
    }
}

async fn stats(global: &Global, out: &Output) -> anyhow::Result<Exit> {
    let stats = super::target(global)?.client()?.admin_stats().await?;
    let mut value = serde_json::to_value(&stats)?;
    value["ok"] = json!(true);
    out.object(&value, || {
        vec![
            ("backend".into(), stats.backend.clone()),
            ("schema_version".into(), stats.schema_version.to_string()),
            ("database_bytes".into(), stats.database_bytes.to_string()),
            ("wal_bytes".into(), stats.wal_bytes.map_or_else(|| "-".into(), |b| b.to_string())),
            (
                "oldest_unfinished_intent".into(),
                stats.oldest_unfinished_intent_at.map_or_else(|| "(none)".into(), |t| t.to_string()),
            ),
            ("dead_letters".into(), stats.dead_letters.to_string()),
        ]
    });
    if !out.is_machine() {
        let mut table = Table::new(&["table", "rows"]);
        for (name, rows) in &stats.tables {
            table.row(vec![name.clone(), rows.to_string()]);
        }
        out.table(&table);
    }
    Ok(Exit::Ok)
}
