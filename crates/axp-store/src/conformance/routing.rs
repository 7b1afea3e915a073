//! A principal's routes and transport bindings (contract §6 "routing", §5.6).

use axp_core::Status;
use axp_core::ids::{DeliveryId, PrincipalId, RouteId, TransportBindingId};
use axp_core::routed::{RoutedDelivery, RoutedStatus};
use axp_core::routing::{
    AuthMode, NewRoute, RouteHealth, RouteStatus, RouteTarget, RouteUpdate, TransportBinding,
    TransportBindingStatus, TransportType,
};
use axp_core::tenancy::{AliasType, PrincipalType};
use serde_json::json;

use super::{T0, after_ms, new_intent, obj, tenant};
use crate::{Error, IdempotencyClaim, NewAlias, NewPrincipal, Store};

fn agent() -> NewPrincipal {
    NewPrincipal {
        principal_type: PrincipalType::ServiceAgent,
        display_name: None,
        metadata: Default::default(),
    }
}

/// Routes: registered for a principal of the route's workspace, changed, listed per principal,
/// removed; resolution by alias or principal orders the active candidates and picks one;
/// another workspace sees none of it.
pub async fn routes(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let ws = p.tenant.workspace_id;
    let ops = store.create_principal(&p.tenant, agent(), T0).await.unwrap();
    let other = store.create_principal(&p.tenant, agent(), T0).await.unwrap();
    let theirs = store.create_principal(&q.tenant, agent(), T0).await.unwrap();

    let mut slow = NewRoute::new(TransportType::Queue, "queue://ops-slow", AuthMode::None);
    slow.priority = 50;
    let slow = store.register_route(slow.into_route(&ops, T0)).await.unwrap();
    let fast = NewRoute::new(TransportType::Http, "https://ops.example.com/axp", AuthMode::SignedKey)
        .into_route(&ops, after_ms(1));
    let fast = store.register_route(fast).await.unwrap();
    store
        .register_route(
            NewRoute::new(TransportType::Queue, "queue://other", AuthMode::None).into_route(&other, T0),
        )
        .await
        .unwrap();
    // A route naming another workspace's principal is refused.
    let mut stray = NewRoute::new(TransportType::Queue, "queue://stray", AuthMode::None).into_route(&ops, T0);
    stray.principal_id = theirs.principal_id;
    assert!(matches!(store.register_route(stray).await, Err(Error::NotFound)));

    assert_eq!(store.get_route(fast.route_id).await.unwrap(), fast);
    assert!(matches!(store.get_route(RouteId::new()).await, Err(Error::NotFound)));
    let listed = store.list_routes(ws, Some(ops.principal_id), 10).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.route_id).collect::<Vec<_>>(), [slow.route_id, fast.route_id]);
    assert_eq!(store.list_routes(ws, None, 10).await.unwrap().len(), 3);
    assert!(store.list_routes(q.tenant.workspace_id, None, 10).await.unwrap().is_empty());

    // Lower priority first among equally healthy routes.
    let resolved = store.resolve_route(ws, RouteTarget::Principal(ops.principal_id)).await.unwrap();
    assert!(resolved.alias.is_none());
    assert_eq!(resolved.principal, ops);
    assert_eq!(resolved.selected.map(|r| r.route_id), Some(slow.route_id));

    let update = RouteUpdate { health_status: Some(RouteHealth::Unhealthy), ..RouteUpdate::default() };
    let sick = store.update_route(ws, slow.route_id, update, after_ms(5)).await.unwrap();
    assert_eq!(
        (sick.health_status, sick.updated_at, sick.created_at),
        (RouteHealth::Unhealthy, after_ms(5), T0)
    );
    assert_eq!(store.get_route(slow.route_id).await.unwrap(), sick);
    let update = RouteUpdate { status: Some(RouteStatus::Draining), ..RouteUpdate::default() };
    assert!(matches!(
        store.update_route(q.tenant.workspace_id, fast.route_id, update.clone(), after_ms(6)).await,
        Err(Error::NotFound)
    ));

    store
        .bind_alias(
            ops.principal_id,
            NewAlias {
                alias: "ops@acme".into(),
                alias_type: AliasType::Service,
                metadata: Default::default(),
            },
            T0,
        )
        .await
        .unwrap();
    let resolved = store.resolve_route(ws, RouteTarget::Alias("ops@acme".into())).await.unwrap();
    assert_eq!(resolved.alias.map(|a| a.principal_id), Some(ops.principal_id));
    assert_eq!(
        resolved.candidates.iter().map(|r| r.route_id).collect::<Vec<_>>(),
        [fast.route_id, slow.route_id]
    );
    assert_eq!(resolved.selected.map(|r| r.route_id), Some(fast.route_id));

    store.update_route(ws, fast.route_id, update, after_ms(6)).await.unwrap();
    let resolved = store.resolve_route(ws, RouteTarget::Principal(ops.principal_id)).await.unwrap();
    assert_eq!(resolved.candidates.len(), 1, "a draining route is no candidate");
    assert!(resolved.selected.is_none(), "an unhealthy route is never selected");

    assert!(matches!(
        store.resolve_route(ws, RouteTarget::Alias("nobody".into())).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.resolve_route(ws, RouteTarget::Principal(theirs.principal_id)).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.resolve_route(ws, RouteTarget::Principal(PrincipalId::new())).await,
        Err(Error::NotFound)
    ));

    assert!(matches!(store.remove_route(q.tenant.workspace_id, fast.route_id).await, Err(Error::NotFound)));
    store.remove_route(ws, fast.route_id).await.unwrap();
    assert!(matches!(store.remove_route(ws, fast.route_id).await, Err(Error::NotFound)));
    assert!(matches!(store.get_route(fast.route_id).await, Err(Error::NotFound)));
    assert_eq!(store.list_routes(ws, Some(ops.principal_id), 10).await.unwrap(), [sick]);
}

