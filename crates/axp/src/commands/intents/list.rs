//! `axp intents list [--status S] [--to ADDRESS] [--from ADDRESS] [--intent-type T]
//! [--created-after T] [--created-before T] [--order asc|desc] [--limit N] [--cursor C] [--all]`:
//! one page of `GET /v1/intents`, oldest first unless `--order desc`. It stays a list like
//! `axme intents list`: `-o json` prints the array, `-o jsonl` one intent per line, people a
//! table. When another page follows, the `--cursor` that continues is printed on stderr (in
//! every format); `--all` follows the cursors to the last page.

use axp_client::{Client, Intent, ListIntentsQuery, SortOrder, Status};
use serde_json::Value;

use crate::commands::time_flag;
use crate::exit::{Exit, usage};
use crate::output::{Output, Table};

/// `intents list` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only these statuses (repeat, or comma-separate: `--status WAITING,IN_PROGRESS`).
    #[arg(long, value_delimiter = ',')]
    status: Vec<String>,
    /// Only intents sent to this agent.
    #[arg(long, value_name = "ADDRESS")]
    to: Option<String>,
    /// Only intents sent by this agent.
    #[arg(long, value_name = "ADDRESS")]
    from: Option<String>,
    /// Only intents of this type, e.g. `notify.message.v1`.
    #[arg(long, value_name = "TYPE")]
    intent_type: Option<String>,
    /// Only intents created at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    created_after: Option<String>,
    /// Only intents created at or before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    created_before: Option<String>,
    /// `asc` (oldest first, the default) or `desc` (newest first).
    #[arg(long, value_name = "asc|desc")]
    order: Option<String>,
    /// At most this many per page (the server allows 1 to 500).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Continue after the page that printed this cursor (same filters; its order).
    #[arg(long)]
    cursor: Option<String>,
    /// Follow the cursors to the last page, and print every intent as one list.
    #[arg(long)]
    all: bool,
}

/// Lists intents.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let statuses = args
        .status
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<Status>().map_err(|e| usage(e.to_string())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let order = args
        .order
        .as_deref()
        .map(|o| o.parse::<SortOrder>().map_err(|e| usage(format!("--order: {e}"))))
        .transpose()?;
    let mut query = ListIntentsQuery {
        statuses,
        to_agent: args.to,
        from_agent: args.from,
        intent_type: args.intent_type,
        created_after: time_flag("created-after", args.created_after)?,
        created_before: time_flag("created-before", args.created_before)?,
        order,
        limit: Some(args.limit),
        cursor: args.cursor,
    };
    let mut page = client.list_intents_page(&query).await?;
    while args.all
        && let Some(cursor) = page.next_cursor.take()
    {
        query.cursor = Some(cursor);
        let next = client.list_intents_page(&query).await?;
        page.intents.extend(next.intents);
        page.next_cursor = next.next_cursor;
    }
    print(out, &page.intents);
    if let Some(cursor) = &page.next_cursor {
        out.note(&format!("more intents: axp intents list … --cursor {cursor} (or --all)"));
    }
    Ok(Exit::Ok)
}

/// The intents as a JSON array (`json`), one per line (`jsonl`), or a table.
fn print(out: &Output, intents: &[Intent]) {
    let items: Vec<Value> = intents.iter().map(Intent::to_wire).collect();
    out.list(&items, || {
        let mut table =
            Table::new(&["INTENT_ID", "STATUS", "TYPE", "FROM", "TO", "CREATED_AT"]).status_column(1);
        for i in intents {
            table.row(vec![
                i.intent_id.to_string(),
                i.status.to_string(),
                i.intent_type.clone(),
                i.from_agent.clone(),
                i.to_agent.clone(),
                i.created_at.to_string(),
            ]);
        }
        table
    });
}
