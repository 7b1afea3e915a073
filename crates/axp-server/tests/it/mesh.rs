//! The agent mesh (contract §6 "Mesh") end to end, on a manual clock: heartbeats with and
//! without metrics, health derived as the clock moves, the agents list's summary and filters,
//! agent detail, the kill switch on every path (intents to and from the agent, its stream, its
//! claims, and an already open stream), resume, mesh events, audit entries, and wrong keys
//! changing nothing.

use std::sync::Arc;
use std::time::Duration;

use axp_core::Timestamp;
use axp_core::access::Role;
use axp_engine::ManualClock;
use axp_test_util::TestServer;
use serde_json::{Value, json};

use crate::helpers::http;

/// 10 s into a UTC day.
const START_MS: i64 = 1_780_272_010_000;

async fn server() -> (TestServer, ManualClock) {
    let clock = ManualClock::new(Timestamp::from_millis(START_MS));
    (TestServer::spawn_with_clock(Arc::new(clock.clone())).await, clock)
}

/// `method path` with `key` (and a JSON `body`): the status and the JSON answer.
async fn call(server: &TestServer, key: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http().request(method, format!("{}{path}", server.base_url)).header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn intent_to(to: &str) -> Value {
    json!({"intent_type": "notify.message.v1", "to_agent": to, "payload": {"text": "hi"}})
}

fn agent_in<'a>(list: &'a Value, address: &str) -> &'a Value {
    list["agents"].as_array().unwrap().iter().find(|a| a["address"] == address).expect("listed")
}

#[tokio::test]
async fn heartbeats_make_agents_healthy_and_health_follows_the_clock() {
    let (server, clock) = server().await;
    let admin = server.admin_key.clone();
    let (worker, key) = server.agent("worker", None).await;
    let (quiet, _) = server.agent("quiet", None).await;
    let address = worker.agent_address.clone();

    // A bodiless heartbeat (the SDK's without metrics), then one with metrics.
    let (status, beat) = call(&server, &key, "POST", "/v1/mesh/heartbeat", None).await;
    assert_eq!(status, 200, "{beat}");
    assert_eq!(beat["address_id"], worker.service_account_id.to_string());
    assert_eq!(
        (beat["ok"].clone(), beat["health_status"].clone(), beat["killed"].clone()),
        (json!(true), json!("healthy"), json!(false))
    );
    assert_eq!(beat["last_heartbeat_at"], "2026-06-01T00:00:10.000Z");
    let metrics = json!({"metrics": {"intents_total": 3, "intents_succeeded": 2, "intents_failed": 1, "avg_latency_ms": 12.5, "cost_usd": 0.25}});
    assert_eq!(call(&server, &key, "POST", "/v1/mesh/heartbeat", Some(metrics.clone())).await.0, 200);
    let bad = json!({"metrics": {"intents_total": "many"}});
    assert_eq!(call(&server, &key, "POST", "/v1/mesh/heartbeat", Some(bad)).await.0, 422);

    // A heartbeat counts as presence on the agents API.
    let (_, agent) = call(&server, &admin, "GET", &format!("/v1/agents/{address}"), None).await;
    assert_eq!(agent["agent"]["connection_state"], "connected", "{agent}");
    assert_eq!(agent["agent"]["health_status"], "healthy");

    let (status, list) = call(&server, &admin, "GET", "/v1/mesh/agents", None).await;
    assert_eq!(status, 200, "{list}");
    let listed = agent_in(&list, &address);
    assert_eq!(
        (listed["health_status"].clone(), listed["intents_period"].clone()),
        (json!("healthy"), json!(3))
    );
    assert_eq!(listed["cost_period"], 0.25);
    assert_eq!(agent_in(&list, &quiet.agent_address)["health_status"], "unknown");
    assert_eq!(agent_in(&list, &quiet.agent_address)["last_heartbeat_at"], Value::Null);
    let total = list["agents"].as_array().unwrap().len();
    assert_eq!(
        list["summary"],
        json!({"total": total, "healthy": 1, "degraded": 0, "unreachable": 0, "killed": 0})
    );

    clock.advance_seconds(61);
    let (_, list) = call(&server, &admin, "GET", "/v1/mesh/agents?health=degraded", None).await;
    assert_eq!(list["agents"].as_array().unwrap().len(), 1);
    assert_eq!(list["agents"][0]["address"], address.as_str());
    assert_eq!(list["summary"]["degraded"], 1);
    let (_, agent) = call(&server, &admin, "GET", &format!("/v1/agents/{address}"), None).await;
    assert_eq!(agent["agent"]["connection_state"], "disconnected");
    clock.advance_seconds(300);
    let (_, list) = call(&server, &admin, "GET", "/v1/mesh/agents?health=unreachable&limit=5", None).await;
    assert_eq!(list["agents"][0]["health_status"], "unreachable");
    assert_eq!(call(&server, &admin, "GET", "/v1/mesh/agents?health=sick", None).await.0, 422);
    assert_eq!(call(&server, &admin, "GET", "/v1/mesh/agents?window=year", None).await.0, 422);

    // Beating again: healthy, and the change is a mesh event.
    let (_, beat) = call(&server, &key, "POST", "/v1/mesh/heartbeat", Some(json!({}))).await;
    assert_eq!(beat["health_status"], "healthy");
    let (_, events) = call(&server, &admin, "GET", "/v1/mesh/events?event_type=health.changed", None).await;
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "unknown -> healthy, unreachable -> healthy");
    assert_eq!(events[0]["details"], json!({"from": "unreachable", "to": "healthy"}));
    assert_eq!(events[0]["address"], address.as_str());

    // A day later the day window is empty, the week window still counts.
    clock.advance_seconds(86_400);
    let path = format!("/v1/mesh/agents/{}", worker.service_account_id);
    let (status, detail) = call(&server, &admin, "GET", &path, None).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["agent"]["intents_period"], 0);
    let (_, detail) = call(&server, &admin, "GET", &format!("{path}?window=week"), None).await;
    let m = &detail["agent"]["metrics"];
    assert_eq!(
        (m["intents_total"].clone(), m["intents_failed"].clone(), m["avg_latency_ms"].clone()),
        (json!(3), json!(1), json!(12.5))
    );
    assert_eq!(detail["agent"]["events"].as_array().unwrap().len(), 2);
    assert_eq!(call(&server, &admin, "GET", "/v1/mesh/agents/not-an-id", None).await.0, 404);
}

