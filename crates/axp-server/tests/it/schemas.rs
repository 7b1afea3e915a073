//! Payload schemas (contract §6 "Schemas") on the backend the suite runs on: upsert and get
//! with the public response schemas, a stable `schema_hash`, tenant versus core scope, each
//! compatibility mode on create, remote `$ref`s refused, the create-time cache (no store read
//! per create, dropped by an upsert), who may write and read, the audit log and the
//! `schema_writes_per_day` quota.

use std::time::{Duration, Instant};

use axp_test_util::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::callers::{Callers, assert_schema, call};

const TYPE: &str = "axme.calendar.schedule.v1";

fn upsert_body(ty: &str, schema_json: Value, mode: &str) -> Value {
    json!({"semantic_type": ty, "schema_json": schema_json, "compatibility_mode": mode})
}

fn requires(field: &str, kind: &str) -> Value {
    json!({"type": "object", "required": [field], "properties": {field: {"type": kind}}})
}

async fn upsert(server: &TestServer, key: &str, body: Value) -> (u16, Value) {
    call(server, key, Method::POST, "/v1/schemas", Some(body)).await
}

async fn create(server: &TestServer, ty: &str, payload: Value) -> (u16, Value) {
    let body = json!({"intent_type": ty, "to_agent": "agent://schemas/target", "payload": payload});
    call(server, &server.admin_key, Method::POST, "/v1/intents", Some(body)).await
}

#[tokio::test]
async fn upsert_then_get_with_a_stable_hash_and_idempotent_repeats() {
    let server = TestServer::spawn().await;
    let key = server.admin_key.clone();
    let schema_json = json!({"type": "object", "properties": {"title": {"type": "string"}, "at": {}}});
    let (status, first) = upsert(&server, &key, upsert_body(TYPE, schema_json.clone(), "strict")).await;
    assert_eq!(status, 200, "{first}");
    assert_schema("api.schemas.upsert.response.v1", &first, &[]);
    let s = &first["schema"];
    assert_eq!((s["semantic_type"].as_str(), s["scope"].as_str()), (Some(TYPE), Some("tenant")));
    assert_eq!(s["schema_ref"], format!("schema://{TYPE}"));
    assert_eq!(s["owner_agent"], server.admin.agent_address.to_string(), "the key's own owner");
    assert_eq!(s["active"], true);
    assert!(s.get("schema_json").is_none());

    // The same schema again, its keys in another order and spaced out: unchanged, 200.
    let reordered: Value = serde_json::from_str(
        r#"{ "properties": { "at": {}, "title": { "type": "string" } }, "type": "object" }"#,
    )
    .unwrap();
    let (status, again) = upsert(&server, &key, upsert_body(TYPE, reordered, "strict")).await;
    assert_eq!(status, 200);
    assert_eq!(again, first, "an unchanged upsert is idempotent");

    let (status, got) = call(&server, &key, Method::GET, &format!("/v1/schemas/{TYPE}"), None).await;
    assert_eq!(status, 200, "{got}");
    assert_schema("api.schemas.get.response.v1", &got, &[]);
    assert_eq!(got["schema"]["schema_json"], schema_json);
    assert_eq!(got["schema"]["schema_hash"], first["schema"]["schema_hash"]);
    let (status, missing) = call(&server, &key, Method::GET, "/v1/schemas/axme.no.such.v1", None).await;
    assert_eq!((status, missing["error"]["code"].as_str()), (404, Some("not_found")));

    // A different schema replaces it: a new hash, the same created_at.
    let (_, replaced) = upsert(&server, &key, upsert_body(TYPE, requires("title", "string"), "warn")).await;
    assert_ne!(replaced["schema"]["schema_hash"], first["schema"]["schema_hash"]);
    assert_eq!(replaced["schema"]["created_at"], first["schema"]["created_at"]);
    assert_eq!(replaced["schema"]["compatibility_mode"], "warn");

    let (_, audit) = call(&server, &key, Method::GET, "/v1/audit?action=schema.upserted", None).await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "created and replaced; the repeat changed nothing: {audit}");
    assert!(entries.iter().all(|e| e["target"]["id"] == TYPE), "{audit}");
}