/// Transport bindings: upserted by (principal, transport type, handle), listed, removed, in
/// one workspace.
pub async fn transport_bindings(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let ws = p.tenant.workspace_id;
    let ops = store.create_principal(&p.tenant, agent(), T0).await.unwrap();
    let theirs = store.create_principal(&q.tenant, agent(), T0).await.unwrap();

    let queue = store
        .upsert_transport_binding(TransportBinding::new(&ops, TransportType::Queue, "ops-agent", T0))
        .await
        .unwrap();
    let mut again = TransportBinding::new(&ops, TransportType::Queue, "ops-agent", after_ms(3));
    again.priority = 7;
    again.status = TransportBindingStatus::Inactive;
    again.metadata = obj(json!({"note": "paused"}));
    let updated = store.upsert_transport_binding(again).await.unwrap();
    assert_eq!(
        (updated.binding_id, updated.created_at),
        (queue.binding_id, T0),
        "an upsert keeps id and created_at"
    );
    assert_eq!(
        (updated.priority, updated.status, updated.updated_at),
        (7, TransportBindingStatus::Inactive, after_ms(3))
    );
    assert_eq!(updated.metadata, obj(json!({"note": "paused"})));
    let push = store
        .upsert_transport_binding(TransportBinding::new(&ops, TransportType::Http, "ops-agent", after_ms(1)))
        .await
        .unwrap();
    assert_ne!(push.binding_id, queue.binding_id, "another transport is another binding");
    let mut stray = TransportBinding::new(&ops, TransportType::Queue, "x-agent", T0);
    stray.principal_id = theirs.principal_id;
    assert!(matches!(store.upsert_transport_binding(stray).await, Err(Error::NotFound)));

    assert_eq!(store.get_transport_binding(push.binding_id).await.unwrap(), push);
    assert!(matches!(store.get_transport_binding(TransportBindingId::new()).await, Err(Error::NotFound)));
    let listed = store.list_transport_bindings(ws, None, 10).await.unwrap();
    assert_eq!(listed, [updated.clone(), push.clone()]);
    assert_eq!(store.list_transport_bindings(ws, Some(ops.principal_id), 1).await.unwrap(), [updated]);
    assert!(store.list_transport_bindings(q.tenant.workspace_id, None, 10).await.unwrap().is_empty());
    let resolved = store.resolve_route(ws, RouteTarget::Principal(ops.principal_id)).await.unwrap();
    assert_eq!(resolved.bindings.len(), 2);

    assert!(matches!(
        store.remove_transport_binding(q.tenant.workspace_id, push.binding_id).await,
        Err(Error::NotFound)
    ));
    store.remove_transport_binding(ws, push.binding_id).await.unwrap();
    assert!(matches!(store.remove_transport_binding(ws, push.binding_id).await, Err(Error::NotFound)));
    assert_eq!(store.list_transport_bindings(ws, None, 10).await.unwrap().len(), 1);
}

