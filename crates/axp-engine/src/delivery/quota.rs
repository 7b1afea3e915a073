//! The `webhook_deliveries_per_day` quota (contract §6) at the dispatcher, the one place push
//! and webhook attempts are made: every attempt sent counts one; past the limit under a
//! blocking policy the delivery is not attempted but put back to pending until the start of the
//! next UTC day (no attempt recorded, nothing dead-lettered), and the first refusal of a
//! workspace each day is logged.
//!
//! Checked and counted in the dispatcher's loop, one job at a time, so attempts of one replica
//! never pass the limit together; across replicas the meter's flush interval applies (see
//! [`crate::usage`]).

use axp_core::Timestamp;
use axp_core::quota::{Dimension, Verdict, next_day_start};
use axp_store::{PushJob, Tenant};

use crate::usage::UsageMeter;

const DIMENSION: Dimension = Dimension::WebhookDeliveriesPerDay;

/// What to do with a claimed job.
pub(super) enum Gate {
    /// Attempt it (already counted).
    Send,
    /// Do not attempt it: defer it to `until`, saying `why`.
    Defer { until: Timestamp, why: String },
}

/// Checks `job`'s workspace against its `webhook_deliveries_per_day` at `now` and, when it may
/// be sent, counts the attempt. A policy or count that cannot be read lets the attempt through
/// (logged): the quota is fair use, not a safety limit, and the store error shows anyway.
pub(super) async fn gate(meter: &UsageMeter, job: &PushJob, now: Timestamp) -> Gate {
    let ws = job.workspace_id;
    // The meter reads by organization and workspace only; slugs are not needed here.
    let tenant = Tenant {
        org_id: job.org_id,
        workspace_id: ws,
        org_slug: String::new(),
        workspace_slug: String::new(),
    };
    let read = async {
        let policy = meter.policy(&tenant).await?;
        let used = meter.used_today(&tenant, DIMENSION, now).await?;
        Ok::<_, axp_store::Error>((policy, used))
    };
    let (policy, used) = match read.await {
        Ok(read) => read,
        Err(e) => {
            tracing::warn!(workspace = %ws, error = %e, "could not read the push quota; sending");
            meter.record(ws, DIMENSION, 1, now);
            return Gate::Send;
        }
    };
    match policy.verdict(DIMENSION, used) {
        Verdict::Block => {
            let (limit, until) = (policy.limit(DIMENSION), next_day_start(now));
            if meter.first_refusal(ws, DIMENSION, now) {
                tracing::warn!(workspace = %ws, dimension = DIMENSION.as_str(), limit, until = %until,
                    "workspace push quota used; deliveries wait for the next UTC day");
            }
            let why = format!(
                "deferred: the workspace used its {} quota ({limit}); next attempt at the start of the next UTC day",
                DIMENSION.as_str()
            );
            return Gate::Defer { until, why };
        }
        Verdict::Warn(percent) if meter.first_warning(ws, DIMENSION, now) => {
            tracing::warn!(workspace = %ws, dimension = DIMENSION.as_str(), percent, "workspace quota soft threshold reached");
        }
        Verdict::Warn(_) | Verdict::Allow => {}
    }
    meter.record(ws, DIMENSION, 1, now);
    Gate::Send
}