#[tokio::test]
async fn strict_refuses_naming_the_pointer_and_the_rule() {
    let server = TestServer::spawn().await;
    let ty = "axme.strict.thing.v1";
    let schema = json!({"type": "object", "required": ["when"], "properties": {"when": {"type": "string"}}});
    assert_eq!(upsert(&server, &server.admin_key, upsert_body(ty, schema, "strict")).await.0, 200);
    assert_eq!(create(&server, ty, json!({"when": "tomorrow"})).await.0, 200);
    let (status, body) = create(&server, ty, json!({"when": 5})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_error");
    assert_eq!(body["errors"][0]["loc"], json!(["body", "payload", "when"]));
    assert_eq!(body["errors"][0]["type"], "type");
    assert!(body["error"]["message"].as_str().unwrap().contains("\"/when\""), "{body}");
    let (status, body) = create(&server, ty, json!({})).await;
    assert_eq!((status, body["errors"][0]["type"].as_str()), (422, Some("required")), "{body}");
    // Another type is not checked.
    assert_eq!(create(&server, "axme.other.thing.v1", json!({"when": 5})).await.0, 200);
}

#[tokio::test]
async fn backward_accepts_the_replaced_version_and_warn_reports() {
    let server = TestServer::spawn().await;
    let key = server.admin_key.clone();
    let ty = "axme.backward.thing.v1";
    assert_eq!(upsert(&server, &key, upsert_body(ty, requires("at", "integer"), "backward")).await.0, 200);
    assert_eq!(upsert(&server, &key, upsert_body(ty, requires("when", "string"), "backward")).await.0, 200);
    assert_eq!(create(&server, ty, json!({"when": "now"})).await.0, 200, "the active version");
    assert_eq!(create(&server, ty, json!({"at": 5})).await.0, 200, "the version it replaced");
    let (status, body) = create(&server, ty, json!({"at": "five"})).await;
    assert_eq!(status, 422, "valid under neither: {body}");

    let warned = "axme.warn.thing.v1";
    assert_eq!(upsert(&server, &key, upsert_body(warned, requires("when", "string"), "warn")).await.0, 200);
    let (status, body) = create(&server, warned, json!({"when": 5})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["schema_warnings"][0]["pointer"], "/when");
    assert_eq!(body["schema_warnings"][0]["keyword"], "type");
    let (status, clean) = create(&server, warned, json!({"when": "now"})).await;
    assert_eq!(status, 200);
    assert!(clean.get("schema_warnings").is_none(), "{clean}");
}

#[tokio::test]
async fn remote_refs_and_bad_bodies_are_refused_and_write_nothing() {
    let server = TestServer::spawn().await;
    let key = server.admin_key.clone();
    let ty = "axme.remote.ref.v1";
    let remote = json!({"$ref": "http://127.0.0.1:9/schema.json"});
    let (status, body) = upsert(&server, &key, upsert_body(ty, remote, "strict")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["loc"], json!(["body", "schema_json"]));
    for bad in [
        upsert_body("only.two.v1", json!({}), "strict"),
        upsert_body(ty, json!({}), "sometimes"),
        json!({"semantic_type": ty, "compatibility_mode": "strict"}),
    ] {
        assert_eq!(upsert(&server, &key, bad).await.0, 422);
    }
    let (status, _) = call(&server, &key, Method::GET, &format!("/v1/schemas/{ty}"), None).await;
    assert_eq!(status, 404, "nothing was written");
}

#[tokio::test]
async fn creates_read_schemas_from_a_cache_that_an_upsert_drops() {
    let server = TestServer::spawn().await;
    let ty = "axme.cached.thing.v1";
    let cache = server.state().schemas.clone();
    // A PostgreSQL replica caches only once it listens for the other replicas' changes.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = cache.loads();
        assert_eq!(create(&server, ty, json!({"n": 1})).await.0, 200);
        if cache.loads() == before {
            break;
        }
        assert!(Instant::now() < deadline, "the schema cache never served");
    }
    let loads = cache.loads();
    for n in 0..5 {
        assert_eq!(create(&server, ty, json!({ "n": n })).await.0, 200);
    }
    assert_eq!(cache.loads(), loads, "creates without a schema read no schema from the store");

    assert_eq!(
        upsert(&server, &server.admin_key, upsert_body(ty, requires("m", "integer"), "strict")).await.0,
        200
    );
    assert_eq!(create(&server, ty, json!({"n": 1})).await.0, 422, "the next create sees the new schema");
    assert!(cache.loads() > loads, "the upsert dropped the cached entry");
    // On PostgreSQL the upsert's own notification comes back through LISTEN and may drop the
    // entry once more when it arrives; after that the cache serves again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = cache.loads();
        assert_eq!(create(&server, ty, json!({"m": 1})).await.0, 200);
        if cache.loads() == before {
            break;
        }
        assert!(Instant::now() < deadline, "the schema cache never served again");
    }

    let inactive = json!({"semantic_type": ty, "schema_json": requires("m", "integer"), "compatibility_mode": "strict", "active": false});
    assert_eq!(upsert(&server, &server.admin_key, inactive).await.0, 200);
    assert_eq!(create(&server, ty, json!({"n": 1})).await.0, 200, "an inactive schema is not applied");
}

