//! Fair use against the real binary: the per-key rate limit (429 `rate_limit_exceeded`, an
//! integer `Retry-After`, the `X-RateLimit-*` headers of contract §1.6) and, per key, one
//! client's flood leaving another key untouched.

use std::path::Path;
use std::time::Duration;

use axp_test_util::binary::{ServeCommand, ServeProcess};
use serde_json::{Value, json};

/// Longest a graceful stop may take here (generous: debug build, shared CI machine).
const BOUND: Duration = Duration::from_secs(30);

/// Starts `axp serve` on port 0 with `env` set and reads the URL it prints; no sleeping.
fn start(data_dir: &Path, env: &[(&str, &str)]) -> ServeProcess {
    ServeCommand::new(env!("CARGO_BIN_EXE_axp"), data_dir).envs(env).start()
}

fn header(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// A second service account's key, made over HTTP with `admin`.
async fn second_key(http: &reqwest::Client, url: &str, admin: &str) -> String {
    let created: Value = http
        .post(format!("{url}/v1/service-accounts"))
        .header("x-api-key", admin)
        .json(&json!({"name": "second"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["service_account"]["service_account_id"].as_str().expect("an account id").to_owned();
    let key: Value = http
        .post(format!("{url}/v1/service-accounts/{id}/keys"))
        .header("x-api-key", admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    key["key"]["token"].as_str().expect("a key token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_key_gets_429_and_another_key_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let axp = start(dir.path(), &[("AXP_RATE_LIMIT_PER_KEY", "1"), ("AXP_RATE_LIMIT_BURST", "5")]);
    let admin = std::fs::read_to_string(dir.path().join("admin.key")).unwrap().trim().to_owned();
    let http = reqwest::Client::new();
    let other = second_key(&http, axp.url(), &admin).await;

    let list =
        |key: &str| http.get(format!("{}/v1/intents?limit=1", axp.url())).header("x-api-key", key).send();
    let first = list(&other).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-ratelimit-limit"), Some(5));
    assert_eq!(header(&first, "x-ratelimit-remaining"), Some(4));
    assert!(header(&first, "x-ratelimit-reset").is_some_and(|s| (1..=5).contains(&s)));

    // The admin key spent two requests making the account; at 1/s with a burst of 5 it is
    // refused within a few more (bounded: 50 tries).
    let mut refused = None;
    for _ in 0..50 {
        let response = list(&admin).await.unwrap();
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), 200);
    }
    let refused = refused.expect("a runaway key is refused");
    let retry_after = header(&refused, "retry-after").expect("an integer Retry-After");
    assert!((1..=5).contains(&retry_after), "Retry-After {retry_after}");
    assert!(refused.headers().get("x-request-id").is_some());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(body["error"]["retryable"], true);
    assert!(body["detail"].is_string());

    // Another key of the same workspace still gets in, and so do unauthenticated probes.
    assert_eq!(list(&other).await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{}/health", axp.url())).send().await.unwrap().status(), 200);
    // A refused write changes nothing: once the key may read again (bounded by the
    // Retry-After it is told), it finds no intent.
    let create = http
        .post(format!("{}/v1/intents", axp.url()))
        .header("x-api-key", &admin)
        .json(&json!({"intent_type": "fair.use.v1", "to_agent": "worker", "payload": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 429);
    let wait = header(&create, "retry-after").unwrap();
    for _ in 0..10 {
        let response = list(&admin).await.unwrap();
        if response.status() == 200 {
            let listed: Value = response.json().await.unwrap();
            assert_eq!(listed["intents"].as_array().map(Vec::len), Some(0), "{listed}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    }
    panic!("the key was never let in again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intents_per_day_quota_warns_then_blocks_and_usage_counts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("AXP_RATE_LIMIT_PER_KEY", "0")];
    let mut axp = start(dir.path(), &env);
    let admin = std::fs::read_to_string(dir.path().join("admin.key")).unwrap().trim().to_owned();
    let http = reqwest::Client::new();

    let patched = http
        .patch(format!("{}/v1/quotas", axp.url()))
        .header("x-api-key", &admin)
        .json(&json!({"dimensions": {"intents_per_day": 3}, "soft_threshold_percent": 50}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["quota_policy"]["dimensions"]["intents_per_day"], 3);
    assert_eq!(patched["quota_policy"]["overage_mode"], "block");

    let create = |i: u32| {
        http.post(format!("{}/v1/intents", axp.url()))
            .header("x-api-key", &admin)
            .json(&json!({"intent_type": "fair.quota.v1", "to_agent": "worker", "payload": {"i": i}}))
            .send()
    };
    let first = create(1).await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("x-quota-warning").is_none());
    for i in 2..=3 {
        let warned = create(i).await.unwrap();
        assert_eq!(warned.status(), 200);
        let warning = warned.headers()["x-quota-warning"].to_str().unwrap().to_owned();
        assert!(warning.contains("intents_per_day="), "{warning}");
    }
    let blocked = create(4).await.unwrap();
    assert_eq!(blocked.status(), 429);
    let retry_after = header(&blocked, "retry-after").expect("an integer Retry-After");
    assert!((1..=86_400).contains(&retry_after));
    let body: Value = blocked.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert_eq!(body["error"]["details"]["dimension"], "intents_per_day");

    let summary = |url: String| {
        let (http, admin) = (http.clone(), admin.clone());
        async move {
            let r =
                http.get(format!("{url}/v1/usage/summary")).header("x-api-key", &admin).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["summary"]["dimensions"]["intents_per_day"].clone()
        }
    };
    assert_eq!(summary(axp.url().to_owned()).await, json!({"used": 3, "limit": 3, "remaining": 0}));
    let audit: Value = http
        .get(format!("{}/v1/audit?action=quota.updated", axp.url()))
        .header("x-api-key", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["entries"].as_array().map(Vec::len), Some(1), "{audit}");

    // The counts were flushed at the graceful stop: a new process still refuses the fourth.
    let exit = axp.terminate(BOUND);
    assert!(exit.success(), "a graceful stop exits 0: {exit}");
    drop(axp);
    let axp = start(dir.path(), &env);
    assert_eq!(summary(axp.url().to_owned()).await, json!({"used": 3, "limit": 3, "remaining": 0}));
    let create = http
        .post(format!("{}/v1/intents", axp.url()))
        .header("x-api-key", &admin)
        .json(&json!({"intent_type": "fair.quota.v1", "to_agent": "worker", "payload": {"i": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 429);
}
