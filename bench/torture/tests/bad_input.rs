//! Torture 4, bad input sweep: malformed JSON, wrong types, oversized bodies and headers,
//! 10k-deep JSON, invalid UTF-8, missing and invalid keys, unknown ids and other tenants' ids,
//! on every route. Each answer must be the documented status with the error envelope of
//! contract §1.4 (and an `x-request-id`), never a 5xx, and nothing may change: the state of both
//! tenants is read before and after the sweep and must be identical.
//!
//! Add a route here when the server grows one (`ROUTES` and the per-route cases below).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axp_engine::{Ledger, Presence};
use axp_loadgen::http::{self, Conn, Response};
use axp_loadgen::proc::{Axp, AxpOptions};
use axp_store::Store;
use axp_store_sqlite::SqliteStore;
use axp_torture::{Client, axp_bin};
use serde_json::{Value, json};

/// One request and what it must get.
struct Case {
    name: String,
    request: Vec<u8>,
    /// Acceptable statuses.
    expect: Vec<u16>,
    /// The status must carry the §1.4 envelope (false only for answers hyper gives before
    /// routing, which have no body).
    envelope: bool,
}

fn case(name: impl Into<String>, request: Vec<u8>, expect: &[u16]) -> Case {
    Case { name: name.into(), request, expect: expect.to_vec(), envelope: true }
}

/// Ids of the fixtures of one tenant.
#[derive(Clone, Debug)]
struct Fixture {
    key: String,
    intent_id: String,
    service_account_id: String,
    key_id: String,
    agent_address: String,
}

async fn fixture(addr: SocketAddr, key: &str, tag: &str) -> Fixture {
    let mut c = Client::new(addr, key);
    let r = c
        .post(
            "/v1/intents",
            &[],
            &json!({"intent_type": "torture.fixture.v1", "to_agent": format!("nobody-{tag}"), "payload": {"tag": tag}}),
        )
        .await
        .expect("create");
    assert_eq!(r.status, 200, "fixture intent: {}", r.text());
    let intent_id = r.json()["intent_id"].as_str().expect("id").to_owned();
    let r =
        c.post("/v1/service-accounts", &[], &json!({"name": format!("sweeper-{tag}")})).await.expect("sa");
    assert_eq!(r.status, 200, "fixture service account: {}", r.text());
    let sa = r.json();
    let service_account_id = sa["service_account"]["service_account_id"]
        .as_str()
        .or_else(|| sa["service_account_id"].as_str())
        .expect("service_account_id")
        .to_owned();
    let agent_address = sa["service_account"]["agent_address"]
        .as_str()
        .or_else(|| sa["agent_address"].as_str())
        .unwrap_or_default()
        .to_owned();
    let r = c
        .post(&format!("/v1/service-accounts/{service_account_id}/keys"), &[], &json!({}))
        .await
        .expect("key");
    assert_eq!(r.status, 200, "fixture key: {}", r.text());
    let k = r.json();
    let key_id = k["key"]["key_id"].as_str().or_else(|| k["key_id"].as_str()).expect("key_id").to_owned();
    Fixture { key: key.to_owned(), intent_id, service_account_id, key_id, agent_address }
}

/// Everything a tenant can read about its fixtures, to compare before and after.
async fn snapshot(addr: SocketAddr, f: &Fixture) -> Value {
    let mut c = Client::new(addr, &f.key);
    let mut out = serde_json::Map::new();
    for path in [
        "/v1/intents?limit=500".to_owned(),
        format!("/v1/intents/{}", f.intent_id),
        format!("/v1/intents/{}/events", f.intent_id),
        format!("/v1/service-accounts/{}", f.service_account_id),
        "/v1/deliveries?limit=500".to_owned(),
    ] {
        let r = c.get(&path).await.expect("snapshot read");
        out.insert(path, json!({"status": r.status, "body": r.json()}));
    }
    Value::Object(out)
}

fn post(path: &str, key: &str, extra: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    if key.is_empty() {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(extra);
        http::request("POST", path, &h, body)
    } else {
        http::post_json(path, key, extra, body)
    }
}

