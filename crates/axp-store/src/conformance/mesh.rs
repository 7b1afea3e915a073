//! The agent mesh: heartbeats stamp an agent's state and add up its metrics per UTC day; one
//! from an agent that was not healthy logs `health.changed`; the kill switch turns on and off
//! once (a repeat changes nothing), logs and audits each change, and shows in the cached killed
//! set at once; events come newest first and filter by type; nothing crosses workspaces.

use axp_core::api::actions;
use axp_core::mesh::{HeartbeatMetrics, event_types};
use axp_core::quota::day_of;

use super::{T0, account, after_ms, by, tenant};
use crate::{Audit, AuditFilter, Error, Store};

pub(super) async fn heartbeats_kills_and_events(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (other, _) = tenant(store).await;
    let a = store.create_service_account(&p.tenant, account(&p, "beater", "beater"), &by()).await.unwrap();
    let b = store.create_service_account(&p.tenant, account(&p, "quiet", "quiet"), &by()).await.unwrap();
    let day = day_of(T0);

    // A first heartbeat: health was unknown, so it logs a change; metrics add up per day.
    let m = HeartbeatMetrics {
        intents_total: 2,
        intents_succeeded: 1,
        intents_failed: 1,
        avg_latency_ms: Some(30.0),
        cost_usd: 0.5,
    };
    let s = store.mesh_heartbeat(&p.tenant, &a, Some(m), T0).await.unwrap();
    assert_eq!(
        (s.service_account_id, s.last_heartbeat_at, s.killed_at),
        (a.service_account_id, Some(T0), None)
    );
    assert_eq!(s.address, a.agent_address);
    // 10 s later it is still healthy: no event. A day later: another day's row.
    store.mesh_heartbeat(&p.tenant, &a, Some(m), after_ms(10_000)).await.unwrap();
    store.mesh_heartbeat(&p.tenant, &a, None, after_ms(20_000)).await.unwrap();
    store.mesh_heartbeat(&p.tenant, &a, Some(m), after_ms(86_400_000)).await.unwrap();

    let view = store.mesh_agents(&p.tenant, day, day).await.unwrap();
    let names: Vec<_> = view.agents.iter().map(|sa| sa.name.as_str()).collect();
    assert!(names.ends_with(&["beater", "quiet"]), "oldest first: {names:?}");
    assert_eq!(view.states.len(), 1, "only the agent that beat has a state");
    assert_eq!(view.states[0].last_heartbeat_at, Some(after_ms(86_400_000)));
    assert_eq!(view.metrics.len(), 1);
    let t = view.metrics[0].total;
    assert_eq!((t.intents_total, t.intents_succeeded, t.intents_failed, t.reports), (4, 2, 2, 2));
    assert_eq!((t.latency_ms_sum, t.latency_weight, t.cost_usd), (120.0, 4, 1.0));
    let both = store.mesh_agents(&p.tenant, day, day + 1).await.unwrap();
    assert_eq!(both.metrics.len(), 2);

    let changes = store.mesh_events(&p.tenant, Some(event_types::HEALTH_CHANGED), 10).await.unwrap();
    assert_eq!(changes.len(), 2, "unknown -> healthy, then unreachable -> healthy a day later");
    assert_eq!(changes[0].details.as_ref().unwrap()["from"], "unreachable");
    assert_eq!(changes[1].details.as_ref().unwrap()["from"], "unknown");
    assert_eq!(changes[0].actor_id, None);

    // The kill switch.
    assert!(store.killed_agents(&p.tenant).await.unwrap().is_empty());
    let admin = Audit::new(&p.actor, Some("trace-kill".into()));
    let kill_at = after_ms(86_401_000);
    let (sa, s) =
        store.set_agent_killed(&p.tenant, b.service_account_id, true, kill_at, &admin).await.unwrap();
    assert_eq!(
        (sa.service_account_id, s.killed_at, s.last_heartbeat_at),
        (b.service_account_id, Some(kill_at), None)
    );
    assert!(store.killed_agents(&p.tenant).await.unwrap().contains(&b.agent_address), "seen at once");
    let (_, again) = store
        .set_agent_killed(&p.tenant, b.service_account_id, true, after_ms(86_402_000), &admin)
        .await
        .unwrap();
    assert_eq!(again.killed_at, Some(kill_at), "a repeat changes nothing");
    // A killed agent's heartbeat is recorded and logs no health change.
    store.mesh_heartbeat(&p.tenant, &b, None, after_ms(86_403_000)).await.unwrap();
    assert!(store.killed_agents(&other.tenant).await.unwrap().is_empty(), "per workspace");
    assert!(matches!(
        store.set_agent_killed(&other.tenant, b.service_account_id, true, kill_at, &admin).await,
        Err(Error::NotFound)
    ));
    let resumed_at = after_ms(86_404_000);
    let (_, s) =
        store.set_agent_killed(&p.tenant, b.service_account_id, false, resumed_at, &admin).await.unwrap();
    assert_eq!((s.killed_at, s.last_heartbeat_at), (None, Some(after_ms(86_403_000))));
    assert!(store.killed_agents(&p.tenant).await.unwrap().is_empty());
    store.set_agent_killed(&p.tenant, b.service_account_id, false, resumed_at, &admin).await.unwrap();

    let events = store.mesh_events(&p.tenant, None, 10).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            event_types::AGENT_RESUMED,
            event_types::AGENT_KILLED,
            event_types::HEALTH_CHANGED,
            event_types::HEALTH_CHANGED
        ],
        "newest first, repeats not logged"
    );
    assert_eq!(events[0].actor_id.as_deref(), Some(p.actor.id().to_string().as_str()));
    assert_eq!(events[0].address, b.agent_address);
    assert_eq!(store.mesh_events(&p.tenant, None, 1).await.unwrap().len(), 1);
    assert!(store.mesh_events(&other.tenant, None, 10).await.unwrap().is_empty());

    let (detail, events) =
        store.mesh_agent(&p.tenant, b.service_account_id, (day, day + 1), 10).await.unwrap();
    assert_eq!(detail.agents.len(), 1);
    assert!(detail.metrics.is_empty());
    assert_eq!(events.len(), 2, "only its own events");
    assert!(matches!(
        store.mesh_agent(&other.tenant, b.service_account_id, (day, day), 10).await,
        Err(Error::NotFound)
    ));

    let filter =
        |action: &str| AuditFilter { action: Some(action.into()), ..AuditFilter::org(p.tenant.org_id, 10) };
    let (killed, _) = store.list_audit(&filter(actions::AGENT_KILLED)).await.unwrap();
    let (resumed, _) = store.list_audit(&filter(actions::AGENT_RESUMED)).await.unwrap();
    assert_eq!((killed.len(), resumed.len()), (1, 1), "one entry per change");
    assert_eq!(killed[0].trace_id.as_deref(), Some("trace-kill"));
    assert_eq!(killed[0].target.id, b.service_account_id.to_string());
    assert_eq!(killed[0].details["address"], b.agent_address.as_str());
}
