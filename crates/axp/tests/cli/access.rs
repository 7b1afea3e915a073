//! The access matrix of `docs/access.md`, row by row, against the real binary (`axp serve` on
//! port 0, everything set up over HTTP): every row is called with each kind of key (admin,
//! member, agent-scoped, viewer, another organization's admin), the status must be the
//! documented one, and a refused call (and any call from another workspace) must leave the
//! workspace as it was. A documented row without a request here fails the test, so the document
//! and the server cannot drift apart.

use axp_test_util::receiver::Receiver;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::Server as TestServer;

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

const DOC: &str = include_str!("../../../../docs/access.md");

/// The matrix's columns, in order.
const COLUMNS: [&str; 5] = ["admin", "member", "agent", "viewer", "other"];

const ADMIN: &str = "agent://default/default/admin";

/// One documented row: family name and the expected status per column.
struct Row {
    family: String,
    expected: [u16; 5],
}

/// The rows of every matrix table in `docs/access.md`: seven cells, the first a backticked
/// family name.
fn rows() -> Vec<Row> {
    DOC.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| line.split('|').map(str::trim).collect::<Vec<_>>())
        .filter(|cells| cells.len() == 9)
        .map(|cells| {
            let family = cells[1].trim_matches('`').to_owned();
            let expected: Vec<u16> = cells[3..8]
                .iter()
                .map(|c| c.parse().unwrap_or_else(|_| panic!("{family}: status {c}")))
                .collect();
            Row { family, expected: expected.try_into().unwrap() }
        })
        .collect()
}

/// The binary, with webhook deliveries allowed to reach a local receiver and sent at once, and
/// `/metrics` behind a token of its own (which no key is).
async fn server() -> TestServer {
    TestServer::start_with_env(&[
        ("AXP_OUTBOUND_ALLOW", "127.0.0.0/8"),
        ("AXP_PUSH_RETRY_SCHEDULE", "0s"),
        ("AXP_METRICS_TOKEN", "access-matrix-metrics-token"),
    ])
    .await
}

/// One key per column.
struct Keys([String; 5]);

/// A new service account `name` of the admin's workspace with a key, holding `role` there when
/// given; its id and key.
async fn account(server: &TestServer, name: &str, role: Option<&str>) -> (String, String) {
    let sa = admin(server, Method::POST, "/v1/service-accounts", json!({"name": name})).await;
    let sa = &sa["service_account"];
    let id = sa["service_account_id"].as_str().unwrap().to_owned();
    let key = admin(server, Method::POST, &format!("/v1/service-accounts/{id}/keys"), json!({})).await;
    if let Some(role) = role {
        let org = sa["org_id"].as_str().unwrap();
        let member = json!({"org_id": org, "workspace_id": sa["workspace_id"], "actor_id": id, "role": role});
        admin(server, Method::POST, &format!("/v1/organizations/{org}/members"), member).await;
    }
    (id, key["key"]["token"].as_str().unwrap().to_owned())
}

/// The owner of another organization: the admin creates one with a workspace, gives it a
/// service account owning that organization, and mints its key.
async fn other_organization(server: &TestServer) -> String {
    let org = admin(
        server,
        Method::POST,
        "/v1/organizations",
        json!({"name": "Other", "requested_by_actor_id": "admin"}),
    )
    .await["organization"]["org_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ws = admin(
        server,
        Method::POST,
        &format!("/v1/organizations/{org}/workspaces"),
        json!({"name": "elsewhere", "environment": "sandbox"}),
    )
    .await["workspace"]["workspace_id"]
        .clone();
    let body = json!({"org_id": org, "workspace_id": ws, "name": "other-owner"});
    let sa = admin(server, Method::POST, "/v1/service-accounts", body).await;
    let id = sa["service_account"]["service_account_id"].as_str().unwrap().to_owned();
    let member = json!({"org_id": org, "actor_id": id, "role": "org_owner"});
    admin(server, Method::POST, &format!("/v1/organizations/{org}/members"), member).await;
    let key = admin(server, Method::POST, &format!("/v1/service-accounts/{id}/keys"), json!({})).await;
    key["key"]["token"].as_str().unwrap().to_owned()
}

