//! `axp audit [--action A] [--actor ID] [--target ID] [--workspace ID] [--since T] [--until T]
//! [--limit N] [--cursor C] [--all]`: the organization's audit log (`GET /v1/audit`), newest
//! first, for keys with the `org_owner`, `org_admin` or `security_auditor` role. Like
//! `inbox changes` it is paged: `-o json` prints the page object (`{entries, next_cursor}`), so
//! the cursor is on stdout; `-o jsonl` one entry per line; people get a table and, on stderr,
//! the `--cursor` that continues with older entries.

use axp_client::{AuditQuery, Client, ListAuditResponse};
use serde_json::Value;

use crate::cli::Global;
use crate::commands::{brief, time_flag};
use crate::exit::{Exit, usage};
use crate::output::{Format, Output, Table};

/// `audit` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this action, e.g. `api_key.created`, `member.updated`, `human_task.decided`.
    #[arg(long)]
    action: Option<String>,
    /// Only what this actor did (a service account or user id).
    #[arg(long, value_name = "ACTOR_ID")]
    actor: Option<String>,
    /// Only what was done to this target (a key, service account, member or intent id).
    #[arg(long, value_name = "TARGET_ID")]
    target: Option<String>,
    /// Only this workspace's entries (an org admin reads every workspace of its organization).
    #[arg(long, value_name = "WORKSPACE_ID")]
    workspace: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only entries before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// At most this many entries per page (the server allows 1 to 500).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Continue with the entries older than a page's `next_cursor`.
    #[arg(long)]
    cursor: Option<String>,
    /// Follow `next_cursor` to the oldest entry, and print them all as one page.
    #[arg(long)]
    all: bool,
}

/// Prints the log.
pub async fn run(global: &Global, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let client: Client = super::target(global)?.client()?;
    let workspace_id = args
        .workspace
        .map(|w| {
            w.trim().parse().map_err(|_| usage(format!("--workspace {w:?} is not a workspace id (a UUID)")))
        })
        .transpose()?;
    let mut query = AuditQuery {
        action: args.action,
        actor_id: args.actor,
        target_id: args.target,
        workspace_id,
        since: time_flag("since", args.since)?,
        until: time_flag("until", args.until)?,
        limit: Some(args.limit),
        cursor: args.cursor,
    };
    let mut page = client.list_audit(&query).await?;
    while args.all
        && let Some(cursor) = page.next_cursor.take()
    {
        query.cursor = Some(cursor);
        let next = client.list_audit(&query).await?;
        page.entries.extend(next.entries);
        page.next_cursor = next.next_cursor;
    }
    print(out, &page)?;
    match &page.next_cursor {
        Some(cursor) => out.tip(&format!("older entries: axp audit --cursor {cursor}")),
        None if page.entries.is_empty() => out.tip("no entries"),
        None => {}
    }
    Ok(Exit::Ok)
}

/// The page as one JSON object (`json`), one entry per line (`jsonl`), or a table.
fn print(out: &Output, page: &ListAuditResponse) -> anyhow::Result<()> {
    match out.format {
        Format::Json => out.json(&serde_json::to_value(page)?),
        Format::Jsonl => {
            for entry in &page.entries {
                out.json_line(&serde_json::to_value(entry)?);
            }
        }
        Format::Table => {
            let mut table =
                Table::new(&["AT", "ACTION", "ACTOR", "TARGET", "WORKSPACE_ID", "TRACE_ID", "DETAILS"]);
            for e in &page.entries {
                table.row(vec![
                    e.created_at.to_string(),
                    e.action.clone(),
                    format!("{}:{}", e.actor.kind.as_str(), e.actor.id),
                    format!("{}:{}", e.target.kind, e.target.id),
                    e.workspace_id.map(|w| w.to_string()).unwrap_or_else(|| "(organization)".into()),
                    e.trace_id.clone().unwrap_or_default(),
                    brief(&Value::Object(e.details.clone()), 60),
                ]);
            }
            out.table(&table);
        }
    }
    Ok(())
}
