//! A principal's routes and transport bindings (contract §6 "routing", §5.6), and their
//! resolution: alias → principal → route → transport binding.

use async_trait::async_trait;
use axp_core::ids::{DeliveryId, PrincipalId, RouteId, TransportBindingId, WorkspaceId};
use axp_core::routed::{RoutedDelivery, RoutedStatus};
use axp_core::routing::{Resolved, Route, RouteTarget, RouteUpdate, TransportBinding, select_route};
use axp_core::{Intent, IntentEvent, Timestamp};
use axp_store::{Error, IdempotencyClaim, IntentRows, Result, RoutingStore, Tenant, Transaction, to_json};

use super::Ledger;
use super::intents::insert_new_intent;

/// The principal `id` if it is in workspace `ws`.
async fn principal_in(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    id: PrincipalId,
) -> Result<axp_core::api::DirectoryPrincipal> {
    match tx.principal_by_id(id).await? {
        Some(p) if p.workspace_id == ws => Ok(p),
        _ => Err(Error::NotFound),
    }
}

/// `delivery` as it stands: status, error and `updated_at` from the intent carrying it.
async fn current(tx: &mut dyn Transaction, mut delivery: RoutedDelivery) -> Result<RoutedDelivery> {
    if let Some(intent) = tx.intent(delivery.workspace_id, delivery.intent_id).await? {
        observe(&mut delivery, &intent);
    }
    Ok(delivery)
}

/// Copies what `intent` says of it into `delivery`.
fn observe(delivery: &mut RoutedDelivery, intent: &Intent) {
    delivery.status = RoutedStatus::of(intent.status);
    delivery.error_detail = intent.error.as_ref().map(|e| match e.get("message").and_then(|m| m.as_str()) {
        Some(message) => message.to_owned(),
        None => e.to_string(),
    });
    delivery.updated_at = intent.updated_at;
}

/// Every row of a principal: routes and bindings of one principal are few.
const PER_PRINCIPAL: u32 = 1000;

#[async_trait]
impl RoutingStore for Ledger {
    async fn register_route(&self, route: Route) -> Result<Route> {
        self.write(route, |route, tx| {
            Box::pin(async move {
                principal_in(tx, route.workspace_id, route.principal_id).await?;
                tx.insert_route(route).await?;
                Ok(route.clone())
            })
        })
        .await
    }

    async fn get_route(&self, id: RouteId) -> Result<Route> {
        self.read(id, |id, tx| Box::pin(async move { tx.route(*id, false).await?.ok_or(Error::NotFound) }))
            .await
    }

    async fn update_route(
        &self,
        ws: WorkspaceId,
        id: RouteId,
        update: RouteUpdate,
        now: Timestamp,
    ) -> Result<Route> {
        self.write((ws, id, update, now), |(ws, id, update, now), tx| {
            Box::pin(async move {
                let mut route =
                    tx.route(*id, true).await?.filter(|r| r.workspace_id == *ws).ok_or(Error::NotFound)?;
                update.clone().apply(&mut route, *now);
                tx.update_route(&route).await?;
                Ok(route)
            })
        })
        .await
    }

    async fn remove_route(&self, ws: WorkspaceId, id: RouteId) -> Result<()> {
        self.write((ws, id), |(ws, id), tx| {
            Box::pin(
                async move { if tx.delete_route(*ws, *id).await? { Ok(()) } else { Err(Error::NotFound) } },
            )
        })
        .await
    }