async fn keys(server: &TestServer) -> Keys {
    let (_, member) = account(server, "member-sa", Some("member")).await;
    let (_, agent) = account(server, "worker", None).await;
    let (_, viewer) = account(server, "auditor", Some("security_auditor")).await;
    account(server, "target", None).await;
    let other = other_organization(server).await;
    Keys([server.admin_key.clone(), member, agent, viewer, other])
}

/// The admin's objects a row's request names, made afresh for every call.
struct Objects {
    /// The admin's workspace.
    ws: String,
    intent: String,
    task: String,
    sa: String,
    key: String,
    sub: String,
    event: String,
    delivery: String,
    /// The admin's organization, a principal of its workspace, a route and a `queue` binding
    /// of it (to the service account `sa`'s address).
    org: String,
    principal: String,
    route: String,
    binding: String,
    handle: String,
    /// A pending media upload of the admin, 5 bytes sent.
    upload: String,
}

/// `method path` with `body` as `key`; the status and the JSON body (`Null` when there is none).
async fn call(
    server: &TestServer,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http().request(method, format!("{}{path}", server.url)).header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    // Streams are not read: their status is all a row checks.
    let is_stream = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let body = if is_stream { Value::Null } else { response.json().await.unwrap_or(Value::Null) };
    (status, body)
}

