//! [`UsageMeter`]: quota use counted in memory and written to the store in batches, so no row
//! is updated by every request (that would be a hot row on the write path).
//!
//! Per workspace it keeps the current minute's request count (the `requests_per_minute`
//! quota, enforced **per replica**: with N replicas a workspace may make up to N times its
//! limit per minute), and per workspace, dimension and UTC day the stored count read at first
//! use that day plus what this replica counted since. [`UsageMeter::run`] adds what was counted
//! to the store every interval (`AXP_USAGE_FLUSH_SECONDS`) and [`UsageMeter::flush`] once more
//! at shutdown; a failed flush keeps its counts for the next one. Between flushes another
//! replica's counts are not seen here, so a daily limit may be passed by what other replicas
//! counted since this one first read the day.
//!
//! Policies are cached per workspace and dropped at every flush, so another replica's change
//! applies here within one interval (a change made on this replica at once).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axp_core::Timestamp;
use axp_core::ids::WorkspaceId;
use axp_core::quota::{Dimension, QuotaPolicy, day_of, minute_of};
use axp_store::tables::UsageCount;
use axp_store::{Result, Store, Tenant};
use tokio_util::sync::CancellationToken;

type DayKey = (WorkspaceId, Dimension, i64);

#[derive(Default)]
struct Counts {
    policies: HashMap<WorkspaceId, Arc<QuotaPolicy>>,
    /// Per workspace: the current minute and the requests counted in it.
    minutes: HashMap<WorkspaceId, (i64, u64)>,
    /// Per workspace, dimension and day: the stored count at first use, and this replica's since.
    days: HashMap<DayKey, (u64, u64)>,
    /// Counted and not yet written.
    pending: HashMap<DayKey, u64>,
    /// Soft-threshold warnings already logged (one line per workspace, dimension and day).
    warned: HashSet<DayKey>,
    /// Refusals already logged (one line per workspace, dimension and day).
    refused: HashSet<DayKey>,
}

/// The meter of one replica. Cheap to share (`Arc`).
pub struct UsageMeter {
    store: Arc<dyn Store>,
    counts: Mutex<Counts>,
}

impl UsageMeter {
    /// A meter writing to `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, counts: Mutex::default() }
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `tenant`'s quota policy (cached; see the module doc).
    pub async fn policy(&self, tenant: &Tenant) -> Result<Arc<QuotaPolicy>> {
        if let Some(p) = self.counts().policies.get(&tenant.workspace_id) {
            return Ok(p.clone());
        }
        let policy = Arc::new(self.store.get_quota_policy(tenant).await?);
        self.counts().policies.insert(tenant.workspace_id, policy.clone());
        Ok(policy)
    }

    /// Replaces the cached policy after this replica changed it.
    pub fn set_policy(&self, policy: QuotaPolicy) {
        self.counts().policies.insert(policy.workspace_id, Arc::new(policy));
    }

    /// Counts one request of `ws` at `now`; returns how many were counted before it in the
    /// same minute. Requests also add to the day's `requests_per_minute` counter (the usage
    /// series reports requests per day).
    pub fn count_request(&self, ws: WorkspaceId, now: Timestamp) -> u64 {
        let minute = minute_of(now);
        let mut c = self.counts();
        let slot = c.minutes.entry(ws).or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        let before = slot.1;
        slot.1 += 1;
        *c.pending.entry((ws, Dimension::RequestsPerMinute, day_of(now))).or_default() += 1;
        before
    }

    /// The requests of `ws` counted in the minute of `now` on this replica.
    pub fn requests_this_minute(&self, ws: WorkspaceId, now: Timestamp) -> u64 {
        match self.counts().minutes.get(&ws) {
            Some((minute, n)) if *minute == minute_of(now) => *n,
            _ => 0,
        }
    }

    /// How much of daily `dimension` `tenant` used on the day of `now` (stored at first use
    /// plus counted here since).
    pub async fn used_today(&self, tenant: &Tenant, dimension: Dimension, now: Timestamp) -> Result<u64> {
        let key = (tenant.workspace_id, dimension, day_of(now));
        if let Some((base, local)) = self.counts().days.get(&key) {
            return Ok(base + local);
        }
        let stored = self.store.usage(tenant, key.2, key.2).await?;
        let base = stored.iter().filter(|c| c.dimension == dimension).map(|c| c.count).sum();
        let mut c = self.counts();
        let (base, local) = *c.days.entry(key).or_insert((base, 0));
        Ok(base + local)
    }

    /// Counts `n` uses of daily `dimension` by `ws` at `now`.
    pub fn record(&self, ws: WorkspaceId, dimension: Dimension, n: u64, now: Timestamp) {
        let key = (ws, dimension, day_of(now));
        let mut c = self.counts();
        c.days.entry(key).or_insert((0, 0)).1 += n;
        *c.pending.entry(key).or_default() += n;
    }

    /// Whether this is the first soft-threshold warning of `ws`'s `dimension` on the day of
    /// `now` (the caller logs it once).
    pub fn first_warning(&self, ws: WorkspaceId, dimension: Dimension, now: Timestamp) -> bool {
        self.counts().warned.insert((ws, dimension, day_of(now)))
    }

    /// Whether this is the first refusal of `ws`'s `dimension` on the day of `now` (the caller
    /// logs it once; the refused requests or pushes themselves are not logged).
    pub fn first_refusal(&self, ws: WorkspaceId, dimension: Dimension, now: Timestamp) -> bool {
        self.counts().refused.insert((ws, dimension, day_of(now)))
    }

    /// What `ws` counted here and has not written yet, for reports that must not lag a flush.
    pub fn unflushed(&self, ws: WorkspaceId) -> Vec<UsageCount> {
        let c = self.counts();
        c.pending
            .iter()
            .filter(|((w, _, _), _)| *w == ws)
            .map(|((w, d, day), n)| UsageCount { workspace_id: *w, dimension: *d, day: *day, count: *n })
            .collect()
    }

    /// Writes what was counted since the last flush, and forgets cached policies and past days
    /// (`now` says which day is current). On failure the counts stay for the next flush.
    pub async fn flush(&self, now: Timestamp) -> Result<()> {
        let batch: Vec<UsageCount> = {
            let mut c = self.counts();
            c.policies.clear();
            let today = day_of(now);
            c.days.retain(|(_, _, day), _| *day >= today);
            c.warned.retain(|(_, _, day)| *day >= today);
            c.refused.retain(|(_, _, day)| *day >= today);
            c.pending
                .drain()
                .map(|((w, d, day), n)| UsageCount { workspace_id: w, dimension: d, day, count: n })
                .collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.store.add_usage(batch.clone()).await {
            let mut c = self.counts();
            for u in batch {
                *c.pending.entry((u.workspace_id, u.dimension, u.day)).or_default() += u.count;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Flushes every `every` until `shutdown` (the caller flushes once more after the last
    /// request). A failed flush is logged and retried at the next tick.
    pub async fn run(
        self: Arc<Self>,
        every: Duration,
        clock: Arc<dyn crate::Clock>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            if let Err(e) = self.flush(clock.now()).await {
                tracing::warn!(error = %e, "usage flush failed; the counts are kept for the next one");
            }
        }
    }
}
