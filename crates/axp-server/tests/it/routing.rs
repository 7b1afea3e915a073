//! Routing endpoints, route resolution, transport bindings and routed deliveries (contract §6
//! "routing", §5.5, §5.6; `docs/routing.md`), over raw HTTP against the public schemas, with a
//! real loopback receiver for the `http` transport. Waiting is on conditions, never on sleeps.

use std::sync::Arc;
use std::time::Duration;

use axp_engine::{DispatcherOptions, OutboundPolicy, RetrySchedule, SystemClock};
use axp_server::Options;
use axp_store::Topic;
use axp_test_util::TestServer;
use axp_test_util::receiver::Receiver;
use reqwest::Method;
use serde_json::{Value, json};

use crate::callers::{Callers, assert_schema, call};

/// A principal of the server's workspace; returns its id.
async fn principal(server: &TestServer) -> String {
    let t = &server.admin.tenant;
    let body = json!({"org_id": t.org_id, "workspace_id": t.workspace_id, "principal_type": "service_agent"});
    let (status, body) = call(server, &server.admin_key, Method::POST, "/v1/principals", Some(body)).await;
    assert_eq!(status, 200, "{body}");
    body["principal"]["principal_id"].as_str().unwrap().to_owned()
}

/// Registers a route as `key`; returns the status and body.
async fn register(server: &TestServer, key: &str, body: Value) -> (u16, Value) {
    call(server, key, Method::POST, "/v1/routing/endpoints", Some(body)).await
}

fn queue_route(principal: &str, url: &str, priority: u32) -> Value {
    json!({"principal_id": principal, "transport_type": "queue", "endpoint_url": url, "auth_mode": "none",
        "priority": priority})
}

/// `?org_id=&workspace_id=` of the server's workspace.
fn scope(server: &TestServer) -> String {
    let t = &server.admin.tenant;
    format!("org_id={}&workspace_id={}", t.org_id, t.workspace_id)
}

async fn resolve(server: &TestServer, key: &str, target: Value) -> (u16, Value) {
    let t = &server.admin.tenant;
    let mut body = json!({"org_id": t.org_id, "workspace_id": t.workspace_id});
    body.as_object_mut().unwrap().extend(target.as_object().unwrap().clone());
    call(server, key, Method::POST, "/v1/routing/resolve", Some(body)).await
}

fn selected(resolution: &Value) -> &str {
    resolution["resolution"]["selected_route"]["route_id"].as_str().unwrap()
}

/// A routed delivery body without axp's two additions, for the schema.
fn delivery_for_schema(body: &Value) -> Value {
    let mut body = body.clone();
    let delivery = body["delivery"].as_object_mut().unwrap();
    assert!(delivery.remove("intent_id").is_some() && delivery.remove("to_agent").is_some());
    body
}