#[tokio::test]
async fn a_killed_agent_is_refused_on_every_path_until_resumed() {
    let (server, _clock) = server().await;
    let admin = server.admin_key.clone();
    let (target, target_key) = server.agent("target", None).await;
    let (_, sender_key) = server.agent("sender", None).await;
    let to = target.agent_address.clone();
    let id = target.service_account_id;
    let stream = format!("/v1/agents/{to}/intents/stream?wait_seconds=30");

    // A stream of the agent is open when the kill lands: it ends.
    let open = http()
        .get(format!("{}{stream}", server.base_url))
        .header("x-api-key", &target_key)
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    let ws = server.admin.tenant.workspace_id;
    for _ in 0..100_000 {
        if server.state().presence.streams(ws, &to) > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(server.state().presence.streams(ws, &to) > 0, "the stream subscribed");

    let (status, killed) = call(&server, &admin, "POST", &format!("/v1/mesh/agents/{id}/kill"), None).await;
    assert_eq!(status, 200, "{killed}");
    assert_eq!(
        (killed["health_status"].clone(), killed["address_id"].clone()),
        (json!("killed"), json!(id.to_string()))
    );
    assert!(killed["killed_at"].is_string());
    let body = tokio::time::timeout(Duration::from_secs(20), open.text())
        .await
        .expect("the open stream ended")
        .unwrap();
    assert!(body.contains("stream.timeout"), "{body}");

    let refused = |(status, body): (u16, Value)| {
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "policy_denied");
    };
    refused(call(&server, &sender_key, "POST", "/v1/intents", Some(intent_to(&to))).await);
    refused(call(&server, &target_key, "POST", "/v1/intents", Some(intent_to("sender"))).await);
    refused(call(&server, &target_key, "GET", &stream, None).await);
    refused(call(&server, &target_key, "POST", &format!("/v1/agents/{to}/intents/claim"), None).await);
    // The agent still beats, and learns it is killed.
    let (_, beat) = call(&server, &target_key, "POST", "/v1/mesh/heartbeat", None).await;
    assert_eq!((beat["killed"].clone(), beat["health_status"].clone()), (json!(true), json!("killed")));
    let (_, list) = call(&server, &admin, "GET", "/v1/mesh/agents?health=killed", None).await;
    assert_eq!(list["summary"]["killed"], 1);
    assert_eq!(list["agents"][0]["address"], to.as_str());
    // Killing again changes nothing.
    let (_, again) = call(&server, &admin, "POST", &format!("/v1/mesh/agents/{id}/kill"), None).await;
    assert_eq!(again["killed_at"], killed["killed_at"]);

    let (status, resumed) =
        call(&server, &admin, "POST", &format!("/v1/mesh/agents/{id}/resume"), None).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["health_status"], "healthy", "it kept beating");
    assert!(resumed["resumed_at"].is_string());
    assert_eq!(call(&server, &sender_key, "POST", "/v1/intents", Some(intent_to(&to))).await.0, 200);
    assert_eq!(call(&server, &target_key, "POST", "/v1/intents", Some(intent_to("sender"))).await.0, 200);
    let claimed = call(&server, &target_key, "POST", &format!("/v1/agents/{to}/intents/claim"), None).await;
    assert_eq!(claimed.0, 200);
    assert_eq!(claimed.1["intents"].as_array().unwrap().len(), 1);

    let (_, events) = call(&server, &admin, "GET", "/v1/mesh/events", None).await;
    let kinds: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..2], ["agent.resumed", "agent.killed"], "newest first, the repeat not logged");
    assert_eq!(events["events"][0]["actor_id"], server.admin.actor.id().to_string());
    assert_eq!(
        call(&server, &admin, "GET", "/v1/mesh/events?limit=1", None).await.1["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for action in ["agent.killed", "agent.resumed"] {
        let (_, audit) = call(&server, &admin, "GET", &format!("/v1/audit?action={action}"), None).await;
        let entries = audit["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{action}: {audit}");
        assert_eq!(entries[0]["target"]["id"], id.to_string());
    }
}

