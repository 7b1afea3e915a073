//! Firing due timers: deadlines, lease expiry, reminders, step timers, media expiry.

use axp_core::Timestamp;
use axp_core::ids::UploadId;
use axp_core::intent::GATEWAY_ACTOR;
use axp_core::lifecycle::Command;
use axp_core::timer::TimerKind;
use axp_store::{Error, Result};

use super::Ledger;
use super::intents::run_internal;
use super::media;

impl Ledger {
    /// Fires up to `limit` timers due at `now`: each is deleted and its
    /// [`Command::Fire`] applied in the same transaction, so a timer fires once even across
    /// crashes and replicas. A timer of an intent that already ended is simply dropped. A
    /// media expiry expires its upload; the bytes go once that committed.
    pub(super) async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> Result<u32> {
        let (due, gone) = self
            .write((now, limit), |(now, limit), tx| {
                Box::pin(async move {
                    let due = tx.take_due_timers(*now, *limit).await?;
                    let due_at: Vec<Timestamp> = due.iter().map(|t| t.due_at).collect();
                    let mut gone = Vec::new();
                    for timer in due {
                        let ws = timer.workspace_id;
                        if timer.kind == TimerKind::MediaExpiry {
                            let id = UploadId(timer.intent_id.0);
                            if let Some(object) = media::expire(tx, ws, id, *now).await? {
                                gone.push((ws, object));
                            }
                            continue;
                        }
                        let Some(mut intent) = tx.intent_for_update(ws, timer.intent_id).await? else {
                            continue;
                        };
                        match run_internal(
                            tx,
                            ws,
                            &mut intent,
                            Command::Fire(timer.kind),
                            GATEWAY_ACTOR,
                            *now,
                        )
                        .await
                        {
                            Ok(_) | Err(Error::Lifecycle(_)) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Ok((due_at, gone))
                })
            })
            .await?;
        for at in &due {
            crate::metrics::record_timer_lag(*at, now);
        }
        self.remove_bytes(&gone).await;
        Ok(due.len() as u32)
    }
}
