//! Push deliveries: the dispatcher's claims, attempts with their consequences, dead letters
//! and replays.

use axp_core::delivery::{Delivery, DeliveryKind, DeliveryStatus};
use axp_core::intent::GATEWAY_ACTOR;
use axp_core::lifecycle::Command;
use axp_core::{DeliveryId, OrgId, Timestamp, WorkspaceId};
use axp_store::{AttemptReport, Error, PushJob, Result, Tenant, Topic, Transaction, to_json};

use super::Ledger;
use super::intents::run_internal;

/// A new delivery of `payload` to `url` for `target`, due now with no attempt yet. Its
/// `webhook-id` is `msg_<delivery id>` (stable across its retries and replays) unless the
/// caller sets another; intent, event and subscription are the caller's to set.
pub(super) fn new_delivery(
    kind: DeliveryKind,
    (org_id, ws): (OrgId, WorkspaceId),
    (target, url): (String, String),
    payload: serde_json::Value,
    now: Timestamp,
) -> Delivery {
    let transport_type = match kind {
        DeliveryKind::AgentPush => "http",
        DeliveryKind::Webhook => "webhook",
    };
    let template = Delivery {
        delivery_id: DeliveryId::new(),
        replay_of_delivery_id: None,
        org_id,
        workspace_id: ws,
        kind,
        transport_type: transport_type.into(),
        message_id: String::new(),
        intent_id: None,
        event_id: None,
        subscription_id: None,
        target,
        url,
        status: DeliveryStatus::Pending,
        attempt: 0,
        next_attempt_at: None,
        last_response_code: None,
        error_detail: None,
        attempts: Vec::new(),
        payload,
        created_at: now,
        updated_at: now,
    };
    let mut d = pending(template, now);
    d.message_id = format!("msg_{}", d.delivery_id.0.simple());
    d
}

/// `d` as a fresh delivery: a new id, due at `now`, no attempt yet.
fn pending(d: Delivery, now: Timestamp) -> Delivery {
    Delivery {
        delivery_id: DeliveryId::new(),
        status: DeliveryStatus::Pending,
        attempt: 0,
        next_attempt_at: Some(now),
        last_response_code: None,
        error_detail: None,
        attempts: Vec::new(),
        created_at: now,
        updated_at: now,
        ..d
    }
}

/// Marks a delivery failed for good with `why`.
fn settle(d: &mut Delivery, why: &str, now: Timestamp) {
    d.status = DeliveryStatus::Failed;
    d.error_detail = Some(why.to_owned());
    d.next_attempt_at = None;
    d.updated_at = now;
}

/// The signing secret of a claimed delivery, or why it cannot be sent any more.
async fn secret_of(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    d: &Delivery,
    secret_owner: &str,
) -> Result<Result<String, &'static str>> {
    match d.kind {
        DeliveryKind::AgentPush => {
            let open = match d.intent_id {
                Some(id) => tx.intent(ws, id).await?.is_some_and(|i| !i.status.is_terminal()),
                None => false,
            };
            if !open {
                return Ok(Err("the intent ended before this delivery was sent"));
            }
            Ok(tx.push_secret(ws, secret_owner).await?.ok_or(NO_SECRET))
        }
        DeliveryKind::Webhook => {
            let sub = match d.subscription_id {
                Some(id) => tx.subscription(ws, id, false).await?,
                None => None,
            };
            Ok(sub.filter(|(s, _)| s.active).map(|(_, secret)| secret).ok_or(NO_SECRET))
        }
    }
}

const NO_SECRET: &str = "the target has no signing secret (its binding changed or it was revoked)";

