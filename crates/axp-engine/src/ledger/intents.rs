//! Intents: create, scenario apply, lifecycle commands, and persisting a lifecycle outcome.

use axp_core::api::{
    ApplyScenarioResponse, AuditTarget, CreateIntentResponse, MutationResponse, ProvisionedAgent,
};
use axp_core::ids::ServiceAccountId;
use axp_core::lifecycle::{self, Outcome, Request};
use axp_core::{Intent, IntentEvent, Status, Timestamp, WorkspaceId};
use axp_store::{
    Answer, Audit, CompletionDelivery, Created, Error, Executed, IdempotencyClaim, IntentRows, Result,
    ScenarioWrite, Tenant, Topic, Transaction, to_json,
};
use futures::future::BoxFuture;

use super::audit::{At, command_entry, record};
use super::{Ledger, accounts, inbox, routing, webhooks};
use crate::metrics::{self, Fact};

/// How a new intent is routed: whether its agent has a stream open on this server right now
/// (then it is handed over in its create transaction; see [`routing::route`]).
#[derive(Clone, Copy)]
pub(super) struct Arrival {
    pub(super) watched: bool,
}

impl Ledger {
    pub(super) fn arrival(&self, ws: WorkspaceId, to_agent: &str) -> Arrival {
        Arrival { watched: self.presence.streams(ws, to_agent) > 0 }
    }