/// Routed deliveries: the intent and the record are written together; the record reads its
/// status from the intent; an idempotent resend answers the first delivery; another workspace
/// sees none of it.
pub async fn routed_deliveries(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let ws = p.tenant.workspace_id;
    let ops = store.create_principal(&p.tenant, agent(), T0).await.unwrap();
    let route = NewRoute::new(TransportType::Queue, "queue://ops", AuthMode::None).into_route(&ops, T0);
    let route = store.register_route(route).await.unwrap();
    let send = |at: i64| {
        let (intent, events) = new_intent(&p, "ops-agent");
        let delivery = RoutedDelivery {
            delivery_id: DeliveryId::new(),
            replay_of_delivery_id: None,
            org_id: p.tenant.org_id,
            workspace_id: ws,
            principal_id: ops.principal_id,
            alias: None,
            transport_type: TransportType::Queue,
            route_id: route.route_id,
            status: RoutedStatus::Submitted,
            correlation_id: Some("corr-1".into()),
            idempotency_key: Some("key-0001".into()),
            payload: intent.payload.clone(),
            error_detail: None,
            created_at: after_ms(at),
            updated_at: after_ms(at),
            intent_id: intent.intent_id,
            to_agent: intent.to_agent.clone(),
        };
        (intent, events, delivery)
    };
    let claim = || IdempotencyClaim {
        caller: p.actor.id(),
        route: "POST /v1/deliveries".into(),
        key: "key-0001".into(),
        fingerprint: "f1".into(),
        expires_at: after_ms(60_000),
        now: T0,
    };
    let (intent, events, delivery) = send(0);
    let sent =
        store.submit_delivery(&p.tenant, intent, events, delivery.clone(), Some(claim())).await.unwrap();
    assert_eq!(sent.status, RoutedStatus::Submitted);
    let carried = store.get_intent(&p.tenant, sent.intent_id).await.unwrap();
    assert_eq!((carried.status, carried.to_agent.as_str()), (Status::Submitted, delivery.to_agent.as_str()));
    assert_eq!(store.get_routed_delivery(ws, sent.delivery_id).await.unwrap(), sent);

    let (intent, events, again) = send(5);
    let replayed =
        store.submit_delivery(&p.tenant, intent, events, again.clone(), Some(claim())).await.unwrap();
    assert_eq!(replayed.delivery_id, sent.delivery_id, "the same key answers the first delivery");
    assert!(matches!(store.get_intent(&p.tenant, again.intent_id).await, Err(Error::NotFound)));

    let (intent, events, second) = send(10);
    let second = store.submit_delivery(&p.tenant, intent, events, second, None).await.unwrap();
    let listed = store.list_routed_deliveries(ws, ops.principal_id, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| d.delivery_id).collect::<Vec<_>>(),
        [second.delivery_id, sent.delivery_id]
    );
    assert!(
        store.list_routed_deliveries(q.tenant.workspace_id, ops.principal_id, 10).await.unwrap().is_empty()
    );
    assert!(matches!(
        store.get_routed_delivery(q.tenant.workspace_id, sent.delivery_id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(store.get_routed_delivery(ws, DeliveryId::new()).await, Err(Error::NotFound)));
}