fn get(path: &str, key: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut h: Vec<(&str, &str)> = if key.is_empty() { vec![] } else { vec![("x-api-key", key)] };
    h.extend_from_slice(extra);
    http::request("GET", path, &h, b"")
}

fn deep_array(depth: usize) -> Vec<u8> {
    let mut v = vec![b'['; depth];
    v.extend(std::iter::repeat_n(b']', depth));
    v
}

fn deep_object(depth: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..depth {
        v.extend_from_slice(br#"{"a":"#);
    }
    v.extend_from_slice(b"1");
    v.extend(std::iter::repeat_n(b'}', depth));
    v
}

fn cases(a: &Fixture, b: &Fixture) -> Vec<Case> {
    let key = a.key.as_str();
    let ia = a.intent_id.as_str();
    let ib = b.intent_id.as_str();
    let unknown = "0194f8e2-7a3c-7c6e-9d55-3f1f5a0b9c01";
    let mut v = Vec::new();

    // Every authenticated route: no key, a wrong key, a Bearer token that is no key → 401.
    let post_routes: Vec<String> = vec![
        "/v1/intents".into(),
        "/v1/intents/bulk-cancel".into(),
        format!("/v1/intents/{ia}/resolve"),
        format!("/v1/intents/{ia}/resume"),
        format!("/v1/intents/{ia}/controls"),
        format!("/v1/intents/{ia}/policy"),
        "/v1/scenarios/validate".into(),
        "/v1/scenarios/apply".into(),
        "/v1/service-accounts".into(),
        format!("/v1/service-accounts/{}/keys", a.service_account_id),
        format!("/v1/service-accounts/{}/keys/{}/revoke", a.service_account_id, a.key_id),
        "/v1/agents/sweep-agent/intents/claim".into(),
        format!("/v1/deliveries/{unknown}/replay"),
    ];
    let get_routes: Vec<String> = vec![
        "/v1/intents".into(),
        format!("/v1/intents/{ia}"),
        format!("/v1/intents/{ia}/events"),
        format!("/v1/intents/{ia}/events/stream?wait_seconds=1"),
        "/v1/agents".into(),
        "/v1/agents/sweep-agent".into(),
        "/v1/agents/sweep-agent/intents/stream?wait_seconds=1".into(),
        format!("/v1/service-accounts/{}", a.service_account_id),
        "/v1/deliveries".into(),
        format!("/v1/deliveries/{unknown}"),
        "/v1/settings/retention".into(),
    ];
    for p in &post_routes {
        v.push(case(format!("POST {p} without a key"), post(p, "", &[], b"{}"), &[401]));
        v.push(case(format!("POST {p} with a wrong key"), post(p, "axme_sa_nope_nope", &[], b"{}"), &[401]));
    }
    for p in &get_routes {
        v.push(case(format!("GET {p} without a key"), get(p, "", &[]), &[401]));
        v.push(case(format!("GET {p} with a wrong key"), get(p, "wrong", &[]), &[401]));
        v.push(case(
            format!("GET {p} with a Bearer that is no key"),
            get(p, "", &[("authorization", "Bearer not-a-key")]),
            &[401],
        ));
    }
    v.push(case(
        "GET /v1/intents with a non-UTF-8 x-api-key",
        http::request("GET", "/v1/intents", &[("x-api-key", "\u{ff}\u{fe}")], b""),
        &[401],
    ));

    // Bodies every POST route must refuse before touching state.
    let malformed: Vec<(&str, Vec<u8>, u16)> = vec![
        ("malformed JSON", br#"{"intent_type": "a.b.v1", "#.to_vec(), 400),
        ("a JSON array", b"[1,2,3]".to_vec(), 400),
        ("a JSON string", br#""hello""#.to_vec(), 400),
        ("invalid UTF-8", b"{\"intent_type\": \"\xff\xfe\xfd\"}".to_vec(), 400),
        ("10k-deep arrays", deep_array(10_000), 400),
        ("10k-deep objects", deep_object(10_000), 400),
        (
            "a 2 MiB body",
            {
                let mut b = br#"{"payload":{"blob":""#.to_vec();
                b.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
                b.extend_from_slice(br#""}}"#);
                b
            },
            413,
        ),
    ];
    // Routes that read no body (revoke, replay) are left out: for them any body is fine.
    for p in post_routes.iter().filter(|p| !p.ends_with("/revoke") && !p.ends_with("/replay")) {
        for (what, body, status) in &malformed {
            v.push(case(format!("POST {p} with {what}"), post(p, key, &[], body), &[*status]));
        }
    }

    // Wrong types and schema violations (422), per route.
    let create_bad: Vec<(&str, Value)> = vec![
        ("wrong types", json!({"intent_type": 5, "to_agent": ["x"], "payload": "p"})),
        ("a bad intent_type", json!({"intent_type": "NOT A TYPE", "to_agent": "x", "payload": {}})),
        (
            "a bad to_agent",
            json!({"intent_type": "a.b.v1", "to_agent": "agent://has space/x", "payload": {}}),
        ),
        ("a non-object payload", json!({"intent_type": "a.b.v1", "to_agent": "x", "payload": [1]})),
        (
            "a non-UUID correlation_id",
            json!({"intent_type": "a.b.v1", "to_agent": "x", "correlation_id": "nope"}),
        ),
        ("a bad deadline_at", json!({"intent_type": "a.b.v1", "to_agent": "x", "deadline_at": "tomorrow"})),
        (
            "max_delivery_attempts 0",
            json!({"intent_type": "a.b.v1", "to_agent": "x", "max_delivery_attempts": 0}),
        ),
        (
            "a human_task that is a string",
            json!({"intent_type": "a.b.v1", "to_agent": "x", "human_task": "x"}),
        ),
    ];
    for (what, body) in &create_bad {
        v.push(case(
            format!("POST /v1/intents with {what}"),
            post("/v1/intents", key, &[], body.to_string().as_bytes()),
            &[422],
        ));
    }
    let mut big = br#"{"intent_type":"a.b.v1","to_agent":"x","payload":{"blob":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 131_073));
    big.extend_from_slice(br#""}}"#);
    v.push(case("POST /v1/intents with a payload over 128 KiB", post("/v1/intents", key, &[], &big), &[413]));
    let long_key = "k".repeat(300);
    v.push(case(
        "POST /v1/intents with a 300-character Idempotency-Key",
        post(
            "/v1/intents",
            key,
            &[("idempotency-key", &long_key)],
            br#"{"intent_type":"a.b.v1","to_agent":"x"}"#,
        ),
        &[422],
    ));
    v.push(case(
        "POST /v1/intents with a non-ASCII Idempotency-Key",
        post(
            "/v1/intents",
            key,
            &[("idempotency-key", "\u{ff}")],
            br#"{"intent_type":"a.b.v1","to_agent":"x"}"#,
        ),
        &[400, 422],
    ));
    for (route, body) in [
        ("resolve", json!({"status": 5})),
        ("resolve", json!({"status": "DONE"})),
        ("resolve", json!({"status": "CANCELED", "reason": "r".repeat(2001)})),
        ("resume", json!({"task_result": "yes"})),
        ("resume", json!({"reason": 5})),
        ("controls", json!({"controls_patch": 5})),
        ("policy", json!({"grants_patch": "all"})),
        ("policy", json!({"envelope_patch": [1]})),
        ("resolve", json!({"status": "COMPLETED", "expected_policy_generation": "zero"})),
    ] {
        v.push(case(
            format!("POST /v1/intents/{{id}}/{route} with {body}"),
            post(&format!("/v1/intents/{ia}/{route}"), key, &[], body.to_string().as_bytes()),
            &[422],
        ));
    }
    v.push(case(
        "POST /v1/intents/{id}/resolve with the internal_scheduler flag",
        post(&format!("/v1/intents/{ia}/resume"), key, &[], br#"{"internal_scheduler": true}"#),
        &[403],
    ));
    v.push(case(
        "POST /v1/intents/{id}/resolve with differing owner query and header",
        post(
            &format!("/v1/intents/{ia}/resolve?owner_agent=agent://a/b/c"),
            key,
            &[("x-owner-agent", "agent://x/y/z")],
            br#"{"status":"CANCELED"}"#,
        ),
        &[400],
    ));
    for (what, body) in [
        ("a string older_than_hours", json!({"older_than_hours": "x"})),
        ("no older_than_hours", json!({})),
        ("a status_filter that is a string", json!({"older_than_hours": 1, "status_filter": "SUBMITTED"})),
    ] {
        v.push(case(
            format!("POST /v1/intents/bulk-cancel with {what}"),
            post("/v1/intents/bulk-cancel", key, &[], body.to_string().as_bytes()),
            &[422],
        ));
    }
    v.push(case(
        "POST /v1/scenarios/apply with a non-object intent",
        post("/v1/scenarios/apply", key, &[], br#"{"intent": 5}"#),
        &[422],
    ));
    v.push(case(
        "POST /v1/scenarios/validate with a non-object intent (validate answers 200 valid=false)",
        post("/v1/scenarios/validate", key, &[], br#"{"intent": 5}"#),
        &[200],
    ));
    v.push(case(
        "POST /v1/service-accounts with a numeric name",
        post("/v1/service-accounts", key, &[], br#"{"name": 5}"#),
        &[422],
    ));
    v.push(case(
        "POST /v1/service-accounts/{id}/keys with a bad expires_at",
        post(
            &format!("/v1/service-accounts/{}/keys", a.service_account_id),
            key,
            &[],
            br#"{"expires_at": "soon"}"#,
        ),
        &[422],
    ));
    v.push(case(
        "POST claim with limit 0",
        post("/v1/agents/sweep-agent/intents/claim", key, &[], br#"{"limit": 0}"#),
        &[422],
    ));
    v.push(case(
        "POST claim with a string limit",
        post("/v1/agents/sweep-agent/intents/claim", key, &[], br#"{"limit": "x"}"#),
        &[422],
    ));
    v.push(case(
        "POST claim with wait_seconds 61",
        post("/v1/agents/sweep-agent/intents/claim", key, &[], br#"{"wait_seconds": 61}"#),
        &[422],
    ));

    // Query parameters out of range (422).
    for p in [
        "/v1/intents?limit=0".to_owned(),
        "/v1/intents?limit=abc".into(),
        "/v1/intents?status=BOGUS".into(),
        "/v1/intents?to_agent=agent://bad%20address/x".into(),
        format!("/v1/intents/{ia}/events?since=-1"),
        format!("/v1/intents/{ia}/events?since=abc"),
        format!("/v1/intents/{ia}/events/stream?wait_seconds=0"),
        format!("/v1/intents/{ia}/events/stream?wait_seconds=61"),
        format!("/v1/intents/{ia}/events/stream?since=x"),
        "/v1/agents/sweep-agent/intents/stream?wait_seconds=99".into(),
        "/v1/agents/sweep-agent/intents/stream?status=NOPE".into(),
        "/v1/deliveries?status=zzz".into(),
        "/v1/deliveries?limit=9999".into(),
    ] {
        v.push(case(format!("GET {p}"), get(&p, key, &[]), &[422]));
    }

    // Unknown ids (404), on every route with an id. A path segment that is not UTF-8 once
    // percent-decoded is malformed: 400 is as good as 404 there, but still with the envelope.
    for id in [unknown, "not-a-uuid", "%FF%FE"] {
        let expect: &[u16] = if id.starts_with('%') { &[400, 404] } else { &[404] };
        for suffix in ["", "/events", "/events/stream?wait_seconds=1"] {
            v.push(case(
                format!("GET /v1/intents/{id}{suffix}"),
                get(&format!("/v1/intents/{id}{suffix}"), key, &[]),
                expect,
            ));
        }
        for route in ["resolve", "resume", "controls", "policy"] {
            v.push(case(
                format!("POST /v1/intents/{id}/{route}"),
                post(&format!("/v1/intents/{id}/{route}"), key, &[], br#"{"status":"CANCELED"}"#),
                expect,
            ));
        }
        v.push(case(
            format!("GET /v1/service-accounts/{id}"),
            get(&format!("/v1/service-accounts/{id}"), key, &[]),
            expect,
        ));
        v.push(case(
            format!("POST /v1/service-accounts/{id}/keys"),
            post(&format!("/v1/service-accounts/{id}/keys"), key, &[], b"{}"),
            expect,
        ));
        v.push(case(
            format!("POST /v1/service-accounts/{{sa}}/keys/{id}/revoke"),
            post(&format!("/v1/service-accounts/{}/keys/{id}/revoke", a.service_account_id), key, &[], b""),
            expect,
        ));
        v.push(case(
            format!("GET /v1/deliveries/{id}"),
            get(&format!("/v1/deliveries/{id}"), key, &[]),
            expect,
        ));
        v.push(case(
            format!("POST /v1/deliveries/{id}/replay"),
            post(&format!("/v1/deliveries/{id}/replay"), key, &[], b""),
            expect,
        ));
    }
    v.push(case("GET /v1/agents/nobody-is-here", get("/v1/agents/nobody-is-here", key, &[]), &[404]));

    // Another tenant's ids (404: never 403, never its data), with valid bodies.
    for suffix in ["", "/events", "/events/stream?wait_seconds=1"] {
        v.push(case(
            format!("GET tenant B's /v1/intents/{{id}}{suffix}"),
            get(&format!("/v1/intents/{ib}{suffix}"), key, &[]),
            &[404],
        ));
    }
    for (route, body) in [
        ("resolve", json!({"status": "CANCELED"})),
        ("resume", json!({"approve_current_step": true})),
        ("resume", json!({"result": {"stolen": true}})),
        ("controls", json!({"controls_patch": {"timeout_seconds": 1}})),
        ("policy", json!({"grants_patch": {"delegate:agent://a/b/c": {"allow": ["resume"]}}})),
    ] {
        v.push(case(
            format!("POST tenant B's /v1/intents/{{id}}/{route}"),
            post(&format!("/v1/intents/{ib}/{route}"), key, &[], body.to_string().as_bytes()),
            &[404],
        ));
    }
    v.push(case(
        "GET tenant B's service account",
        get(&format!("/v1/service-accounts/{}", b.service_account_id), key, &[]),
        &[404],
    ));
    v.push(case(
        "POST a key for tenant B's service account",
        post(&format!("/v1/service-accounts/{}/keys", b.service_account_id), key, &[], b"{}"),
        &[404],
    ));
    v.push(case(
        "POST revoke of tenant B's key",
        post(
            &format!("/v1/service-accounts/{}/keys/{}/revoke", b.service_account_id, b.key_id),
            key,
            &[],
            b"",
        ),
        &[404],
    ));
    if !b.agent_address.is_empty() {
        let addr = b.agent_address.trim_start_matches("agent://");
        v.push(case("GET tenant B's agent", get(&format!("/v1/agents/{addr}"), key, &[]), &[404]));
    }

    // Oversized and too many headers: hyper answers before routing (no body, so no envelope).
    let huge = "h".repeat(1024 * 1024);
    let mut c = case(
        "GET /v1/intents with a 1 MiB header",
        get("/v1/intents", key, &[("x-padding", &huge)]),
        &[431, 400],
    );
    c.envelope = false;
    v.push(c);
    let many: Vec<(String, String)> = (0..200).map(|i| (format!("x-h{i}"), "v".into())).collect();
    let many_ref: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let mut c = case("GET /v1/intents with 200 headers", get("/v1/intents", key, &many_ref), &[431, 400]);
    c.envelope = false;
    v.push(c);
    let big_key = "k".repeat(60 * 1024);
    v.push(case("GET /v1/intents with a 60 KiB x-api-key", get("/v1/intents", &big_key, &[]), &[401]));

    // Unknown routes and methods.
    v.push(case("GET /v1/nope", get("/v1/nope", key, &[]), &[404]));
    v.push(case(
        "DELETE /v1/intents",
        http::request("DELETE", "/v1/intents", &[("x-api-key", key)], b""),
        &[405],
    ));
    v.push(case(
        "PATCH /v1/intents/{id}",
        http::request("PATCH", &format!("/v1/intents/{ia}"), &[("x-api-key", key)], b"{}"),
        &[405],
    ));
    v
}

/// The §1.4 envelope: `{"error": {code, message, category, retryable, details}, "detail": str}`.
fn envelope_problem(r: &Response) -> Option<String> {
    let v = r.json();
    let e = &v["error"];
    let code_ok = e["code"].as_str().is_some_and(|c| {
        (3..=128).contains(&c.len())
            && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:.-".contains(&b))
    });
    if !code_ok
        || !e["message"].is_string()
        || !e["category"].is_string()
        || !e["retryable"].is_boolean()
        || !e["details"].is_object()
        || !v["detail"].is_string()
    {
        return Some(format!("not the error envelope: {}", r.text().chars().take(300).collect::<String>()));
    }
    if r.header("x-request-id").is_none() {
        return Some("no x-request-id header".into());
    }
    None
}

async fn send(addr: SocketAddr, request: &[u8]) -> Result<Response, String> {
    let attempt = async {
        let mut conn = Conn::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        conn.write(request).await.map_err(|e| format!("write: {e}"))?;
        conn.read_response().await.map_err(|e| format!("read: {e}"))
    };
    tokio::time::timeout(Duration::from_secs(20), attempt)
        .await
        .map_err(|_| "no answer within 20 s".to_owned())?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "torture: spawns the real binary; run with bench/torture/run-short"]
async fn bad_input_gets_documented_errors_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = AxpOptions::new(&axp_bin(), dir.path());
    let mut axp = Axp::start(&opts).await.expect("axp starts");
    let a = fixture(axp.addr, &axp.admin_key, "a").await;

    // A second tenant, created through the store while the server is stopped (the API has no
    // tenant creation).
    axp.guard.terminate(Duration::from_secs(10));
    {
        let backend = SqliteStore::open(&dir.path().join("axp.db"), Arc::new(axp_store::NoListener))
            .expect("open store");
        let store = Ledger::new(Arc::new(backend), Presence::default());
        let (spec, token) = axp_store::conformance::tenant_spec();
        store.create_tenant(spec).await.expect("second tenant");
        std::fs::write(dir.path().join("tenant-b.key"), token).expect("write");
    }
    let axp = Axp::start(&opts).await.expect("axp restarts");
    let token_b = std::fs::read_to_string(dir.path().join("tenant-b.key")).expect("read");
    let b = fixture(axp.addr, &token_b, "b").await;

    let before = (snapshot(axp.addr, &a).await, snapshot(axp.addr, &b).await);
    let all = cases(&a, &b);
    let mut failures = Vec::new();
    let mut transport = 0;
    for c in &all {
        match send(axp.addr, &c.request).await {
            Ok(r) => {
                if r.status >= 500 {
                    failures.push(format!("{}: {} (5xx) {}", c.name, r.status, r.text()));
                } else if !c.expect.contains(&r.status) {
                    failures.push(format!(
                        "{}: got {}, documented {:?}: {}",
                        c.name,
                        r.status,
                        c.expect,
                        r.text().chars().take(200).collect::<String>()
                    ));
                } else if c.envelope
                    && r.status >= 400
                    && let Some(p) = envelope_problem(&r)
                {
                    failures.push(format!("{}: {p}", c.name));
                }
            }
            // A server may close the connection on a request it will not read (a 1 MiB header).
            Err(e) if !c.envelope => {
                transport += 1;
                println!("  {}: connection ended without a response ({e})", c.name);
            }
            Err(e) => failures.push(format!("{}: {e}", c.name)),
        }
    }
    let after = (snapshot(axp.addr, &a).await, snapshot(axp.addr, &b).await);
    let health = send(axp.addr, &http::get("/health", "")).await.map(|r| r.status);
    println!(
        "bad input sweep: {} requests, {} failures, {transport} closed without a response; state unchanged: {}",
        all.len(),
        failures.len(),
        before == after
    );
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert_eq!(health, Ok(200), "the server is still healthy");
    assert!(before == after, "state changed:\nbefore {}\nafter  {}", before.0, after.0);
    assert!(failures.is_empty(), "{} of {} cases failed (see the output above)", failures.len(), all.len());
}