    pub(super) async fn create_intent(
        &self,
        tenant: &Tenant,
        rows: IntentRows,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Created> {
        let arrival = self.arrival(tenant.workspace_id, &rows.intent.to_agent);
        let args = (tenant.workspace_id, rows, idempotency, arrival);
        self.write(args, |(ws, rows, idempotency, arrival), tx| {
            Box::pin(async move {
                let ws = *ws;
                if let Some(claim) = idempotency
                    && let Some((intent_id, body)) = tx.idempotent_replay(ws, claim).await?
                {
                    return Ok(Created { intent_id, answer: Answer::Replayed(body) });
                }
                let routed = insert_new_intent(tx, ws, rows, *arrival).await?;
                let response = CreateIntentResponse {
                    ok: true,
                    intent_id: routed.intent_id,
                    status: routed.status,
                    created_at: routed.created_at,
                };
                if let Some(claim) = idempotency {
                    tx.record_idempotency(ws, claim, routed.intent_id, &to_json(&response)?).await?;
                }
                Ok(Created { intent_id: routed.intent_id, answer: Answer::Fresh(response) })
            })
        })
        .await
    }

    pub(super) async fn apply_scenario(
        &self,
        tenant: &Tenant,
        write: ScenarioWrite,
        idempotency: Option<IdempotencyClaim>,
        by: &Audit,
    ) -> Result<Created<ApplyScenarioResponse>> {
        let arrival = self.arrival(tenant.workspace_id, &write.intent.to_agent);
        let rows = IntentRows::new(write.intent.clone(), write.events.clone())?;
        let args = (tenant.clone(), write, rows, idempotency, arrival, by.clone());
        self.write(args, |(tenant, write, rows, idempotency, arrival, by), tx| {
            Box::pin(async move {
                let ws = tenant.workspace_id;
                if let Some(claim) = idempotency
                    && let Some((intent_id, body)) = tx.idempotent_replay(ws, claim).await?
                {
                    return Ok(Created { intent_id, answer: Answer::Replayed(body) });
                }
                let mut created = Vec::with_capacity(write.agents.len());
                for agent in &write.agents {
                    let exists =
                        tx.agent_by_address(ws, agent.planned.address.as_str(), false).await?.is_some();
                    if !exists && agent.planned.create_if_missing {
                        tx.insert_service_account(tenant, &agent.account).await?;
                        tx.insert_api_key(tenant, agent.account.id, &agent.key.1).await?;
                        accounts::account_created(tx, by, tenant, &agent.account).await?;
                        accounts::key_created(tx, by, tenant, agent.account.id, &agent.key.1).await?;
                        created.push(Some(agent.account.id));
                    } else {
                        created.push(None);
                    }
                }
                tx.register_intent_type(ws, &write.intent.intent_type).await?;
                let routed = insert_new_intent(tx, ws, rows, *arrival).await?;
                // The stored replay leaves the new agents' keys out: secrets never rest in the
                // idempotency table.
                if let Some(claim) = idempotency {
                    let replay = to_json(&scenario_response(write, &routed, &created, false, true))?;
                    tx.record_idempotency(ws, claim, routed.intent_id, &replay).await?;
                }
                let answer = Answer::Fresh(scenario_response(write, &routed, &created, true, false));
                Ok(Created { intent_id: routed.intent_id, answer })
            })
        })
        .await
    }

    pub(super) async fn execute(
        &self,
        tenant: &Tenant,
        id: axp_core::IntentId,
        request: Request,
        now: Timestamp,
        idempotency: Option<IdempotencyClaim>,
        by: &Audit,
    ) -> Result<Executed> {
        let args = (tenant.clone(), id, request, now, idempotency, by.clone());
        self.write(args, |(tenant, id, request, now, idempotency, by), tx| {
            Box::pin(async move {
                let (ws, id, now) = (tenant.workspace_id, *id, *now);
                let mut intent = tx.intent_for_update(ws, id).await?.ok_or(Error::NotFound)?;
                if let Some(claim) = idempotency
                    && let Some((_, body)) = tx.idempotent_replay(ws, claim).await?
                {
                    let (outcome, answer) = (Outcome::default(), Answer::Replayed(body));
                    return Ok(Executed { intent, outcome, completion: None, answer });
                }
                let entry = command_entry(&intent, &request.command, &request.actor);
                let outcome = lifecycle::execute(&mut intent, request, now)?;
                if let Some((action, details)) = entry.filter(|_| outcome.applied) {
                    let target = AuditTarget::new("intent", id);
                    record(tx, by, At::tenant(tenant, now), action, target, details).await?;
                }
                let completion = persist(tx, ws, &intent, &outcome, now).await?;
                let response = MutationResponse::new(
                    &intent,
                    &outcome,
                    &request.command,
                    completion.as_ref().map(|c| (c.reply_to.as_str(), c.message_id)),
                );
                if let Some(claim) = idempotency {
                    tx.record_idempotency(ws, claim, id, &to_json(&response)?).await?;
                }
                Ok(Executed { intent, outcome, completion, answer: Answer::Fresh(response) })
            })
        })
        .await
    }
}

/// Writes a new intent with its events and initial timers, starts its workflow, and routes it
/// to its agent ([`routing::route`]) unless it waits for a person. Returns the intent as it
/// stands after that.
pub(super) async fn insert_new_intent(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    rows: &IntentRows,
    arrival: Arrival,
) -> Result<Intent> {
    let intent = &rows.intent;
    tx.insert_intent(ws, rows).await?;
    metrics::note(Fact::Created { intent_type: intent.intent_type.clone() });
    tx.announce(Topic::Intent(intent.intent_id));
    super::media::grant_references(tx, ws, intent).await?;
    inbox::announce(tx, ws, intent, &rows.events, true, intent.created_at).await?;
    let timers = lifecycle::initial_timers(intent);
    if !timers.is_empty() {
        tx.schedule(ws, intent.intent_id, &timers).await?;
        tx.announce(Topic::Timers);
    }
    let mut current = intent.clone();
    if current.workflow.is_some() {
        let from = intent.from_agent.clone();
        run_internal(tx, ws, &mut current, lifecycle::Command::StartWorkflow, &from, intent.created_at)
            .await?;
    }
    if current.status == Status::Submitted {
        let created_at = current.created_at;
        if let Some(routed) =
            routing::route(tx, ws, &current, routing::Reason::Submitted(arrival), created_at).await?
        {
            return Ok(routed);
        }
    }
    Ok(current)
}

/// Persists what [`lifecycle::execute`] decided for `intent`: its new state and events (the
/// thread and the subscribers hear of them), the timers it asked for (all of them dropped once
/// it ended), a new queue item when its lease ran out unacknowledged, the workflow's
/// notifications, and the completion for its `reply_to` once it ended (§4.6).
pub(super) async fn persist(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    intent: &Intent,
    outcome: &Outcome,
    now: Timestamp,
) -> Result<Option<CompletionDelivery>> {
    if !outcome.applied {
        return Ok(None);
    }
    tx.update_intent(ws, intent).await?;
    tx.insert_events(ws, &outcome.events).await?;
    if !outcome.events.is_empty() {
        tx.announce(Topic::Intent(intent.intent_id));
        inbox::announce(tx, ws, intent, &outcome.events, false, now).await?;
    }
    if intent.status.is_terminal() {
        tx.clear_timers(ws, intent.intent_id).await?;
    } else if !outcome.timers.is_empty() {
        tx.schedule(ws, intent.intent_id, &outcome.timers).await?;
        tx.announce(Topic::Timers);
    }
    if outcome.route {
        routing::route(tx, ws, intent, routing::Reason::Redelivery, now).await?;
    }
    for notification in &outcome.notifications {
        webhooks::notify_step(tx, ws, intent, notification, now).await?;
    }
    let ended = outcome.events.last().is_some_and(IntentEvent::is_terminal);
    if ended {
        metrics::note(Fact::Finished { status: intent.status, intent_type: intent.intent_type.clone() });
    }
    match (&intent.reply_to, ended) {
        (Some(reply_to), true) => inbox::deliver_completion(tx, ws, intent, reply_to, now).await.map(Some),
        _ => Ok(None),
    }
}

/// Runs a command the server itself issues (`caller: None`) as `actor` and persists its
/// outcome. Boxed: persisting may route, which may run another command.
pub(super) fn run_internal<'a>(
    tx: &'a mut dyn Transaction,
    ws: WorkspaceId,
    intent: &'a mut Intent,
    command: lifecycle::Command,
    actor: &'a str,
    now: Timestamp,
) -> BoxFuture<'a, Result<Outcome>> {
    Box::pin(async move {
        let request =
            Request { command, caller: None, actor: actor.to_owned(), expected_policy_generation: None };
        let outcome = lifecycle::execute(intent, &request, now)?;
        persist(tx, ws, intent, &outcome, now).await?;
        Ok(outcome)
    })
}