#[tokio::test]
async fn wrong_keys_cannot_kill_and_change_nothing() {
    let (server, _clock) = server().await;
    let admin = server.admin_key.clone();
    let (target, agent_key) = server.agent("target", None).await;
    let (_, member) = server.agent_with_role("member", None, Role::Member).await;
    let (_, viewer) = server.agent_with_role("viewer", None, Role::SecurityAuditor).await;
    let other = server.other_tenant().await;
    let id = target.service_account_id;
    for (who, key, want) in [
        ("agent", &agent_key, 403),
        ("member", &member, 403),
        ("viewer", &viewer, 403),
        ("other", &other, 404),
    ] {
        for verb in ["kill", "resume"] {
            let (status, body) =
                call(&server, key, "POST", &format!("/v1/mesh/agents/{id}/{verb}"), None).await;
            assert_eq!(status, want, "{who} {verb}: {body}");
        }
    }
    // Reading: an agent key sees no mesh; a viewer does; another workspace not this one's agents.
    assert_eq!(call(&server, &agent_key, "GET", "/v1/mesh/agents", None).await.0, 403);
    assert_eq!(call(&server, &agent_key, "GET", "/v1/mesh/events", None).await.0, 403);
    assert_eq!(call(&server, &viewer, "GET", "/v1/mesh/agents", None).await.0, 200);
    assert_eq!(call(&server, &viewer, "POST", "/v1/mesh/heartbeat", None).await.0, 403);
    assert_eq!(call(&server, &other, "GET", &format!("/v1/mesh/agents/{id}"), None).await.0, 404);
    let (_, theirs) = call(&server, &other, "GET", "/v1/mesh/agents", None).await;
    assert!(
        theirs["agents"].as_array().unwrap().iter().all(|a| a["address"] != target.agent_address.as_str())
    );

    // Nothing changed: no kill, no event, no audit entry; the agent still works.
    let (_, events) = call(&server, &admin, "GET", "/v1/mesh/events", None).await;
    assert_eq!(events["events"], json!([]));
    let (_, audit) = call(&server, &admin, "GET", "/v1/audit?action=agent.killed", None).await;
    assert_eq!(audit["entries"], json!([]));
    assert!(server.state().store.killed_agents(&server.admin.tenant).await.unwrap().is_empty());
    assert_eq!(call(&server, &agent_key, "POST", "/v1/intents", Some(intent_to("member"))).await.0, 200);
}
