//! Routing an intent to its agent by the agent's binding, and handing queue items over to
//! streams and poll claims.

use axp_core::api::AgentDelivery;
use axp_core::delivery::{Binding, DeliveryKind};
use axp_core::intent::GATEWAY_ACTOR;
use axp_core::lifecycle::Command;
use axp_core::{AgentAddress, Intent, IntentId, Status, Timestamp, WorkspaceId};
use axp_store::{Error, QueueItem, QueueRead, Queued, Result, Tenant, Topic, Transaction};

use super::Ledger;
use super::deliveries::new_delivery;
use super::intents::{Arrival, run_internal};

/// Why an intent joins its agent's queue.
#[derive(Clone, Copy)]
pub(super) enum Reason {
    /// It was just created (or its workflow reached an agent step).
    Submitted(Arrival),
    /// Its lease ran out unacknowledged.
    Redelivery,
}

/// Routes `intent` to its agent by the agent's binding (DESIGN "Delivery bindings"):
///
/// - `inbox`: the agent is a person, so the intent becomes their human task;
/// - otherwise a queue item at the agent's next cursor (what streams and poll claims read)
///   and, for `http`, a push delivery of that item's frame, due now.
///
/// A new intent whose agent has a stream connected to this server (and no push binding) is
/// also handed over here, in its create transaction: the stream, woken by the commit, finds the
/// item already handed and sends it straight from a read, with no second write. Should the
/// stream go away first, the delivery lease runs out and the intent is redelivered, as for any
/// delivery never acknowledged. Returns the intent as routing left it when routing changed it.
pub(super) async fn route(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    intent: &Intent,
    reason: Reason,
    now: Timestamp,
) -> Result<Option<Intent>> {
    let agent = tx.agent_by_address(ws, &intent.to_agent, false).await?;
    if let Some(agent) = agent.as_ref().filter(|a| a.delivery_mode == Binding::Inbox) {
        let assign = Command::AssignHumanTask { assignee: agent.agent_address.clone() };
        let mut routed = intent.clone();
        run_internal(tx, ws, &mut routed, assign, GATEWAY_ACTOR, now).await?;
        return Ok(Some(routed));
    }
    let push = agent
        .as_ref()
        .filter(|a| a.delivery_mode == Binding::Http)
        .and_then(|a| a.delivery_config.as_ref()?.get("url")?.as_str().map(|url| (a.org_id, url.to_owned())));
    let hand_over = matches!(reason, Reason::Submitted(Arrival { watched: true })) && push.is_none();
    let item = QueueItem {
        workspace_id: ws,
        agent: &intent.to_agent,
        intent_id: intent.intent_id,
        queued_at: now,
        handed: hand_over,
    };
    let cursor = tx.enqueue(&item).await?;
    tx.announce(Topic::Agent(ws, intent.to_agent.clone()));
    if hand_over {
        let lease = agent.as_ref().and_then(|a| a.lease_seconds);
        let deliver = Command::Deliver { handler: intent.to_agent.clone(), agent_lease_seconds: lease };
        let mut routed = intent.clone();
        run_internal(tx, ws, &mut routed, deliver, GATEWAY_ACTOR, now).await?;
        return Ok(Some(routed));
    }
    let Some((org_id, url)) = push else { return Ok(None) };
    let mut frame = Queued { cursor, queued_at: now, handed: false, intent: intent.clone() }.into_delivery();
    frame.status = Status::Delivered;
    frame.delivery_attempt = intent.delivery_attempt + 1;
    let payload = serde_json::to_value(&frame).map_err(|e| Error::Internal(e.to_string()))?;
    let (target, ws_org) = ((intent.to_agent.clone(), url), (org_id, ws));
    let mut delivery = new_delivery(DeliveryKind::AgentPush, ws_org, target, payload, now);
    delivery.intent_id = Some(intent.intent_id);
    tx.insert_delivery(ws, &delivery, &intent.to_agent, Some(now)).await?;
    tx.announce(Topic::Deliveries);
    Ok(None)
}