/// The apply response (§4.13) for `write`, whose intent routing left as `intent`, given which
/// agents were created. `with_keys` includes each new
/// agent's token and push secret (the fresh answer); the stored replay leaves them out, so
/// secrets never rest in the idempotency table.
fn scenario_response(
    write: &ScenarioWrite,
    intent: &Intent,
    created: &[Option<ServiceAccountId>],
    with_keys: bool,
    idempotent: bool,
) -> ApplyScenarioResponse {
    let agents: Vec<ProvisionedAgent> = write
        .agents
        .iter()
        .zip(created)
        .map(|(a, created)| ProvisionedAgent {
            role: a.planned.role.clone(),
            address: a.planned.address.to_string(),
            created: created.is_some(),
            service_account_id: *created,
            api_key: created.filter(|_| with_keys).map(|_| a.key.0.clone()),
            delivery_mode: a.account.delivery_mode,
            delivery_config: created.and(a.account.push.as_ref()).map(|push| {
                let mut config = serde_json::Map::new();
                config.insert("url".into(), serde_json::Value::String(push.url.clone()));
                if with_keys {
                    config.insert("secret".into(), serde_json::Value::String(push.secret.clone()));
                }
                config
            }),
        })
        .collect();
    ApplyScenarioResponse {
        ok: true,
        intent_id: intent.intent_id,
        scenario_id: write.scenario_id.clone(),
        status: intent.status,
        compile_id: write.compile_id.clone(),
        workflow_compile_id: write.compile_id.clone(),
        agents: agents.clone(),
        agents_provisioned: agents,
        pending_with: intent.to_agent.clone(),
        deadline_at: intent.deadline_at,
        created_at: intent.created_at,
        idempotent,
    }
}