/// A call as the admin that must succeed; its body.
async fn admin(server: &TestServer, method: Method, path: &str, body: Value) -> Value {
    let (status, body) = call(server, &server.admin_key, method, path, Some(body)).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn objects(server: &TestServer, hook: &str, n: usize) -> Objects {
    let intent = admin(
        server,
        Method::POST,
        "/v1/intents",
        json!({"intent_type": "access.probe.v1", "to_agent": "target", "payload": {"n": n}}),
    )
    .await;
    let task = admin(
        server,
        Method::POST,
        "/v1/intents",
        json!({"intent_type": "access.task.v1", "to_agent": "target", "payload": {},
               "human_task": {"title": "Approve", "task_type": "approval"}}),
    )
    .await;
    let sa =
        admin(server, Method::POST, "/v1/service-accounts", json!({"name": format!("victim-{n}")})).await;
    let ws = sa["service_account"]["workspace_id"].as_str().unwrap().to_owned();
    let org = sa["service_account"]["org_id"].as_str().unwrap().to_owned();
    let handle = sa["service_account"]["agent_address"].as_str().unwrap().to_owned();
    let sa = sa["service_account"]["service_account_id"].as_str().unwrap().to_owned();
    let principal = admin(
        server,
        Method::POST,
        "/v1/principals",
        json!({"org_id": org, "workspace_id": ws, "principal_type": "service_agent"}),
    )
    .await["principal"]["principal_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let route = admin(
        server,
        Method::POST,
        "/v1/routing/endpoints",
        json!({"principal_id": principal, "transport_type": "queue", "endpoint_url": format!("queue://probe-{n}"),
               "auth_mode": "none"}),
    )
    .await["route"]["route_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let binding = admin(
        server,
        Method::POST,
        "/v1/transports/bindings",
        json!({"principal_id": principal, "transport_type": "queue", "transport_handle": &handle}),
    )
    .await["binding"]["binding_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = admin(server, Method::POST, &format!("/v1/service-accounts/{sa}/keys"), json!({})).await;
    let sub = admin(
        server,
        Method::POST,
        &format!("/v1/webhooks/subscriptions?owner_agent={ADMIN}"),
        json!({"callback_url": format!("{hook}?n={n}"), "event_types": ["inbox.thread_created"]}),
    )
    .await;
    let sub = sub["subscription"]["subscription_id"].as_str().unwrap().to_owned();
    let event = admin(
        server,
        Method::POST,
        &format!("/v1/webhooks/events?owner_agent={ADMIN}"),
        json!({"event_type": "inbox.thread_created", "source": "probe", "payload": {"n": n}}),
    )
    .await;
    admin(server, Method::POST, "/v1/schemas", probe_schema("tenant", "strict")).await;
    let deliveries = admin(server, Method::GET, "/v1/deliveries?limit=500", Value::Null).await;
    let delivery = deliveries["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["subscription_id"] == sub.as_str())
        .expect("the event's delivery")["delivery_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let upload = admin(
        server,
        Method::POST,
        "/v1/media/create-upload",
        json!({"owner_agent": ADMIN, "filename": "probe.txt", "mime_type": "text/plain", "size_bytes": 5}),
    )
    .await["upload_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // `"abc"` as JSON: 5 bytes.
    admin(server, Method::PUT, &format!("/v1/media/upload/{upload}"), json!("abc")).await;
    Objects {
        ws,
        upload,
        intent: intent["intent_id"].as_str().unwrap().to_owned(),
        task: task["intent_id"].as_str().unwrap().to_owned(),
        sa,
        key: key["key"]["key_id"].as_str().unwrap().to_owned(),
        sub,
        event: event["event_id"].as_str().unwrap().to_owned(),
        delivery,
        org,
        principal,
        route,
        binding,
        handle,
    }
}

/// An upsert of schema `axp.access.probe.v1` in `scope` (`objects` registers it `strict`).
fn probe_schema(scope: &str, mode: &str) -> Value {
    json!({"semantic_type": "axp.access.probe.v1", "schema_json": {"type": "object"},
           "compatibility_mode": mode, "scope": scope})
}

/// The request of a documented family, over `o`.
fn request(family: &str, o: &Objects) -> (Method, String, Option<Value>) {
    let (post, get) = (Method::POST, Method::GET);
    let as_admin = format!("owner_agent={ADMIN}");
    let target_bundle = json!({"scenario_id": "access.probe.v1",
        "agents": [{"role": "svc", "address": "target"}],
        "workflow": {"steps": [{"step_id": "s", "tool_id": "tool.agent.task.v1", "assigned_to": "svc"}]},
        "intent": {"type": "access.scenario.v1", "payload": {}}});
    let creating_bundle = json!({"scenario_id": "access.create.v1",
        "agents": [{"role": "svc", "address": format!("made-{}", &o.sa[..8]), "create_if_missing": true}],
        "workflow": {"steps": [{"step_id": "s", "tool_id": "tool.agent.task.v1", "assigned_to": "svc"}]},
        "intent": {"type": "access.scenario.v1", "payload": {}}});
    let (i, t, sa) = (&o.intent, &o.task, &o.sa);
    match family {
        "health" => (get, "/health".into(), None),
        "health.v1" => (get, "/v1/health".into(), None),
        "ready" => (get, "/ready".into(), None),
        "capabilities" => (get, "/v1/capabilities".into(), None),
        "openapi" => (get, "/openapi.json".into(), None),
        "intents.create" => (
            post,
            "/v1/intents".into(),
            Some(json!({"intent_type": "access.new.v1", "to_agent": "target", "payload": {}})),
        ),
        "intents.list" => (get, "/v1/intents".into(), None),
        "intents.get" => (get, format!("/v1/intents/{i}"), None),
        "intents.events" => (get, format!("/v1/intents/{i}/events"), None),
        "intents.stream" => (get, format!("/v1/intents/{i}/events/stream?wait_seconds=1"), None),
        "intents.resolve" => (post, format!("/v1/intents/{i}/resolve"), Some(json!({"status": "CANCELED"}))),
        "intents.resume" => {
            (post, format!("/v1/intents/{i}/resume"), Some(json!({"approve_current_step": true})))
        }
        "intents.controls" => (
            post,
            format!("/v1/intents/{i}/controls"),
            Some(json!({"controls_patch": {"timeout_seconds": 9}})),
        ),
        "intents.policy" => (
            post,
            format!("/v1/intents/{i}/policy"),
            Some(json!({"grants_patch": {"delegate:agent://default/default/worker": {"allow": ["resume"]}}})),
        ),
        "intents.bulk_cancel" => {
            (post, "/v1/intents/bulk-cancel".into(), Some(json!({"older_than_hours": 0})))
        }
        "tasks.resume" => {
            (post, format!("/v1/intents/{t}/resume"), Some(json!({"task_result": {"outcome": "approved"}})))
        }
        "tasks.approve" => {
            (post, format!("/v1/inbox/{t}/approve?{as_admin}"), Some(json!({"comment": "ok"})))
        }
        "tasks.reject" => (post, format!("/v1/inbox/{t}/reject?{as_admin}"), Some(json!({"comment": "no"}))),
        "tasks.decision" => {
            (post, format!("/v1/approvals/{t}/decision"), Some(json!({"decision": "approve"})))
        }
        "me.tasks" => (get, "/v1/me/tasks".into(), None),
        "inbox.list" => (get, format!("/v1/inbox?{as_admin}"), None),
        "inbox.changes" => (get, format!("/v1/inbox/changes?{as_admin}"), None),
        "inbox.get" => (get, format!("/v1/inbox/{i}?{as_admin}"), None),
        "inbox.reply" => (post, format!("/v1/inbox/{i}/reply?{as_admin}"), Some(json!({"message": "hi"}))),
        "inbox.delegate" => (
            post,
            format!("/v1/inbox/{i}/delegate?{as_admin}"),
            Some(json!({"delegate_to": "agent://default/default/someone"})),
        ),
        "inbox.read" => (post, format!("/v1/inbox/{i}/read?{as_admin}"), Some(json!({}))),
        "inbox.delete_messages" => {
            (post, format!("/v1/inbox/{i}/messages/delete?{as_admin}"), Some(json!({"mode": "self"})))
        }
        "agents.list" => (get, "/v1/agents".into(), None),
        "agents.get" => (get, "/v1/agents/target".into(), None),
        "agents.stream" => (get, "/v1/agents/target/intents/stream?wait_seconds=1".into(), None),
        "agents.claim" => (post, "/v1/agents/target/intents/claim".into(), Some(json!({}))),
        "agents.binding" => {
            (Method::PUT, "/v1/agents/target/delivery".into(), Some(json!({"delivery_mode": "poll"})))
        }
        "service_accounts.create" => {
            (post, "/v1/service-accounts".into(), Some(json!({"name": format!("new-{sa}")})))
        }
        "service_accounts.list" => (get, "/v1/service-accounts".into(), None),
        "service_accounts.get" => (get, format!("/v1/service-accounts/{sa}"), None),
        "service_accounts.delete" => (Method::DELETE, format!("/v1/service-accounts/{sa}"), None),
        "keys.create" => (post, format!("/v1/service-accounts/{sa}/keys"), Some(json!({}))),
        "keys.revoke" => (post, format!("/v1/service-accounts/{sa}/keys/{}/revoke", o.key), None),
        "grants.add" => {
            (post, format!("/v1/service-accounts/{sa}/grants"), Some(json!({"agent_address": ADMIN})))
        }
        "grants.revoke" => {
            (post, format!("/v1/service-accounts/{sa}/grants/revoke"), Some(json!({"agent_address": ADMIN})))
        }
        "webhooks.list" => (get, format!("/v1/webhooks/subscriptions?{as_admin}"), None),
        "webhooks.upsert" => (
            post,
            format!("/v1/webhooks/subscriptions?{as_admin}"),
            Some(
                json!({"callback_url": "https://hooks.example/new", "event_types": ["inbox.thread_created"]}),
            ),
        ),
        "webhooks.revoke" => {
            (Method::DELETE, format!("/v1/webhooks/subscriptions/{}?{as_admin}", o.sub), None)
        }
        "webhooks.publish" => (
            post,
            format!("/v1/webhooks/events?{as_admin}"),
            Some(json!({"event_type": "inbox.thread_created", "source": "probe", "payload": {}})),
        ),
        "webhooks.publish_reserved" => (
            post,
            "/v1/webhooks/events".into(),
            Some(json!({"event_type": "intent.completed", "source": "probe", "payload": {"intent_id": i}})),
        ),
        "webhooks.replay" => (post, format!("/v1/webhooks/events/{}/replay?{as_admin}", o.event), None),
        "deliveries.list" => (get, "/v1/deliveries".into(), None),
        "deliveries.get" => (get, format!("/v1/deliveries/{}", o.delivery), None),
        "scenarios.validate" => (post, "/v1/scenarios/validate".into(), Some(target_bundle)),
        "scenarios.apply" => (post, "/v1/scenarios/apply".into(), Some(target_bundle)),
        "scenarios.apply_agents" => (post, "/v1/scenarios/apply".into(), Some(creating_bundle)),
        "mcp.tools_list" => {
            (post, "/mcp".into(), Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})))
        }
        "mcp.tools_call" => (
            post,
            "/mcp".into(),
            Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "axme.resolve", "arguments": {"intent_id": i, "status": "CANCELED"}}})),
        ),
        "audit.list" => (get, "/v1/audit".into(), None),
        "quotas.get" => (get, format!("/v1/quotas?workspace_id={}", o.ws), None),
        "quotas.update" => (
            Method::PATCH,
            format!("/v1/quotas?workspace_id={}", o.ws),
            Some(json!({"dimensions": {"intents_per_day": 1000}})),
        ),
        "retention.get" => (get, format!("/v1/settings/retention?workspace_id={}", o.ws), None),
        "retention.update" => (
            Method::PATCH,
            format!("/v1/settings/retention?workspace_id={}", o.ws),
            Some(json!({"intent_days": 90, "dead_letter_days": 7})),
        ),
        "usage.summary" => (get, format!("/v1/usage/summary?workspace_id={}", o.ws), None),
        "usage.timeseries" => (get, format!("/v1/usage/timeseries?workspace_id={}", o.ws), None),
        "billing.plan" => (get, "/v1/billing/plan".into(), None),
        "billing.plan_update" => (Method::PATCH, "/v1/billing/plan".into(), Some(json!({"plan_id": "pro"}))),
        "billing.invoices" => (get, "/v1/billing/invoices".into(), None),
        "billing.invoice" => (get, "/v1/billing/invoices/inv_1".into(), None),
        "schemas.upsert" => (post, "/v1/schemas".into(), Some(probe_schema("tenant", "warn"))),
        "schemas.upsert_core" => (post, "/v1/schemas".into(), Some(probe_schema("core", "warn"))),
        "schemas.get" => (get, "/v1/schemas/axp.access.probe.v1".into(), None),
        "admin.backup" => (post, "/v1/admin/backup".into(), None),
        "admin.stats" => (get, "/v1/admin/stats".into(), None),
        "metrics" => (get, "/metrics".into(), None),
        "ui.login_links" => (post, "/v1/ui/login-links".into(), Some(json!({}))),
        "mesh.heartbeat" => (post, "/v1/mesh/heartbeat".into(), None),
        "mesh.agents" => (get, "/v1/mesh/agents".into(), None),
        "mesh.agent" => (get, format!("/v1/mesh/agents/{sa}"), None),
        "mesh.kill" => (post, format!("/v1/mesh/agents/{sa}/kill"), None),
        "mesh.resume" => (post, format!("/v1/mesh/agents/{sa}/resume"), None),
        "mesh.events" => (get, "/v1/mesh/events".into(), None),
        "routing.register" => (
            post,
            "/v1/routing/endpoints".into(),
            Some(
                json!({"principal_id": o.principal, "transport_type": "queue", "endpoint_url": "queue://new-route",
                        "auth_mode": "none"}),
            ),
        ),
        "routing.list" => {
            (get, format!("/v1/routing/endpoints?org_id={}&workspace_id={}", o.org, o.ws), None)
        }
        "routing.update" => {
            (Method::PATCH, format!("/v1/routing/endpoints/{}", o.route), Some(json!({"priority": 7})))
        }
        "routing.remove" => (Method::DELETE, format!("/v1/routing/endpoints/{}", o.route), None),
        "routing.resolve" => (
            post,
            "/v1/routing/resolve".into(),
            Some(json!({"org_id": o.org, "workspace_id": o.ws, "principal_id": o.principal})),
        ),
        "transports.upsert" => (
            post,
            "/v1/transports/bindings".into(),
            Some(
                json!({"principal_id": o.principal, "transport_type": "queue", "transport_handle": o.handle,
                        "priority": 3}),
            ),
        ),
        "transports.list" => {
            (get, format!("/v1/transports/bindings?org_id={}&workspace_id={}", o.org, o.ws), None)
        }
        "transports.remove" => (Method::DELETE, format!("/v1/transports/bindings/{}", o.binding), None),
        "deliveries.submit" => (
            post,
            "/v1/deliveries".into(),
            Some(
                json!({"org_id": o.org, "workspace_id": o.ws, "principal_id": o.principal, "payload": {"n": 1}}),
            ),
        ),
        "deliveries.routed" => (
            get,
            format!("/v1/deliveries?org_id={}&workspace_id={}&principal_id={}", o.org, o.ws, o.principal),
            None,
        ),
        "media.create" => (
            post,
            "/v1/media/create-upload".into(),
            Some(
                json!({"owner_agent": ADMIN, "filename": "a.txt", "mime_type": "text/plain", "size_bytes": 3}),
            ),
        ),
        "media.get" => (get, format!("/v1/media/{}", o.upload), None),
        "media.upload" => (Method::PUT, format!("/v1/media/upload/{}", o.upload), Some(json!("xyz"))),
        "media.finalize" => {
            (post, "/v1/media/finalize-upload".into(), Some(json!({"upload_id": o.upload, "size_bytes": 5})))
        }
        "media.download" => (get, format!("/v1/media/download/{}", o.upload), None),
        "media.preview" => (get, format!("/v1/media/preview/{}", o.upload), None),
        "media.delete" => (Method::DELETE, format!("/v1/media/{}", o.upload), None),
        other => panic!("docs/access.md documents `{other}`, which this test does not call: add its request"),
    }
}

