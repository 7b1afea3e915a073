//! `scenarios apply --watch` of the seed scenario with a live agent, and `scenarios validate`.

use futures::TryStreamExt;
use serde_json::json;

use crate::helpers::{Server, Shell, assert_plain, assert_snapshot};

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sdk-python/scenario.json");

/// The seed's agent, run in the test with the SDK: completes every delivery, `count` times.
async fn report_agent(client: axp_client::Client, count: usize) -> axp_client::Result<()> {
    let mut deliveries = std::pin::pin!(client.listen("report-api-demo", 0));
    let mut done = 0;
    while let Some(delivery) = deliveries.try_next().await? {
        let url = format!("https://reports.example/{}.pdf", delivery.intent_id);
        match client.resume(delivery.intent_id, &json!({"action": "complete", "report_url": url})).await {
            Ok(_) => done += 1,
            Err(e) if e.is_conflict() => {} // at-least-once: a redelivery of one already done
            Err(e) => return Err(e),
        }
        if done == count {
            return Ok(());
        }
    }
    Ok(())
}

#[tokio::test]
async fn apply_watch_with_a_live_agent_exits_0() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    let agent = tokio::spawn(report_agent(server.client(), 2));

    // For people: the apply summary, then the lifecycle live, then the final line on stderr.
    let run = sh.run(&["scenarios", "apply", SEED, "--watch", "--timeout", "60"]).await.expect(0);
    assert!(run.stdout.contains("durable-api-operations.demo.v1"), "{run}");
    assert!(
        run.stdout.contains("agent://default/default/report-api-demo  (created, stream binding)"),
        "{run}"
    );
    for event in ["intent.created", "intent.submitted", "intent.delivered", "intent.completed"] {
        assert!(run.stdout.contains(event), "{event} missing\n{run}");
    }
    assert!(run.stderr.contains("COMPLETED"), "{run}");
    assert!(run.stderr.contains("shown once"), "the new agent's key is announced\n{run}");
    assert_plain(&run);

    // For scripts: the apply response, then one event per line.
    let run = sh.run(&["scenarios", "apply", SEED, "--watch", "-o", "jsonl"]).await.expect(0);
    let mut records = run.jsonl();
    let mut applied = records.remove(0);
    // DELIVERED when the agent's stream was connected at the apply (it is handed over in the
    // create), SUBMITTED when it was between reconnects: either is right.
    let status = applied.as_object_mut().and_then(|o| o.remove("status")).unwrap_or_default();
    assert!(status == "DELIVERED" || status == "SUBMITTED", "{status}");
    assert_snapshot("scenarios_apply_watch_response", &applied);
    let statuses: Vec<_> = records.iter().map(|e| e["status"].as_str().unwrap().to_owned()).collect();
    assert_eq!(statuses.last().map(String::as_str), Some("COMPLETED"), "{run}");
    assert_snapshot("scenarios_apply_watch_events", &serde_json::Value::Array(records));
    agent.await.unwrap().unwrap();
}

#[tokio::test]
async fn apply_without_watch_and_validate() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);

    let valid = sh.run(&["scenarios", "validate", SEED, "--json"]).await.expect(0);
    assert_snapshot("scenarios_validate", &valid.json());
    let table = sh.run(&["scenarios", "validate", SEED]).await.expect(0);
    assert!(table.stdout.contains("is valid"), "{table}");

    let broken = json!({"agents": [], "intent": {"payload": {}}}).to_string();
    let invalid = sh.run_with_stdin(&["scenarios", "validate", "-"], Some(&broken)).await.expect(1);
    assert!(invalid.stdout.contains("error:") && invalid.stdout.contains("intent.type"), "{invalid}");
    sh.run(&["scenarios", "validate", "/nonexistent/bundle.json"]).await.expect(2);
    sh.run_with_stdin(&["scenarios", "validate", "-"], Some("{oops")).await.expect(2);

    // The same idempotency key returns the same intent; the server says it replayed.
    let first =
        sh.run(&["scenarios", "apply", SEED, "--idempotency-key", "seed-1", "--json"]).await.expect(0).json();
    let again =
        sh.run(&["scenarios", "apply", SEED, "--idempotency-key", "seed-1", "--json"]).await.expect(0).json();
    assert_eq!(first["intent_id"], again["intent_id"]);
    assert_eq!(again["idempotent"], true);
    let run = sh.run(&["scenarios", "apply", SEED]).await.expect(0);
    assert!(run.stderr.contains("axp intents watch"), "{run}");
}
