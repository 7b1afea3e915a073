//! `axp intents bulk-cancel --older-than-hours N [--status S] [--limit N] [--reason …] [--dry-run]`.

use axp_client::{BulkCancelRequest, Client, Status};

use crate::exit::{Exit, usage};
use crate::output::Output;

/// `intents bulk-cancel` options (the body of `POST /v1/intents/bulk-cancel`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only intents created at least this many hours ago (0: any age).
    #[arg(long, value_name = "HOURS")]
    older_than_hours: u64,
    /// Only these non-terminal statuses (repeat, or comma-separate).
    #[arg(long, value_delimiter = ',')]
    status: Vec<String>,
    /// At most this many (server default 100).
    #[arg(long)]
    limit: Option<u32>,
    /// Recorded on each `intent.canceled` event.
    #[arg(long)]
    reason: Option<String>,
    /// Only list what would be canceled.
    #[arg(long)]
    dry_run: bool,
}

/// Cancels (or previews) in bulk.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let status_filter = args
        .status
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<Status>().map_err(|e| usage(e.to_string())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let request = BulkCancelRequest {
        older_than_hours: args.older_than_hours,
        dry_run: args.dry_run,
        reason: args.reason,
        limit: args.limit,
        status_filter,
    };
    let response = client.bulk_cancel(&request).await?;
    out.object(&serde_json::to_value(&response)?, || {
        let mut pairs = vec![
            ("dry_run".to_owned(), response.dry_run.to_string()),
            ("matched".to_owned(), response.would_cancel.to_string()),
            ("canceled".to_owned(), response.canceled.to_string()),
        ];
        pairs.extend(response.intent_ids.iter().map(|id| ("intent".to_owned(), id.to_string())));
        pairs
    });
    if response.dry_run && response.would_cancel > 0 {
        out.tip("nothing was canceled: run again without --dry-run");
    }
    Ok(Exit::Ok)
}