/// What the workspace holds, as its admin reads it: intents, accounts and their bindings,
/// the admin's subscriptions, inbox changes and deliveries, and whether each fixture key still
/// works. A refused call must leave all of it as it was.
async fn snapshot(server: &TestServer, keys: &Keys) -> Value {
    let read = |path: &'static str| admin(server, Method::GET, path, Value::Null);
    let intents = read("/v1/intents?limit=500").await["intents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!([i["intent_id"], i["status"], i["policy_generation"], i["updated_at"]]))
        .collect::<Vec<_>>();
    let accounts = read("/v1/service-accounts?limit=1000").await["service_accounts"].clone();
    let subs = admin(
        server,
        Method::GET,
        &format!("/v1/webhooks/subscriptions?owner_agent={ADMIN}&include_inactive=true"),
        Value::Null,
    )
    .await["subscriptions"]
        .clone();
    let changes =
        admin(server, Method::GET, &format!("/v1/inbox/changes?owner_agent={ADMIN}&limit=200"), Value::Null)
            .await["changes"]
            .clone();
    let deliveries = read("/v1/deliveries?limit=500").await["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| json!([d["delivery_id"], d["replay_of_delivery_id"]]))
        .collect::<Vec<_>>();
    let audit = read("/v1/audit?limit=500").await["entries"].as_array().unwrap().len();
    let first = &accounts.as_array().unwrap()[0];
    let scope = format!(
        "org_id={}&workspace_id={}",
        first["org_id"].as_str().unwrap(),
        first["workspace_id"].as_str().unwrap()
    );
    let routing = json!([
        admin(server, Method::GET, &format!("/v1/routing/endpoints?{scope}&limit=1000"), Value::Null).await["routes"],
        admin(server, Method::GET, &format!("/v1/transports/bindings?{scope}&limit=1000"), Value::Null).await
            ["bindings"],
    ]);
    let quotas = read("/v1/quotas").await["quota_policy"].clone();
    let retention = read("/v1/settings/retention").await["overrides"].clone();
    let mesh = read("/v1/mesh/events").await["events"].clone();
    let mut working = Vec::new();
    for key in &keys.0 {
        working.push(call(server, key, Method::GET, "/v1/capabilities", None).await.0);
    }
    json!({"intents": intents, "accounts": accounts, "subscriptions": subs, "inbox": changes,
           "deliveries": deliveries, "audit": audit, "quotas": quotas, "retention": retention, "mesh": mesh, "keys": working,
           "routing": routing})
}

#[tokio::test]
async fn every_documented_row_answers_as_documented_and_refusals_change_nothing() {
    let rows = rows();
    assert!(rows.len() >= 40, "the matrix was read: {} rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        // A server per row keeps one row's allowed writes out of the next row's snapshot.
        let server = server().await;
        let receiver = Receiver::start([]).await;
        let keys = keys(&server).await;
        for (n, column) in COLUMNS.iter().enumerate() {
            let o = objects(&server, &receiver.url, n).await;
            let (method, path, body) = request(&row.family, &o);
            let expected = row.expected[n];
            let guarded = expected >= 400 || *column == "other";
            let before = if guarded { Some(snapshot(&server, &keys).await) } else { None };
            let (status, answer) = call(&server, &keys.0[n], method.clone(), &path, body).await;
            if status != expected {
                failures.push(format!(
                    "{} {column}: {method} {path} gave {status}, documented {expected}: {answer}",
                    row.family
                ));
            }
            if let Some(before) = before
                && snapshot(&server, &keys).await != before
            {
                failures.push(format!(
                    "{} {column}: {method} {path} ({status}) changed the workspace",
                    row.family
                ));
            }
            if status >= 400 && answer != Value::Null {
                assert!(answer["error"]["code"].is_string(), "{}: the error envelope: {answer}", row.family);
            }
        }
        drop(server);
        drop(receiver);
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
