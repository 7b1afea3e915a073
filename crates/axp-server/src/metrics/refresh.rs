//! The store's figures as gauges, read in the background every `AXP_METRICS_REFRESH_SECONDS`
//! (default 30 s), never per scrape: the data-lifecycle numbers of `GET /v1/admin/stats`
//! ([`axp_core::api::StoreStats`]) and the queue depths per binding.
//!
//! Counting every row of every table takes seconds on a large database (without blocking
//! writes); a scrape reads the last figures, as old as the interval at most
//! ([`REFRESHED_AT`] says when). On PostgreSQL every replica with metrics on reads the same
//! shared database: take one replica's figures (`max by (…)`), not their sum.

use std::collections::HashSet;
use std::time::Duration;

use axp_core::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Gauge: queued intents not yet handed to their agent, label `binding`.
pub(crate) const QUEUE_DEPTH: &str = "axp_queue_depth";
/// Gauge: rows per table, label `table`.
pub(crate) const STORE_ROWS: &str = "axp_store_rows";
/// Gauge: bytes the database takes.
pub(crate) const DATABASE_BYTES: &str = "axp_store_database_bytes";
/// Gauge: bytes of SQLite's write-ahead log (not set on PostgreSQL).
pub(crate) const WAL_BYTES: &str = "axp_store_wal_bytes";
/// Gauge: seconds since the oldest unfinished intent was created; 0 when none is.
pub(crate) const OLDEST_UNFINISHED_AGE: &str = "axp_oldest_unfinished_intent_age_seconds";
/// Gauge: deliveries in the dead-letter list.
pub(crate) const DEAD_LETTERS: &str = "axp_dead_letters";
/// Gauge: Unix time in seconds of the last successful read of the figures.
pub(crate) const REFRESHED_AT: &str = "axp_store_stats_refresh_timestamp_seconds";

/// Reads the figures now and then every `every`, until `cancel`. A failed read is logged and
/// leaves the last figures (and [`REFRESHED_AT`]) as they were.
pub(crate) async fn run(state: AppState, every: Duration, cancel: CancellationToken) {
    let mut bindings = HashSet::new();
    loop {
        if let Err(e) = refresh(&state, &mut bindings).await {
            tracing::warn!(error = %e, "could not read the store's figures for /metrics; keeping the last ones");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = cancel.cancelled() => return,
        }
    }
}

/// One read. `bindings`: every binding a depth was set for, so a binding whose queue emptied
/// reads 0 instead of its last depth.
async fn refresh(state: &AppState, bindings: &mut HashSet<String>) -> axp_store::Result<()> {
    let maintenance = state.store.maintenance();
    let stats = maintenance.stats().await?;
    let depths = maintenance.queue_depths().await?;
    for (table, rows) in &stats.tables {
        metrics::gauge!(STORE_ROWS, "table" => table.clone()).set(*rows as f64);
    }
    metrics::gauge!(DATABASE_BYTES).set(stats.database_bytes as f64);
    if let Some(wal) = stats.wal_bytes {
        metrics::gauge!(WAL_BYTES).set(wal as f64);
    }
    metrics::gauge!(OLDEST_UNFINISHED_AGE).set(age(stats.oldest_unfinished_intent_at, state.clock.now()));
    metrics::gauge!(DEAD_LETTERS).set(stats.dead_letters as f64);
    bindings.extend(depths.keys().cloned());
    for binding in bindings.iter() {
        let depth = depths.get(binding).copied().unwrap_or(0);
        metrics::gauge!(QUEUE_DEPTH, "binding" => binding.clone()).set(depth as f64);
    }
    let now = state.clock.now().as_millis() as f64 / 1000.0;
    metrics::gauge!(REFRESHED_AT).set(now);
    Ok(())
}

/// Seconds from `oldest` to `now`; 0 without one (or for one in the future).
fn age(oldest: Option<Timestamp>, now: Timestamp) -> f64 {
    oldest.map_or(0.0, |t| (now.as_millis() - t.as_millis()).max(0) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_of_the_oldest_unfinished_intent() {
        let now = Timestamp::from_millis(10_500);
        assert_eq!(age(None, now), 0.0);
        assert_eq!(age(Some(Timestamp::from_millis(500)), now), 10.0);
        assert_eq!(age(Some(Timestamp::from_millis(20_000)), now), 0.0);
    }
}
