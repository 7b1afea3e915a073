//! The pruner: removes finished work past its retention period, in small transactions, off the
//! request path (`docs/retention.md`).
//!
//! Each pass, for every workspace with its periods in force ([`RetentionOverrides::effective`]):
//! finished intents (written to the [`ArchiveDir`] first when there is one), dead letters and
//! webhook events; then, server-wide, expired idempotency records and old audit entries. Each
//! batch is one write transaction of at most [`RetentionOptions::batch`] rows, so a writer waits
//! for one batch at most; each is followed by one that gives the pages it freed back to the
//! file system (SQLite; see `axp_store::RetentionStore::reclaim_space`) and by a pause as long
//! as the batch took. An unfinished intent is never removed (the ledger re-checks every id it is
//! handed).

mod archive;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axp_core::Timestamp;
use axp_core::ids::WorkspaceId;
use axp_core::retention::{RetentionDefaults, RetentionOverrides, cutoff};
use axp_store::{Error, PruneStep, Result, Store};
use tokio_util::sync::CancellationToken;

pub use archive::{ArchiveDir, find};

use crate::clock::Clock;
use crate::wake::{Wake, wait_until};

/// Pages given back to the file system after each batch that removed something (4 KiB each):
/// more than a batch frees, so the file shrinks as fast as rows go, in bounded transactions.
const RECLAIM_PAGES: u32 = 4_096;

/// How the pruner runs.
#[derive(Clone, Debug)]
pub struct RetentionOptions {
    /// The server's periods (`AXP_RETENTION_DAYS` and its siblings).
    pub defaults: RetentionDefaults,
    /// Time between passes, on the engine's clock (`AXP_RETENTION_INTERVAL_SECONDS`, 60 s).
    pub every: Duration,
    /// Rows per transaction (`AXP_RETENTION_BATCH`, 256).
    pub batch: u32,
    /// Where finished intents are archived before removal (`AXP_ARCHIVE_DIR`); `None`: they
    /// are not.
    pub archive: Option<ArchiveDir>,
}

impl Default for RetentionOptions {
    fn default() -> Self {
        Self {
            defaults: RetentionDefaults::default(),
            every: Duration::from_secs(60),
            batch: 256,
            archive: None,
        }
    }
}

/// What one pass removed (and archived).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Finished intents removed, with their rows.
    pub intents: u64,
    /// Of those, written to the archive first.
    pub archived: u64,
    /// Dead-lettered deliveries removed.
    pub dead_letters: u64,
    /// Webhook events and their settled deliveries removed.
    pub webhook_events: u64,
    /// Expired idempotency records removed.
    pub idempotency: u64,
    /// Audit entries removed.
    pub audit: u64,
}

impl PruneReport {
    /// Every row removed.
    pub fn total(&self) -> u64 {
        self.intents + self.dead_letters + self.webhook_events + self.idempotency + self.audit
    }
}

/// The pruner over a store; see the module doc.
pub struct Pruner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: RetentionOptions,
}

impl Pruner {
    /// A pruner over `store`, reading time from `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, options: RetentionOptions) -> Self {
        Self { store, clock, options }
    }

    /// One pass over everything past retention at the clock's `now`.
    ///
    /// Errors: the store's; an archive that cannot be written is [`Error::Unavailable`], and
    /// then nothing of that batch is removed.
    pub async fn prune_once(&self) -> Result<PruneReport> {
        let now = self.clock.now();
        let defaults = &self.options.defaults;
        let mut report = PruneReport::default();
        for (ws, overrides) in self.store.retention_workspaces().await? {
            self.prune_workspace(ws, &overrides, now, &mut report).await?;
        }
        report.idempotency = self.drain(PruneStep::ExpiredIdempotency(now)).await?;
        report.audit = self.drain(PruneStep::Audit(cutoff(now, defaults.audit_days))).await?;
        if report.total() > 0 {
            tracing::info!(?report, "retention pass removed rows past retention");
        }
        Ok(report)
    }

    async fn prune_workspace(
        &self,
        ws: WorkspaceId,
        overrides: &RetentionOverrides,
        now: Timestamp,
        report: &mut PruneReport,
    ) -> Result<()> {
        let periods = overrides.effective(&self.options.defaults);
        let before = cutoff(now, periods.intent_days);
        let batch = self.options.batch;
        loop {
            let started = Instant::now();
            let (ids, archived) = match &self.options.archive {
                Some(archive) => {
                    let records = self.store.finished_intents(ws, before, batch, now).await?;
                    let ids: Vec<_> = records.iter().map(|r| r.intent.intent_id).collect();
                    if !records.is_empty() {
                        let archive = archive.clone();
                        tokio::task::spawn_blocking(move || archive.append(now, &records))
                            .await
                            .map_err(|e| Error::Internal(e.to_string()))?
                            .map_err(|e| Error::Unavailable(format!("writing the archive: {e}")))?;
                    }
                    let n = ids.len() as u64;
                    (ids, n)
                }
                None => (self.store.finished_intent_ids(ws, before, batch).await?, 0),
            };
            let full = ids.len() as u32 >= batch;
            let removed = self.store.remove_finished_intents(ws, ids).await?;
            report.intents += removed;
            report.archived += archived;
            self.reclaim(removed, started).await?;
            // Short, or nothing removable among them (never loop on the same ids).
            if !full || removed == 0 {
                break;
            }
        }
        report.dead_letters +=
            self.drain(PruneStep::DeadLetters(ws, cutoff(now, periods.dead_letter_days))).await?;
        report.webhook_events +=
            self.drain(PruneStep::WebhookEvents(ws, cutoff(now, periods.webhook_event_days))).await?;
        Ok(())
    }

    /// Runs `step` in batches until a batch comes back short; answers the rows removed.
    async fn drain(&self, step: PruneStep) -> Result<u64> {
        let mut total = 0;
        loop {
            let started = Instant::now();
            let n = self.store.prune(step, self.options.batch).await?;
            total += n;
            self.reclaim(n, started).await?;
            if n < u64::from(self.options.batch) {
                return Ok(total);
            }
        }
    }

    /// After a batch that removed `removed` rows, begun at `started`: gives the pages freed back,
    /// then waits as long as the batch took, so the pruner holds the writer at most about half
    /// the time and the requests queued meanwhile go first (bench P9 measures what it costs them).
    async fn reclaim(&self, removed: u64, started: Instant) -> Result<()> {
        if removed == 0 {
            return Ok(());
        }
        self.store.reclaim_space(RECLAIM_PAGES).await?;
        tokio::time::sleep(started.elapsed()).await;
        Ok(())
    }

    /// The loop: a pass, then wait [`RetentionOptions::every`] on the engine's clock (a failed
    /// pass is logged and retried then).
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            if let Err(e) = self.prune_once().await {
                tracing::warn!(error = %e, "retention pass failed; retrying at the next one");
            }
            let every = i64::try_from(self.options.every.as_millis()).unwrap_or(i64::MAX);
            let due = Timestamp::from_millis(self.clock.now().as_millis().saturating_add(every));
            let why = wait_until(self.clock.as_ref(), Some(due), std::future::pending(), &cancel, None).await;
            if why == Wake::Cancelled {
                return;
            }
        }
    }
}
