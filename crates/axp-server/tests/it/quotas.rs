//! Quotas, usage and billing in process, on a manual clock: PATCH validation (422, nothing
//! changes), `requests_per_minute` with `Retry-After` to the minute's end, `grace` marking
//! instead of refusing, the usage series from the counters, the fixed billing plan; and on
//! both backends the flush writing what the meter counted.

use std::sync::Arc;

use axp_core::Timestamp;
use axp_engine::{Clock, ManualClock};
use axp_test_util::TestServer;
use serde_json::{Value, json};

use crate::callers::assert_schema;
use crate::helpers::http;

/// 10 s into a UTC day (and so into a minute: 50 s before it ends).
const START_MS: i64 = 1_780_272_010_000;

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request =
        http().request(method, format!("{}{path}", server.base_url)).header("x-api-key", &server.admin_key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_invalid_patch_is_422_and_changes_nothing() {
    let server = TestServer::spawn().await;
    let (_, before) = json_of(call(&server, reqwest::Method::GET, "/v1/quotas", None).await).await;
    // The default policy too: `updated_at` is when the workspace was created.
    assert_schema("api.quotas.get.response.v1", &before, &[]);
    let bad = json!({"dimensions": {"intents_per_day": -1, "nope": 3}, "overage_mode": "sometimes"});
    let (status, body) = json_of(call(&server, reqwest::Method::PATCH, "/v1/quotas", Some(bad)).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_error");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(3), "{body}");
    let (_, after) = json_of(call(&server, reqwest::Method::GET, "/v1/quotas", None).await).await;
    assert_eq!(before, after);
    assert_eq!(after["quota_policy"]["updated_by_actor_id"], Value::Null, "still the default");
    let audit =
        json_of(call(&server, reqwest::Method::GET, "/v1/audit?action=quota.updated", None).await).await;
    assert_eq!(audit.1["entries"], json!([]));
}

#[tokio::test]
async fn requests_per_minute_blocks_until_the_minute_ends_and_grace_only_marks() {
    let clock = ManualClock::new(Timestamp::from_millis(START_MS));
    let server = TestServer::spawn_with_clock(Arc::new(clock.clone())).await;
    let patch = json!({"dimensions": {"requests_per_minute": 4}});
    assert_eq!(call(&server, reqwest::Method::PATCH, "/v1/quotas", Some(patch)).await.status(), 200);
    // The PATCH was the minute's first request; three more fit, the fourth of them warns (80%).
    for n in 2..=4 {
        let response = call(&server, reqwest::Method::GET, "/v1/capabilities", None).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers().contains_key("x-quota-warning"), n >= 4, "request {n}");
    }
    let refused = call(&server, reqwest::Method::GET, "/v1/capabilities", None).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "50");
    assert_eq!(json_of(refused).await.1["error"]["code"], "quota_exceeded");

    clock.advance_seconds(50);
    let patch = json!({"overage_mode": "grace"});
    assert_eq!(call(&server, reqwest::Method::PATCH, "/v1/quotas", Some(patch)).await.status(), 200);
    for _ in 0..6 {
        assert_eq!(call(&server, reqwest::Method::GET, "/v1/capabilities", None).await.status(), 200);
    }
    let marked = call(&server, reqwest::Method::GET, "/v1/capabilities", None).await;
    let warning = marked.headers()["x-quota-warning"].to_str().unwrap().to_owned();
    assert!(warning.starts_with("requests_per_minute="), "{warning}");
}

#[tokio::test]
async fn usage_reports_the_counters_and_a_flush_writes_them() {
    let clock = ManualClock::new(Timestamp::from_millis(START_MS));
    let server = TestServer::spawn_with_clock(Arc::new(clock.clone())).await;
    let create = json!({"intent_type": "usage.test.v1", "to_agent": "worker", "payload": {}});
    for _ in 0..3 {
        assert_eq!(
            call(&server, reqwest::Method::POST, "/v1/intents", Some(create.clone())).await.status(),
            200
        );
    }
    let bad = json!({"intent_type": "usage.test.v1"});
    assert_eq!(call(&server, reqwest::Method::POST, "/v1/intents", Some(bad)).await.status(), 422);
    let (_, summary) = json_of(call(&server, reqwest::Method::GET, "/v1/usage/summary", None).await).await;
    assert_eq!(summary["summary"]["dimensions"]["intents_per_day"]["used"], 3, "failures do not count");

    // Written by a flush, the series still reads the same.
    server.state().meter.flush(clock.now()).await.unwrap();
    assert!(server.state().meter.unflushed(server.admin.tenant.workspace_id).is_empty());
    let stored = server.state().store.usage(&server.admin.tenant, 0, i64::MAX / 2).await.unwrap();
    assert!(stored.iter().any(|c| c.dimension == axp_core::quota::Dimension::IntentsPerDay && c.count == 3));
    let path = "/v1/usage/timeseries?window_days=2";
    let (status, series) = json_of(call(&server, reqwest::Method::GET, path, None).await).await;
    assert_eq!(status, 200, "{series}");
    let points = series["series"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(series["series"]["granularity"], "day");
    assert_eq!(points[0]["dimensions"]["intents_per_day"], 0);
    assert_eq!(points[1]["dimensions"]["intents_per_day"], 3);
    assert!(points[1]["dimensions"]["requests_per_minute"].as_u64().unwrap() >= 5);
    let (status, _) =
        json_of(call(&server, reqwest::Method::GET, "/v1/usage/timeseries?window_days=91", None).await).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn billing_is_a_fixed_plan_with_no_invoices() {
    let server = TestServer::spawn().await;
    let (status, plan) = json_of(call(&server, reqwest::Method::GET, "/v1/billing/plan", None).await).await;
    assert_eq!((status, &plan["billing_plan"]["plan_code"]), (200, &json!("self_hosted")));
    assert_schema("api.billing.plan.get.response.v1", &plan, &[]);
    let (status, body) =
        json_of(call(&server, reqwest::Method::PATCH, "/v1/billing/plan", Some(json!({}))).await).await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("policy_denied")));
    let (_, invoices) =
        json_of(call(&server, reqwest::Method::GET, "/v1/billing/invoices", None).await).await;
    assert_eq!(invoices["invoices"], json!([]));
    let (status, _) =
        json_of(call(&server, reqwest::Method::GET, "/v1/billing/invoices/inv_1", None).await).await;
    assert_eq!(status, 404);
}