    async fn list_routes(
        &self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<Route>> {
        self.read((ws, principal, limit), |(ws, principal, limit), tx| {
            Box::pin(tx.list_routes(*ws, *principal, *limit))
        })
        .await
    }

    async fn resolve_route(&self, ws: WorkspaceId, target: RouteTarget) -> Result<Resolved> {
        self.read((ws, target), |(ws, target), tx| {
            Box::pin(async move {
                let (alias, principal) = match target {
                    RouteTarget::Alias(name) => {
                        let alias = tx.active_alias(*ws, name).await?.ok_or(Error::NotFound)?;
                        let principal = principal_in(tx, *ws, alias.principal_id).await?;
                        (Some(alias), principal)
                    }
                    RouteTarget::Principal(id) => (None, principal_in(tx, *ws, *id).await?),
                };
                let id = Some(principal.principal_id);
                let routes = tx.list_routes(*ws, id, PER_PRINCIPAL).await?;
                let bindings = tx.list_transport_bindings(*ws, id, PER_PRINCIPAL).await?;
                let (candidates, selected) = select_route(routes);
                Ok(Resolved { alias, principal, candidates, selected, bindings })
            })
        })
        .await
    }

    async fn upsert_transport_binding(&self, binding: TransportBinding) -> Result<TransportBinding> {
        self.write(binding, |new, tx| {
            Box::pin(async move {
                principal_in(tx, new.workspace_id, new.principal_id).await?;
                let existing = tx
                    .transport_binding_by_key(
                        new.principal_id,
                        new.transport_type,
                        &new.transport_handle,
                        true,
                    )
                    .await?;
                match existing {
                    None => {
                        tx.insert_transport_binding(new).await?;
                        Ok(new.clone())
                    }
                    Some(mut binding) => {
                        binding.priority = new.priority;
                        binding.status = new.status;
                        binding.metadata = new.metadata.clone();
                        binding.updated_at = new.updated_at;
                        tx.update_transport_binding(&binding).await?;
                        Ok(binding)
                    }
                }
            })
        })
        .await
    }

    async fn get_transport_binding(&self, id: TransportBindingId) -> Result<TransportBinding> {
        self.read(id, |id, tx| {
            Box::pin(async move { tx.transport_binding(*id).await?.ok_or(Error::NotFound) })
        })
        .await
    }

    async fn remove_transport_binding(&self, ws: WorkspaceId, id: TransportBindingId) -> Result<()> {
        self.write((ws, id), |(ws, id), tx| {
            Box::pin(async move {
                if tx.delete_transport_binding(*ws, *id).await? { Ok(()) } else { Err(Error::NotFound) }
            })
        })
        .await
    }

    async fn list_transport_bindings(
        &self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<TransportBinding>> {
        self.read((ws, principal, limit), |(ws, principal, limit), tx| {
            Box::pin(tx.list_transport_bindings(*ws, *principal, *limit))
        })
        .await
    }

    /// Creates the intent carrying `delivery` (routed to its agent as any intent is) and the
    /// delivery record, in one transaction. With `idempotency`, a live record for the same key
    /// answers the delivery it created (nothing written).
    async fn submit_delivery(
        &self,
        tenant: &Tenant,
        intent: Intent,
        events: Vec<IntentEvent>,
        delivery: RoutedDelivery,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<RoutedDelivery> {
        // Serialized here, on the caller's thread, not inside the write transaction.
        let rows = IntentRows::new(intent, events)?;
        let arrival = self.arrival(tenant.workspace_id, &rows.intent.to_agent);
        let args = (tenant.workspace_id, rows, delivery, idempotency, arrival);
        self.write(args, |(ws, rows, delivery, idempotency, arrival), tx| {
            Box::pin(async move {
                let ws = *ws;
                if let Some(claim) = idempotency
                    && let Some((intent_id, _)) = tx.idempotent_replay(ws, claim).await?
                {
                    let first = tx.routed_delivery_for_intent(ws, intent_id).await?.ok_or(Error::NotFound)?;
                    return current(tx, first).await;
                }
                let intent = insert_new_intent(tx, ws, rows, *arrival).await?;
                let mut delivery = delivery.clone();
                observe(&mut delivery, &intent);
                tx.insert_routed_delivery(&delivery).await?;
                if let Some(claim) = idempotency {
                    tx.record_idempotency(ws, claim, intent.intent_id, &to_json(&delivery)?).await?;
                }
                Ok(delivery)
            })
        })
        .await
    }

    async fn get_routed_delivery(&self, ws: WorkspaceId, id: DeliveryId) -> Result<RoutedDelivery> {
        self.read((ws, id), |(ws, id), tx| {
            Box::pin(async move {
                let delivery = tx.routed_delivery(*ws, *id).await?.ok_or(Error::NotFound)?;
                current(tx, delivery).await
            })
        })
        .await
    }

    async fn list_routed_deliveries(
        &self,
        ws: WorkspaceId,
        principal: PrincipalId,
        limit: u32,
    ) -> Result<Vec<RoutedDelivery>> {
        self.read((ws, principal, limit), |(ws, principal, limit), tx| {
            Box::pin(async move {
                let mut out = Vec::new();
                for delivery in tx.list_routed_deliveries(*ws, *principal, *limit).await? {
                    out.push(current(tx, delivery).await?);
                }
                Ok(out)
            })
        })
        .await
    }
}