/// Records an attempt that got a 2xx: the agent push delivers its intent (with a lease; an
/// inline `{"result": …}` completes it as the agent's resume would).
async fn delivered(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    d: &Delivery,
    report: &AttemptReport,
    intent: Option<axp_core::Intent>,
) -> Result<()> {
    let Some(mut intent) = intent.filter(|i| !i.status.is_terminal()) else { return Ok(()) };
    let now = report.now;
    let lease = tx.agent_by_address(ws, &d.target, false).await?.and_then(|a| a.lease_seconds);
    let deliver = Command::Deliver { handler: d.target.clone(), agent_lease_seconds: lease };
    run_internal(tx, ws, &mut intent, deliver, GATEWAY_ACTOR, now).await?;
    if let Some(cursor) = d.payload.get("seq").and_then(serde_json::Value::as_u64) {
        tx.mark_handed(ws, &d.target, cursor, now).await?;
    }
    if let Some(result) = report.inline_result.clone() {
        let mut body = serde_json::Map::new();
        body.insert("result".into(), result);
        match run_internal(tx, ws, &mut intent, Command::Resume(body), &d.target, now).await {
            Ok(_) | Err(Error::Lifecycle(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// [`axp_store::DeliveryStore`] for [`Ledger`].
#[async_trait::async_trait]
impl axp_store::DeliveryStore for Ledger {
    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        claim_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PushJob>> {
        self.write((now, claim_until, limit), |(now, claim_until, limit), tx| {
            Box::pin(async move {
                let now = *now;
                let mut jobs = Vec::new();
                for (ws, mut d, secret_owner) in tx.claim_due_deliveries(now, *limit).await? {
                    let secret = match secret_of(tx, ws, &d, &secret_owner).await? {
                        Ok(secret) => secret,
                        Err(why) => {
                            settle(&mut d, why, now);
                            tx.update_delivery(ws, &d, None).await?;
                            continue;
                        }
                    };
                    d.status = DeliveryStatus::Delivering;
                    d.updated_at = now;
                    tx.update_delivery(ws, &d, Some(*claim_until)).await?;
                    jobs.push(PushJob {
                        org_id: d.org_id,
                        workspace_id: ws,
                        delivery_id: d.delivery_id,
                        kind: d.kind,
                        message_id: d.message_id.clone(),
                        url: d.url.clone(),
                        secret,
                        body: to_json(&d.payload)?,
                        attempt: d.attempt + 1,
                    });
                }
                Ok(jobs)
            })
        })
        .await
    }

    async fn record_attempt(
        &self,
        ws: WorkspaceId,
        delivery_id: DeliveryId,
        report: AttemptReport,
    ) -> Result<()> {
        self.write((ws, delivery_id, report), |(ws, delivery_id, report), tx| {
            Box::pin(async move {
                let ws = *ws;
                let (mut d, _) = tx.delivery(ws, *delivery_id, true).await?.ok_or(Error::NotFound)?;
                let now = report.now;
                d.attempt = report.attempt.attempt;
                d.last_response_code = report.attempt.status_code;
                d.error_detail = report.attempt.error.clone();
                d.attempts.push(report.attempt.clone());
                d.updated_at = now;
                let intent = match (d.kind, d.intent_id) {
                    (DeliveryKind::AgentPush, Some(id)) => tx.intent_for_update(ws, id).await?,
                    _ => None,
                };
                tx.announce(Topic::Deliveries);
                if report.delivered {
                    d.status = DeliveryStatus::Delivered;
                    d.next_attempt_at = None;
                    tx.update_delivery(ws, &d, None).await?;
                    delivered(tx, ws, &d, report, intent).await?;
                    return Ok((d.kind, d.status));
                }
                // A failed agent push counts a delivery attempt of its intent
                // (`intent.delivery_failed` once `max_delivery_attempts` is spent).
                let mut ended = false;
                if let Some(mut intent) = intent.filter(|i| !i.status.is_terminal()) {
                    let error = serde_json::json!({
                        "code": "delivery_failed",
                        "message": report.attempt.error.clone().unwrap_or_else(|| "push failed".into()),
                        "status_code": report.attempt.status_code,
                    });
                    run_internal(tx, ws, &mut intent, Command::PushFailed { error }, GATEWAY_ACTOR, now)
                        .await?;
                    ended = intent.status.is_terminal();
                }
                let (status, due) = match report.retry_at {
                    _ if ended => (DeliveryStatus::Failed, None),
                    Some(at) => (DeliveryStatus::Pending, Some(at)),
                    None => (DeliveryStatus::DeadLettered, None),
                };
                d.status = status;
                d.next_attempt_at = due;
                tx.update_delivery(ws, &d, due).await?;
                Ok((d.kind, d.status))
            })
        })
        .await
        .map(|(kind, after)| crate::metrics::record_push_outcome(kind, after))
    }

    async fn defer_delivery(
        &self,
        ws: WorkspaceId,
        delivery_id: DeliveryId,
        until: Timestamp,
        why: String,
        now: Timestamp,
    ) -> Result<()> {
        self.write((ws, delivery_id, until, why, now), |(ws, delivery_id, until, why, now), tx| {
            Box::pin(async move {
                let ws = *ws;
                let (mut d, _) = tx.delivery(ws, *delivery_id, true).await?.ok_or(Error::NotFound)?;
                if d.status != DeliveryStatus::Delivering {
                    return Ok(());
                }
                d.status = DeliveryStatus::Pending;
                d.next_attempt_at = Some(*until);
                d.error_detail = Some(why.clone());
                d.updated_at = *now;
                tx.announce(Topic::Deliveries);
                tx.update_delivery(ws, &d, Some(*until)).await
            })
        })
        .await
    }

    async fn replay_delivery(&self, tenant: &Tenant, id: DeliveryId, now: Timestamp) -> Result<Delivery> {
        self.write((tenant.workspace_id, id, now), |(ws, id, now), tx| {
            Box::pin(async move {
                let (ws, now) = (*ws, *now);
                let (old, secret_owner) = tx.delivery(ws, *id, true).await?.ok_or(Error::NotFound)?;
                if matches!(old.status, DeliveryStatus::Pending | DeliveryStatus::Delivering) {
                    return Err(Error::Conflict { constraint: "delivery is still pending".into() });
                }
                if let Some(intent_id) = old.intent_id {
                    let open = tx.intent(ws, intent_id).await?.is_some_and(|i| !i.status.is_terminal());
                    if !open {
                        return Err(Error::Conflict { constraint: "the delivery's intent has ended".into() });
                    }
                }
                // Same body and message id: a receiver deduplicating on `webhook-id` sees one.
                let replay_of = Some(old.delivery_id);
                let replay = Delivery { replay_of_delivery_id: replay_of, ..pending(old, now) };
                tx.insert_delivery(ws, &replay, &secret_owner, Some(now)).await?;
                tx.announce(Topic::Deliveries);
                Ok(replay)
            })
        })
        .await
    }

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        self.read((), |(), tx| tx.next_delivery_due()).await
    }

    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        self.read((tenant.workspace_id, status, limit), |(ws, status, limit), tx| {
            tx.list_deliveries(*ws, *status, *limit)
        })
        .await
    }

    async fn get_delivery(&self, tenant: &Tenant, id: DeliveryId) -> Result<Delivery> {
        self.read((tenant.workspace_id, id), |(ws, id), tx| {
            Box::pin(async move { Ok(tx.delivery(*ws, *id, false).await?.ok_or(Error::NotFound)?.0) })
        })
        .await
    }
}