#[tokio::test]
async fn core_schemas_are_the_operators_and_read_by_every_workspace() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;
    let ty = "axme.core.thing.v1";
    let core = json!({"semantic_type": ty, "schema_json": requires("c", "string"), "compatibility_mode": "strict", "scope": "core"});
    for (name, key) in [("member", &callers.member), ("other workspace", &callers.other)] {
        let (status, body) = upsert(&server, key, core.clone()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("policy_denied")), "{name}: {body}");
    }
    let (status, body) = upsert(&server, &callers.admin, core).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["schema"]["scope"].as_str(), &body["schema"]["owner_agent"]),
        (Some("core"), &Value::Null)
    );

    let path = format!("/v1/schemas/{ty}");
    let (status, seen) = call(&server, &callers.other, Method::GET, &path, None).await;
    assert_eq!((status, seen["schema"]["scope"].as_str()), (200, Some("core")), "{seen}");
    let other_create = |payload: Value| {
        let body = json!({"intent_type": ty, "to_agent": "agent://x/y/z", "payload": payload});
        call(&server, &callers.other, Method::POST, "/v1/intents", Some(body))
    };
    assert_eq!(other_create(json!({})).await.0, 422, "core schemas apply in every workspace");

    // A workspace's own schema of the type wins there, and only there.
    let own = upsert_body(ty, json!({"type": "object"}), "strict");
    assert_eq!(upsert(&server, &callers.other, own).await.0, 200);
    assert_eq!(other_create(json!({})).await.0, 200);
    let (_, seen) = call(&server, &callers.other, Method::GET, &path, None).await;
    assert_eq!(seen["schema"]["scope"], "tenant");
    assert_eq!(create(&server, ty, json!({})).await.0, 422, "the admin's workspace still reads core");
}

#[tokio::test]
async fn wrong_keys_are_refused_and_change_nothing() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;
    let ty = "axme.access.thing.v1";
    let (_, original) =
        upsert(&server, &callers.admin, upsert_body(ty, requires("a", "string"), "strict")).await;
    let path = format!("/v1/schemas/{ty}");
    let change = upsert_body(ty, requires("b", "string"), "warn");
    for (name, key) in [("agent", &callers.agent), ("viewer", &callers.viewer)] {
        let (status, body) = upsert(&server, key, change.clone()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("policy_denied")), "{name}: {body}");
    }
    // Another workspace writes its own schema, never this one's.
    assert_eq!(upsert(&server, &callers.other, change.clone()).await.0, 200);
    let (_, after) = call(&server, &callers.admin, Method::GET, &path, None).await;
    assert_eq!(after["schema"]["schema_hash"], original["schema"]["schema_hash"], "nothing changed");
    assert_eq!(after["schema"]["compatibility_mode"], "strict");

    for (name, key) in [("member", &callers.member), ("agent", &callers.agent), ("viewer", &callers.viewer)] {
        assert_eq!(call(&server, key, Method::GET, &path, None).await.0, 200, "{name} reads");
    }
    let unseen = "axme.unseen.thing.v1";
    assert_eq!(upsert(&server, &callers.admin, upsert_body(unseen, json!({}), "warn")).await.0, 200);
    let (status, _) =
        call(&server, &callers.other, Method::GET, &format!("/v1/schemas/{unseen}"), None).await;
    assert_eq!(status, 404, "another workspace's tenant schema");
    let (status, body) = upsert(&server, &callers.member, change).await;
    assert_eq!(status, 200, "a member writes: {body}");
    assert!(body["schema"]["owner_agent"].is_string(), "the member owns it: {body}");
}

#[tokio::test]
async fn schema_writes_per_day_is_enforced() {
    let server = TestServer::spawn().await;
    let key = server.admin_key.clone();
    let patch = json!({"dimensions": {"schema_writes_per_day": 1}});
    assert_eq!(call(&server, &key, Method::PATCH, "/v1/quotas", Some(patch)).await.0, 200);
    assert_eq!(upsert(&server, &key, upsert_body("axme.quota.one.v1", json!({}), "warn")).await.0, 200);
    let response = crate::helpers::http()
        .post(format!("{}/v1/schemas", server.base_url))
        .header("x-api-key", &key)
        .json(&upsert_body("axme.quota.two.v1", json!({}), "warn"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["details"]["dimension"], "schema_writes_per_day");
}
