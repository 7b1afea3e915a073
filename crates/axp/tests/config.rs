//! Issue 15, "a config file" and "tracing": `axp.toml` < environment < flags, `axp config show`,
//! the access log and the W3C trace context, against the real binary on loopback.

use std::process::{Command, Stdio};
use std::time::Duration;

use axp_test_util::binary::ServeCommand;
use serde_json::Value;

const AXP: &str = env!("CARGO_BIN_EXE_axp");

/// `axp config show --json` with `config` as the file and `env` set: its settings by key.
fn show(config: &std::path::Path, env: &[(&str, &str)]) -> std::collections::BTreeMap<String, Value> {
    let output = Command::new(AXP)
        .args(["config", "show", "--json", "--config"])
        .arg(config)
        .env_remove("AXP_RETENTION_DAYS")
        .env_remove("AXP_RETENTION_BATCH")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    rows.into_iter().map(|row| (row["key"].as_str().unwrap().to_owned(), row)).collect()
}

#[test]
fn config_show_puts_the_environment_over_the_file_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("axp.toml");
    std::fs::write(
        &file,
        r#"
retention_days = 7
retention_batch = 64
trusted_proxies = ["10.0.0.0/8", "192.168.1.1"]
bootstrap_key = "axme_sa_0000000000000000000000000000000000000000"
database_url = "postgres://axp:hunter2@db.internal:5432/axp"
"#,
    )
    .unwrap();
    let settings = show(&file, &[("AXP_RETENTION_DAYS", "9")]);
    assert_eq!(settings.len(), axp_server::SETTINGS.len(), "every setting is listed");
    assert_eq!(settings["retention_days"]["value"], "9");
    assert_eq!(settings["retention_days"]["source"], "AXP_RETENTION_DAYS");
    assert_eq!(settings["retention_batch"]["value"], "64");
    assert_eq!(settings["retention_batch"]["source"], file.display().to_string());
    assert_eq!(settings["trusted_proxies"]["value"], "10.0.0.0/8,192.168.1.1", "a list is comma-joined");
    assert_eq!(settings["audit_retention_days"]["value"], "365");
    assert_eq!(settings["audit_retention_days"]["source"], "default");
    assert_eq!(settings["bootstrap_key"]["value"], "<redacted>");
    assert_eq!(settings["database_url"]["value"], "postgres://axp:redacted@db.internal:5432/axp");
    let all = serde_json::to_string(&settings).unwrap();
    assert!(!all.contains("hunter2") && !all.contains("axme_sa_0000"), "no secret is printed");
}

#[test]
fn a_config_file_with_an_unknown_key_or_bad_toml_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("axp.toml");
    for (text, expected) in [("retention_dayz = 7\n", "retention_dayz"), ("retention_days = [\n", "TOML")] {
        std::fs::write(&file, text).unwrap();
        for args in [&["config", "show"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
            let output = Command::new(AXP)
                .args(args)
                .arg("--config")
                .arg(&file)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
            assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
        }
    }
    assert!(!dir.path().join("axp-data").exists(), "a refused start writes nothing");
}

