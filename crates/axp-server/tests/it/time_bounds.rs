//! Checked arithmetic where a client number meets time (issue 12): a delay, lease, reminder or
//! step time past 366 days is a 422 in the envelope, for each family that takes one, and
//! nothing is created.

use axp_test_util::TestServer;
use serde_json::{Value, json};

use crate::helpers::http;

/// Past `MAX_DELAY_SECONDS` (366 days), and past `u32` and `i64` too.
const TOO_LONG: [u64; 3] = [366 * 24 * 3600 + 1, 1 << 40, u64::MAX];

async fn post(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let r = http()
        .post(format!("{}{path}", server.base_url))
        .header("x-api-key", &server.admin_key)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn intents_refuse_lease_and_reminder_times_past_366_days() {
    let server = TestServer::spawn().await;
    for field in ["lease_seconds", "remind_after_seconds", "remind_interval_seconds"] {
        for n in TOO_LONG {
            let body = json!({"intent_type": "notify.message.v1", "to_agent": "worker", field: n});
            let (status, body) = post(&server, "/v1/intents", &body).await;
            assert_eq!(status, 422, "{field}={n}: {body}");
            assert_eq!(body["errors"][0]["loc"][1], field);
        }
    }
    let ok =
        json!({"intent_type": "notify.message.v1", "to_agent": "worker", "lease_seconds": 366 * 24 * 3600});
    assert_eq!(post(&server, "/v1/intents", &ok).await.0, 200, "366 days is allowed");
    let listed: Value = http()
        .get(format!("{}/v1/intents", server.base_url))
        .header("x-api-key", &server.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["intents"].as_array().map(Vec::len), Some(1), "only the valid one was created");
}

#[tokio::test]
async fn bindings_refuse_leases_past_366_days() {
    let server = TestServer::spawn().await;
    for n in TOO_LONG {
        let body = json!({"name": "leasy", "delivery_mode": "poll", "lease_seconds": n});
        let (status, body) = post(&server, "/v1/service-accounts", &body).await;
        assert_eq!(status, 422, "{n}: {body}");
        assert_eq!(body["errors"][0]["loc"][1], "lease_seconds");
    }
    let body = json!({"name": "leasy", "delivery_mode": "poll", "lease_seconds": 60});
    assert_eq!(post(&server, "/v1/service-accounts", &body).await.0, 200, "the name was never taken");
}

#[tokio::test]
async fn scenarios_refuse_step_times_past_366_days() {
    let server = TestServer::spawn().await;
    let bundle = |step: Value| {
        json!({
            "scenario_id": "time.bounds.v1",
            "agents": [{"role": "svc", "address": "svc", "delivery_mode": "stream", "create_if_missing": true}],
            "workflow": {"steps": [step]},
            "intent": {"type": "intent.time.bounds.v1", "payload": {}}
        })
    };
    for n in TOO_LONG {
        for step in [
            json!({"step_id": "wait", "runtime_type": "delay", "runtime_config": {"seconds": n}}),
            json!({"step_id": "work", "tool_id": "t", "assigned_to": "svc", "step_deadline_seconds": n}),
            json!({"step_id": "work", "tool_id": "t", "assigned_to": "svc", "retry": {"max_retries": 1, "retry_delay_seconds": n}}),
        ] {
            let (status, body) = post(&server, "/v1/scenarios/apply", &bundle(step.clone())).await;
            assert_eq!(status, 422, "{step}: {body}");
            assert!(body["detail"].as_str().unwrap().contains("366 days"), "{body}");
        }
    }
    let ok = json!({"step_id": "wait", "runtime_type": "delay", "runtime_config": {"seconds": 30}});
    assert_eq!(post(&server, "/v1/scenarios/apply", &bundle(ok)).await.0, 200);
}