#[tokio::test]
async fn routes_register_update_resolve_by_priority_health_and_status() {
    let server = TestServer::spawn().await;
    let key = &server.admin_key;
    let ops = principal(&server).await;
    let (status, slow) = register(&server, key, queue_route(&ops, "queue://ops-slow", 50)).await;
    assert_eq!(status, 200, "{slow}");
    assert_schema("api.routing.endpoints.register.response.v1", &slow, &[]);
    let slow_id = slow["route"]["route_id"].as_str().unwrap();
    assert_eq!(
        (slow["route"]["health_status"].as_str(), slow["route"]["status"].as_str()),
        (Some("unknown"), Some("active"))
    );
    let (_, fast) = register(&server, key, queue_route(&ops, "queue://ops-fast", 10)).await;
    let fast_id = fast["route"]["route_id"].as_str().unwrap();

    // Refused: matrix, a push endpoint the outbound policy blocks, a bad enum, an unknown principal.
    for (body, why) in [
        (
            json!({"principal_id": ops, "transport_type": "matrix", "endpoint_url": "!room:matrix.org", "auth_mode": "none"}),
            "matrix",
        ),
        (
            json!({"principal_id": ops, "transport_type": "http", "endpoint_url": "http://127.0.0.1:9/hook", "auth_mode": "signed_key"}),
            "loopback",
        ),
        (
            json!({"principal_id": ops, "transport_type": "queue", "endpoint_url": "queue://x-y-z", "auth_mode": "basic"}),
            "auth_mode",
        ),
        (
            json!({"principal_id": ops, "transport_type": "queue", "endpoint_url": "queue://x-y-z", "auth_mode": "none", "priority": 0}),
            "priority",
        ),
    ] {
        assert_eq!(register(&server, key, body).await.0, 422, "{why}");
    }
    let unknown = queue_route(&uuid::Uuid::now_v7().to_string(), "queue://nobody", 1);
    assert_eq!(register(&server, key, unknown).await.0, 404);

    let (status, listed) =
        call(&server, key, Method::GET, &format!("/v1/routing/endpoints?{}", scope(&server)), None).await;
    assert_eq!(status, 200);
    assert_schema("api.routing.endpoints.list.response.v1", &listed, &[]);
    assert_eq!(listed["routes"].as_array().unwrap().len(), 2);

    // The lower priority wins; then health decides; draining routes are no candidates.
    let (status, resolution) = resolve(&server, key, json!({"principal_id": ops})).await;
    assert_eq!(status, 200, "{resolution}");
    assert_schema("api.routing.resolve.response.v1", &resolution, &[]);
    assert_eq!(selected(&resolution), fast_id);
    assert_eq!(resolution["resolution"]["alias"], Value::Null);
    assert_eq!(
        resolution["resolution"]["resolver_chain"],
        json!(["alias", "principal_id", "endpoint_route", "transport_dispatch"])
    );

    let path = format!("/v1/routing/endpoints/{fast_id}");
    let (status, sick) =
        call(&server, key, Method::PATCH, &path, Some(json!({"health_status": "unhealthy"}))).await;
    assert_eq!(status, 200);
    assert_schema("api.routing.endpoints.update.response.v1", &sick, &[]);
    assert_eq!(sick["route"]["priority"], 10, "the fields not given are kept");
    let (_, resolution) = resolve(&server, key, json!({"principal_id": ops})).await;
    assert_eq!(selected(&resolution), slow_id, "an unhealthy route is not selected");
    let order: Vec<&str> = resolution["resolution"]["candidate_routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["route_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [slow_id, fast_id]);

    let alias = json!({"principal_id": ops, "alias": "ops@acme", "alias_type": "service"});
    assert_eq!(call(&server, key, Method::POST, "/v1/aliases", Some(alias)).await.0, 200);
    let (_, by_alias) = resolve(&server, key, json!({"alias": "ops@acme"})).await;
    assert_eq!(by_alias["resolution"]["alias"]["alias"], "ops@acme");
    assert_eq!(by_alias["resolution"]["principal"]["principal_id"], ops.as_str());
    assert_eq!(resolve(&server, key, json!({"alias": "nobody@acme"})).await.0, 404);
    assert_eq!(resolve(&server, key, json!({})).await.0, 422, "alias or principal_id");

    let draining = json!({"status": "draining"});
    call(&server, key, Method::PATCH, &format!("/v1/routing/endpoints/{slow_id}"), Some(draining)).await;
    let (status, none) = resolve(&server, key, json!({"principal_id": ops})).await;
    assert_eq!(status, 404, "no route left to select: {none}");
    assert_eq!(call(&server, key, Method::PATCH, &path, Some(json!({"status": "paused"}))).await.0, 422);

    let (status, removed) = call(&server, key, Method::DELETE, &path, None).await;
    assert_eq!(status, 200);
    assert_schema("api.routing.endpoints.remove.response.v1", &removed, &[]);
    assert_eq!(call(&server, key, Method::DELETE, &path, None).await.0, 404);
    assert_eq!(call(&server, key, Method::PATCH, &path, Some(json!({"priority": 3}))).await.0, 404);
}

/// Binds `handle` to `principal` over `transport`.
async fn bind(server: &TestServer, principal: &str, transport: &str, handle: &str) -> (u16, Value) {
    let body = json!({"principal_id": principal, "transport_type": transport, "transport_handle": handle});
    call(server, &server.admin_key, Method::POST, "/v1/transports/bindings", Some(body)).await
}

