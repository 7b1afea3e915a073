//! Webhook subscriptions (contract §5.4) and the events queued to them.

use axp_core::delivery::{DeliveryKind, EventCounters, Subscription, WebhookEvent};
use axp_core::workflow::Notification;
use axp_core::{EventId, Intent, SubscriptionId, Timestamp, WorkspaceId};
use axp_store::{Error, NewSubscription, Result, Tenant, Topic, Transaction};

use super::Ledger;
use super::deliveries::new_delivery;

/// Queues a delivery of `event` to subscription `sub`, due now. Its `webhook-id` is the
/// event's id, the same on every retry and replay.
pub(super) async fn queue_webhook(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    sub: &Subscription,
    event: &WebhookEvent,
    now: Timestamp,
) -> Result<()> {
    let org_id = tx.org_of(ws).await?;
    let payload = serde_json::to_value(event).map_err(|e| Error::Internal(e.to_string()))?;
    let target = (sub.owner_agent.clone(), sub.callback_url.clone());
    let mut delivery = new_delivery(DeliveryKind::Webhook, (org_id, ws), target, payload, now);
    delivery.message_id = format!("msg_{}", event.event_id.0.simple());
    delivery.event_id = Some(event.event_id);
    delivery.subscription_id = Some(sub.subscription_id);
    tx.insert_delivery(ws, &delivery, &sub.subscription_id.to_string(), Some(now)).await?;
    tx.announce(Topic::Deliveries);
    Ok(())
}

/// Records `event` (its owner's) and queues it to each of `subs` that names its type.
async fn fan_out(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    subs: &[Subscription],
    event: &WebhookEvent,
    now: Timestamp,
) -> Result<()> {
    for sub in subs.iter().filter(|s| s.event_types.contains(&event.event_type)) {
        queue_webhook(tx, ws, sub, event, now).await?;
    }
    Ok(())
}

/// Records an event of type `event_type` for `sub`'s owner and queues its delivery to `sub`.
pub(super) async fn publish(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    sub: &Subscription,
    event_type: &str,
    payload: serde_json::Value,
    at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    let event = WebhookEvent {
        event_id: EventId::new(),
        event_type: event_type.to_owned(),
        source: "axp".into(),
        owner_agent: sub.owner_agent.clone(),
        occurred_at: at,
        payload,
    };
    tx.insert_event(ws, &event).await?;
    queue_webhook(tx, ws, sub, &event, now).await
}

/// Publishes a workflow `notification` step's event to the sender's subscriptions naming it.
pub(super) async fn notify_step(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    intent: &Intent,
    n: &Notification,
    now: Timestamp,
) -> Result<()> {
    let event = WebhookEvent {
        event_id: EventId::new(),
        event_type: n.event_type.clone(),
        source: "axp".into(),
        owner_agent: intent.from_agent.clone(),
        occurred_at: now,
        payload: n.payload.clone(),
    };
    tx.insert_event(ws, &event).await?;
    let subs = tx.active_subscriptions(ws, &[intent.from_agent.as_str()]).await?;
    fan_out(tx, ws, &subs, &event, now).await
}

/// A new subscription for `new`, before its secret and settings are applied.
fn blank_subscription(new: &NewSubscription, now: Timestamp) -> Subscription {
    Subscription {
        subscription_id: SubscriptionId::new(),
        owner_agent: new.owner_agent.clone(),
        callback_url: new.callback_url.clone(),
        event_types: Vec::new(),
        active: true,
        description: None,
        created_at: now,
        updated_at: now,
        revoked_at: None,
        secret_hint: None,
    }
}

/// [`axp_store::WebhookStore`] for [`Ledger`].
#[async_trait::async_trait]
impl axp_store::WebhookStore for Ledger {
    async fn upsert_subscription(
        &self,
        tenant: &Tenant,
        new: NewSubscription,
        now: Timestamp,
    ) -> Result<Subscription> {
        self.write((tenant.workspace_id, new, now), |(ws, new, now), tx| {
            Box::pin(async move {
                let (ws, now) = (*ws, *now);
                let existing =
                    tx.subscription_by_url_for_update(ws, &new.owner_agent, &new.callback_url).await?;
                let (mut sub, old_secret) = match existing {
                    Some((sub, secret)) => (sub, Some(secret)),
                    None => (blank_subscription(new, now), None),
                };
                // A secret given wins; else the one it had; else a new one.
                let secret = new.secret.clone().or(old_secret).unwrap_or_else(|| new.new_secret.clone());
                sub.event_types = new.event_types.clone();
                sub.active = new.active;
                sub.description = new.description.clone();
                sub.updated_at = now;
                if new.active {
                    sub.revoked_at = None;
                }
                sub.secret_hint = Some(format!("****{}", &secret[secret.len().saturating_sub(4)..]));
                tx.put_subscription(ws, &sub, &secret).await?;
                Ok(sub)
            })
        })
        .await
    }

    async fn revoke_subscription(
        &self,
        tenant: &Tenant,
        owner: &str,
        id: SubscriptionId,
        now: Timestamp,
    ) -> Result<Subscription> {
        self.write((tenant.workspace_id, owner.to_owned(), id, now), |(ws, owner, id, now), tx| {
            Box::pin(async move {
                let (mut sub, secret) = tx
                    .subscription(*ws, *id, true)
                    .await?
                    .filter(|(s, _)| s.owner_agent == *owner)
                    .ok_or(Error::NotFound)?;
                if sub.revoked_at.is_none() {
                    sub.active = false;
                    sub.revoked_at = Some(*now);
                    sub.updated_at = *now;
                    tx.put_subscription(*ws, &sub, &secret).await?;
                }
                Ok(sub)
            })
        })
        .await
    }

    async fn publish_event(&self, tenant: &Tenant, event: WebhookEvent) -> Result<EventCounters> {
        self.write((tenant.workspace_id, event), |(ws, event), tx| {
            Box::pin(async move {
                tx.insert_event(*ws, event).await?;
                let subs = tx.active_subscriptions(*ws, &[event.owner_agent.as_str()]).await?;
                fan_out(tx, *ws, &subs, event, event.occurred_at).await?;
                tx.event_counters(*ws, event.event_id).await
            })
        })
        .await
    }

    async fn replay_event(
        &self,
        tenant: &Tenant,
        owner: &str,
        id: EventId,
        now: Timestamp,
    ) -> Result<(WebhookEvent, EventCounters)> {
        self.write((tenant.workspace_id, owner.to_owned(), id, now), |(ws, owner, id, now), tx| {
            Box::pin(async move {
                let event = tx.event(*ws, owner, *id).await?.ok_or(Error::NotFound)?;
                let subs = tx.active_subscriptions(*ws, &[owner.as_str()]).await?;
                fan_out(tx, *ws, &subs, &event, *now).await?;
                let counters = tx.event_counters(*ws, *id).await?;
                Ok((event, counters))
            })
        })
        .await
    }

    async fn list_subscriptions(
        &self,
        tenant: &Tenant,
        owner: &str,
        include_inactive: bool,
    ) -> Result<Vec<Subscription>> {
        self.read((tenant.workspace_id, owner.to_owned(), include_inactive), |(ws, owner, all), tx| {
            tx.list_subscriptions(*ws, owner, *all)
        })
        .await
    }
}
