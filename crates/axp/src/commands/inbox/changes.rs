//! `axp inbox changes [--cursor C] [--limit N] [--all]`: the owner's threads changed after a
//! cursor (`GET /v1/inbox/changes`), the feed a script syncs from. Each change carries its
//! cursor; the page's `next_cursor` is where the next run resumes.

use axp_client::{Client, InboxChanges};

use super::{Owner, status_name};
use crate::exit::Exit;
use crate::output::{Format, Output, Table};

/// `inbox changes` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Resume after this cursor (a `next_cursor` or a change's `cursor`); default: from the
    /// beginning.
    #[arg(long)]
    cursor: Option<String>,
    /// At most this many changes per page (the server allows 1 to 200).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Follow `next_cursor` until no more changes remain, and print them all as one page.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    owner: Owner,
}

/// Prints the changes.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let owner = args.owner.get();
    let mut page = client.list_inbox_changes(args.cursor.as_deref(), Some(args.limit), owner).await?;
    while args.all && page.has_more {
        let next = client.list_inbox_changes(page.next_cursor.as_deref(), Some(args.limit), owner).await?;
        page.changes.extend(next.changes);
        page.next_cursor = next.next_cursor;
        page.has_more = next.has_more;
    }
    print(out, &page)?;
    match (&page.next_cursor, page.has_more) {
        (Some(cursor), true) => out.tip(&format!("more: axp inbox changes --cursor {cursor}")),
        (Some(cursor), false) => {
            out.tip(&format!("up to date; next time: axp inbox changes --cursor {cursor}"))
        }
        (None, _) => out.tip("no changes yet"),
    }
    Ok(Exit::Ok)
}

/// The page as one JSON object (`json`), one change per line (`jsonl`: each carries its
/// cursor), or a table.
fn print(out: &Output, page: &InboxChanges) -> anyhow::Result<()> {
    match out.format {
        Format::Json => out.json(&serde_json::to_value(page)?),
        Format::Jsonl => {
            for change in &page.changes {
                out.json_line(&serde_json::to_value(change)?);
            }
        }
        Format::Table => {
            let mut table = Table::new(&[
                "CURSOR",
                "THREAD_ID",
                "STATUS",
                "UNREAD",
                "LAST_ENTRY",
                "INTENT_TYPE",
                "UPDATED_AT",
            ]);
            for c in &page.changes {
                let t = &c.thread;
                table.row(vec![
                    c.cursor.clone(),
                    t.thread_id.to_string(),
                    status_name(t.status).to_owned(),
                    if t.unread { "*".into() } else { String::new() },
                    t.timeline.last().map(|e| e.event_type.clone()).unwrap_or_default(),
                    t.intent_type.clone(),
                    t.updated_at.to_string(),
                ]);
            }
            out.table(&table);
        }
    }
    Ok(())
}