async fn send(server: &TestServer, key: &str, target: Value, idempotency_key: Option<&str>) -> (u16, Value) {
    let t = &server.admin.tenant;
    let mut body = json!({"org_id": t.org_id, "workspace_id": t.workspace_id, "payload": {"text": "restock"},
        "correlation_id": "order-7"});
    body.as_object_mut().unwrap().extend(target.as_object().unwrap().clone());
    if let Some(k) = idempotency_key {
        body["idempotency_key"] = json!(k);
    }
    call(server, key, Method::POST, "/v1/deliveries", Some(body)).await
}

#[tokio::test]
async fn queue_bindings_carry_routed_deliveries_to_the_agent_queue() {
    let server = TestServer::spawn().await;
    let key = &server.admin_key;
    let (agent, _) = server.agent("ops-agent", None).await;
    let ops = principal(&server).await;
    register(&server, key, queue_route(&ops, "queue://ops-agent", 5)).await;
    let alias = json!({"principal_id": ops, "alias": "ops@acme", "alias_type": "service"});
    call(&server, key, Method::POST, "/v1/aliases", Some(alias)).await;
    assert_eq!(
        send(&server, key, json!({"alias": "ops@acme"}), None).await.0,
        422,
        "no transport binding yet"
    );

    // Bindings: the handle is an agent the transport reaches.
    assert_eq!(bind(&server, &ops, "http", "ops-agent").await.0, 422, "a stream agent is not pushed to");
    assert_eq!(bind(&server, &ops, "matrix", "ops-agent").await.0, 422);
    assert_eq!(bind(&server, &ops, "queue", "nobody-agent").await.0, 422);
    let (status, bound) = bind(&server, &ops, "queue", "ops-agent").await;
    assert_eq!(status, 200, "{bound}");
    assert_schema("api.transports.bindings.upsert.response.v1", &bound, &[]);
    let body = json!({"principal_id": ops, "transport_type": "queue", "transport_handle": "ops-agent", "priority": 9});
    let (_, again) = call(&server, key, Method::POST, "/v1/transports/bindings", Some(body)).await;
    assert_eq!(again["binding"]["binding_id"], bound["binding"]["binding_id"], "an upsert");
    assert_eq!(again["binding"]["priority"], 9);
    let (_, listed) =
        call(&server, key, Method::GET, &format!("/v1/transports/bindings?{}", scope(&server)), None).await;
    assert_schema("api.transports.bindings.list.response.v1", &listed, &[]);
    assert_eq!(listed["bindings"].as_array().unwrap().len(), 1);

    // A delivery becomes an intent to the agent, in its queue.
    let (status, sent) = send(&server, key, json!({"alias": "ops@acme"}), Some("restock-0001")).await;
    assert_eq!(status, 200, "{sent}");
    assert_schema("api.deliveries.submit.response.v1", &delivery_for_schema(&sent), &[]);
    let delivery = &sent["delivery"];
    assert_eq!(
        (delivery["status"].as_str(), delivery["transport_type"].as_str()),
        (Some("submitted"), Some("queue"))
    );
    assert_eq!(
        (delivery["alias"].as_str(), delivery["principal_id"].as_str()),
        (Some("ops@acme"), Some(ops.as_str()))
    );
    assert_eq!(delivery["to_agent"], agent.agent_address.as_str());
    let intent_id = delivery["intent_id"].as_str().unwrap();
    let (_, intent) = call(&server, key, Method::GET, &format!("/v1/intents/{intent_id}"), None).await;
    assert_eq!(
        (intent["intent"]["status"].as_str(), intent["intent"]["payload"]["text"].as_str()),
        (Some("SUBMITTED"), Some("restock"))
    );

    let (_, resent) = send(&server, key, json!({"alias": "ops@acme"}), Some("restock-0001")).await;
    assert_eq!(resent["delivery"]["delivery_id"], delivery["delivery_id"], "the same idempotency key");

    let id = delivery["delivery_id"].as_str().unwrap();
    let (status, got) = call(&server, key, Method::GET, &format!("/v1/deliveries/{id}"), None).await;
    assert_eq!(status, 200);
    assert_schema("api.deliveries.get.response.v1", &delivery_for_schema(&got), &[]);
    let (status, replayed) =
        call(&server, key, Method::POST, &format!("/v1/deliveries/{id}/replay"), None).await;
    assert_eq!(status, 200, "{replayed}");
    assert_schema("api.deliveries.replay.response.v1", &delivery_for_schema(&replayed), &[]);
    assert_eq!(replayed["delivery"]["replay_of_delivery_id"], id);
    assert_ne!(replayed["delivery"]["intent_id"], delivery["intent_id"], "a replay is sent again");
    let list = format!("/v1/deliveries?{}&principal_id={ops}", scope(&server));
    let (_, mine) = call(&server, key, Method::GET, &list, None).await;
    assert_eq!(mine["deliveries"].as_array().unwrap().len(), 2);
    let (_, none) = call(&server, key, Method::GET, &format!("{list}&status=failed"), None).await;
    assert!(none["deliveries"].as_array().unwrap().is_empty());
    let (_, push) = call(&server, key, Method::GET, "/v1/deliveries", None).await;
    assert!(push["deliveries"].as_array().unwrap().is_empty(), "the push list keeps its meaning");

    let binding = bound["binding"]["binding_id"].as_str().unwrap();
    let path = format!("/v1/transports/bindings/{binding}");
    let (status, removed) = call(&server, key, Method::DELETE, &path, None).await;
    assert_eq!(status, 200);
    assert_schema("api.transports.bindings.remove.response.v1", &removed, &[]);
    assert_eq!(call(&server, key, Method::DELETE, &path, None).await.0, 404);
}