/// The file sets the rate limit and the JSON log format; the log then holds one access line per
/// request, with the route template and the key id but never the key; `traceparent` goes in and
/// comes out with the same trace id.
#[tokio::test]
async fn serve_reads_its_config_file_and_logs_each_request_with_its_trace() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("axp.toml");
    std::fs::write(&config, "rate_limit_per_key = 7\nlog_format = \"json\"\nlisten = \"127.0.0.1:1\"\n")
        .unwrap();
    let log_path = dir.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    // The flag --listen 127.0.0.1:0 (ServeCommand's) wins over the file's listen.
    let mut server = ServeCommand::new(AXP, dir.path().join("data"))
        .args(["--config".as_ref(), config.as_os_str()])
        .env_remove(["AXP_RATE_LIMIT_PER_KEY", "AXP_LOG_FORMAT", "AXP_ACCESS_LOG", "AXP_LISTEN"])
        .env("RUST_LOG", "info")
        .stderr(Stdio::from(log))
        .start();
    let key = server.admin_key();
    let http = reqwest::Client::new();
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = http
        .get(format!("{}/v1/intents/{}", server.url(), uuid::Uuid::new_v4()))
        .header("x-api-key", &key)
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // The header gives the burst: twice the rate unless set.
    assert_eq!(response.headers()["x-ratelimit-limit"], "14", "the file's rate limit applies");
    assert_eq!(response.headers()["x-trace-id"], trace, "the traceparent's trace id is the request's");
    let out = response.headers()["traceparent"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = out.split('-').collect();
    assert_eq!((parts[0], parts[1], parts[3]), ("00", trace, "01"), "{out}");
    assert_ne!(parts[2], "00f067aa0ba902b7", "a span of its own");
    let health =
        http.get(format!("{}/health", server.url())).header("x-trace-id", "e2e").send().await.unwrap();
    assert_eq!(health.headers()["x-trace-id"], "e2e");
    assert_eq!(health.headers()["traceparent"].len(), 55, "any trace id gets a W3C form");
    server.terminate(Duration::from_secs(20));

    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(!text.contains(&key), "the key is never logged");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON log lines")).collect();
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "axp::access").collect();
    let intent = access.iter().find(|l| l["route"] == "/v1/intents/{intent_id}").expect("the intent request");
    assert_eq!(intent["method"], "GET");
    assert_eq!(intent["status"], 404);
    assert_eq!(intent["trace_id"], trace);
    assert!(intent["key_id"].as_str().unwrap().starts_with("key:"), "{intent}");
    assert!(intent["latency_ms"].as_f64().unwrap() >= 0.0);
    let health = access.iter().find(|l| l["route"] == "/health").expect("the health request");
    assert_eq!(health["key_id"], "-");
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the request span (in the caller's trace) and the
/// store's write batches reach an OTLP/HTTP receiver; the spans still buffered are sent when the
/// server stops.
// Multi-threaded: the receiver must keep answering while `terminate` blocks this thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_exported_over_otlp_http_in_the_callers_trace() {
    use axum::body::Bytes;
    use axum::routing::post;
    let received: std::sync::Arc<std::sync::Mutex<Vec<(String, Bytes)>>> = Default::default();
    let sink = received.clone();
    let receiver = axum::Router::new().route(
        "/v1/traces",
        post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let content_type =
                headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            sink.lock().unwrap().push((content_type, body));
            async { "" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let dir = tempfile::tempdir().unwrap();
    let mut server = ServeCommand::new(AXP, dir.path().join("data"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env_remove(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
        .start();
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let response = reqwest::Client::new()
        .post(format!("{}/v1/intents", server.url()))
        .header("x-api-key", server.admin_key())
        .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
        .json(&serde_json::json!({"intent_type": "demo.traced", "to_agent": "agent://traced", "payload": {}}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    server.terminate(Duration::from_secs(20));

    let batches = received.lock().unwrap().clone();
    assert!(!batches.is_empty(), "the exporter sent nothing");
    assert!(batches.iter().all(|(ct, _)| ct == "application/x-protobuf"), "OTLP/HTTP protobuf");
    let all: Vec<u8> = batches.iter().flat_map(|(_, b)| b.to_vec()).collect();
    let contains = |needle: &[u8]| all.windows(needle.len()).any(|w| w == needle);
    let trace_bytes: Vec<u8> =
        (0..16).map(|i| u8::from_str_radix(&trace[2 * i..2 * i + 2], 16).unwrap()).collect();
    assert!(contains(&trace_bytes), "a span in the caller's trace");
    assert!(contains(b"request"), "the HTTP request span");
    assert!(contains(b"store.batch"), "the store's write batch span");
    assert!(contains(b"/v1/intents"), "the request span's path");
}