/// Hands queue items to `address`: each item not handed before is delivered (SUBMITTED →
/// DELIVERED with a lease, or a redelivery) and marked handed; items handed before are replays.
/// Unless the caller read them under their row locks (`fresh`), intents are re-read locked
/// first, so a change another writer committed after the queue was read is not overwritten.
async fn hand_over(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    address: &str,
    items: Vec<Queued>,
    fresh: bool,
    now: Timestamp,
) -> Result<Vec<AgentDelivery>> {
    let agent_lease_seconds = if items.iter().any(|q| !q.handed) {
        tx.agent_by_address(ws, address, false).await?.and_then(|a| a.lease_seconds)
    } else {
        None
    };
    let mut out = Vec::with_capacity(items.len());
    for mut item in items {
        if !item.handed {
            if !fresh && let Some(intent) = tx.intent_for_update(ws, item.intent.intent_id).await? {
                item.intent = intent;
            }
            // An intent that ended is only shown (a stream may ask for terminal statuses).
            if !item.intent.status.is_terminal() {
                let deliver = Command::Deliver { handler: address.to_owned(), agent_lease_seconds };
                run_internal(tx, ws, &mut item.intent, deliver, GATEWAY_ACTOR, now).await?;
                tx.mark_handed(ws, address, item.cursor, now).await?;
            }
        }
        out.push(item.into_delivery());
    }
    Ok(out)
}

/// How many rounds a poll claim looks further after retiring items it cannot deliver.
const CLAIM_ROUNDS: usize = 4;

impl Ledger {
    pub(super) async fn deliver_to_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        read: (u64, Vec<Status>, u32),
        now: Timestamp,
    ) -> Result<Vec<AgentDelivery>> {
        let args = (tenant.workspace_id, address.to_string(), read, now);
        // Most calls find nothing new, or only items handed before: answer those from a read
        // and go to the writer only when something must be handed over.
        let items = self
            .read(args.clone(), |(ws, agent, (since, statuses, limit), _), tx| {
                let read = QueueRead { agent, since: *since, statuses, limit: *limit };
                Box::pin(async move { tx.queued(*ws, &read, false).await })
            })
            .await?;
        if items.iter().all(|q| q.handed) {
            return Ok(items.into_iter().map(Queued::into_delivery).collect());
        }
        self.write(args, |(ws, agent, (since, statuses, limit), now), tx| {
            Box::pin(async move {
                let read = QueueRead { agent, since: *since, statuses, limit: *limit };
                let items = tx.queued(*ws, &read, true).await?;
                hand_over(tx, *ws, agent, items, false, *now).await
            })
        })
        .await
    }

    pub(super) async fn claim_for_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<AgentDelivery>> {
        let args = (tenant.workspace_id, address.to_string(), limit, now);
        self.write(args, |(ws, agent, limit, now), tx| {
            Box::pin(async move {
                let ws = *ws;
                let mut out = Vec::new();
                // Items whose intent can no longer be delivered (ended, or moved on without
                // them) are retired as handed, and the claim looks further, a few times at most.
                for _ in 0..CLAIM_ROUNDS {
                    let want = limit.saturating_sub(out.len() as u32);
                    if want == 0 {
                        break;
                    }
                    let picked = tx.claim_unhanded(ws, agent, want).await?;
                    if picked.is_empty() {
                        break;
                    }
                    let ids: Vec<IntentId> = picked.iter().map(|p| p.2).collect();
                    let mut intents = tx.intents_for_update(ws, &ids).await?;
                    let mut items = Vec::with_capacity(picked.len());
                    let mut retired = false;
                    for (cursor, queued_at, id) in picked {
                        match intents.remove(&id) {
                            Some(intent)
                                if matches!(intent.status, Status::Submitted | Status::Delivered) =>
                            {
                                items.push(Queued { cursor, queued_at, handed: false, intent });
                            }
                            _ => {
                                tx.mark_handed(ws, agent, cursor, *now).await?;
                                retired = true;
                            }
                        }
                    }
                    out.extend(hand_over(tx, ws, agent, items, true, *now).await?);
                    if !retired {
                        break;
                    }
                }
                Ok(out)
            })
        })
        .await
    }
}