#[tokio::test]
async fn an_http_binding_pushes_a_routed_delivery_to_a_real_receiver() {
    let options = Options {
        clock: Arc::new(SystemClock),
        dispatcher: DispatcherOptions {
            schedule: RetrySchedule::parse("0s").unwrap(),
            concurrency: 2,
            attempt_timeout: Duration::from_secs(5),
            policy: OutboundPolicy::parse("127.0.0.0/8").unwrap(),
        },
        ..Options::from_env().expect("options")
    };
    let server = TestServer::spawn_with(options).await;
    let key = &server.admin_key;
    let mut receiver = Receiver::start([]).await;
    let body = json!({"name": "pusher", "delivery_mode": "http", "delivery_config": {"url": receiver.url}});
    assert_eq!(call(&server, key, Method::POST, "/v1/service-accounts", Some(body)).await.0, 200);
    let ops = principal(&server).await;
    let route = json!({"principal_id": ops, "transport_type": "webhook", "endpoint_url": receiver.url, "auth_mode": "signed_key"});
    let (status, route) = register(&server, key, route).await;
    assert_eq!(status, 200, "{route}");
    assert_eq!(bind(&server, &ops, "queue", "pusher").await.0, 422, "an http agent has no queue to read");
    assert_eq!(bind(&server, &ops, "webhook", "pusher").await.0, 200);

    let (status, sent) = send(&server, key, json!({"principal_id": ops}), None).await;
    assert_eq!(status, 200, "{sent}");
    let intent_id = sent["delivery"]["intent_id"].as_str().unwrap().to_owned();
    let got = receiver.next().await;
    assert_eq!(got.json()["intent_id"], intent_id.as_str());
    assert_eq!(got.json()["payload"]["text"], "restock");
    assert!(got.header("x-axme-signature").starts_with("sha256="));

    // The push is one of today's push deliveries; the routed delivery reads as delivered.
    let id = sent["delivery"]["delivery_id"].as_str().unwrap();
    let mut wake = server.state().notifier.subscribe(Topic::Deliveries);
    let mut status = String::new();
    for _ in 0..200 {
        wake.mark_seen();
        let (_, now) = call(&server, key, Method::GET, &format!("/v1/deliveries/{id}"), None).await;
        status = now["delivery"]["status"].as_str().unwrap().to_owned();
        if status == "delivered" {
            break;
        }
        tokio::time::timeout(Duration::from_secs(30), wake.changed()).await.expect("a delivery changed");
    }
    assert_eq!(status, "delivered");
    let (_, push) = call(&server, key, Method::GET, "/v1/deliveries", None).await;
    let pushes = push["deliveries"].as_array().unwrap();
    assert!(
        pushes.iter().any(|d| d["intent_id"] == intent_id.as_str() && d["status"] == "delivered"),
        "{push}"
    );

    // A route that no longer names the agent's push URL is refused, not pushed elsewhere.
    let route_id = route["route"]["route_id"].as_str().unwrap();
    let moved = json!({"endpoint_url": "http://127.0.0.1:9/elsewhere"});
    assert_eq!(
        call(&server, key, Method::PATCH, &format!("/v1/routing/endpoints/{route_id}"), Some(moved)).await.0,
        200
    );
    assert_eq!(send(&server, key, json!({"principal_id": ops}), None).await.0, 422);
    assert!(receiver.try_next().is_none());
}

#[tokio::test]
async fn wrong_keys_are_refused_and_change_nothing() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;
    let key = &server.admin_key;
    server.agent("ops-agent", None).await;
    let ops = principal(&server).await;
    let (_, route) = register(&server, key, queue_route(&ops, "queue://ops-agent", 5)).await;
    let route_id = route["route"]["route_id"].as_str().unwrap().to_owned();
    let (_, binding) = bind(&server, &ops, "queue", "ops-agent").await;
    let binding_id = binding["binding"]["binding_id"].as_str().unwrap().to_owned();
    let (_, sent) = send(&server, key, json!({"principal_id": ops}), None).await;
    let delivery_id = sent["delivery"]["delivery_id"].as_str().unwrap().to_owned();
    let routes = format!("/v1/routing/endpoints?{}", scope(&server));
    let bindings = format!("/v1/transports/bindings?{}", scope(&server));
    let before = (
        call(&server, key, Method::GET, &routes, None).await,
        call(&server, key, Method::GET, &bindings, None).await,
    );

    let writes = |key: &str| {
        let key = key.to_owned();
        let (ops, route_id, binding_id, delivery_id) =
            (ops.clone(), route_id.clone(), binding_id.clone(), delivery_id.clone());
        let server = &server;
        async move {
            vec![
                register(server, &key, queue_route(&ops, "queue://intruder", 1)).await.0,
                call(server, &key, Method::PATCH, &format!("/v1/routing/endpoints/{route_id}"), Some(json!({"priority": 1}))).await.0,
                call(server, &key, Method::DELETE, &format!("/v1/routing/endpoints/{route_id}"), None).await.0,
                call(server, &key, Method::POST, "/v1/transports/bindings", Some(json!({"principal_id": ops, "transport_type": "queue", "transport_handle": "ops-agent", "priority": 1}))).await.0,
                call(server, &key, Method::DELETE, &format!("/v1/transports/bindings/{binding_id}"), None).await.0,
                send(server, &key, json!({"principal_id": ops}), None).await.0,
                call(server, &key, Method::POST, &format!("/v1/deliveries/{delivery_id}/replay"), None).await.0,
            ]
        }
    };
    assert_eq!(writes(&callers.viewer).await, [403, 403, 403, 403, 403, 403, 403], "a viewer reads only");
    assert_eq!(writes(&callers.agent).await, [403, 403, 403, 403, 403, 403, 404], "an agent key");
    assert_eq!(writes(&callers.other).await, [404, 404, 404, 404, 404, 404, 404], "another organization");
    assert_eq!(resolve(&server, &callers.agent, json!({"principal_id": ops})).await.0, 403);
    assert_eq!(resolve(&server, &callers.other, json!({"principal_id": ops})).await.0, 404);
    assert_eq!(call(&server, &callers.other, Method::GET, &routes, None).await.0, 404);
    assert_eq!(call(&server, &callers.agent, Method::GET, &bindings, None).await.0, 403);
    assert_eq!(
        call(&server, &callers.other, Method::GET, &format!("/v1/deliveries/{delivery_id}"), None).await.0,
        404
    );
    assert_eq!(
        call(&server, &callers.viewer, Method::GET, &format!("/v1/deliveries/{delivery_id}"), None).await.0,
        200
    );

    let after = (
        call(&server, key, Method::GET, &routes, None).await,
        call(&server, key, Method::GET, &bindings, None).await,
    );
    assert_eq!(before, after, "nothing changed");
    let list = format!("/v1/deliveries?{}&principal_id={ops}", scope(&server));
    assert_eq!(
        call(&server, key, Method::GET, &list, None).await.1["deliveries"].as_array().unwrap().len(),
        1
    );
}
