//! `axp demo` runs to COMPLETED and ends by itself.

use crate::helpers::{Shell, assert_plain};

#[tokio::test]
async fn demo_completes_and_exits_0() {
    let sh = Shell::new();
    let run = sh.run(&["demo"]).await.expect(0);
    for event in ["intent.created", "intent.delivered", "intent.in_progress", "intent.completed"] {
        assert!(run.stdout.contains(event), "{event}\n{run}");
    }
    assert!(run.stderr.contains("axp demo:") && run.stderr.contains("axp serve"), "{run}");
    assert_plain(&run);

    let run = sh.run(&["demo", "-o", "jsonl"]).await.expect(0);
    let events = run.jsonl();
    assert_eq!(events.last().unwrap()["status"], "COMPLETED", "{run}");
    assert!(events.iter().all(|e| e["intent_id"] == events[0]["intent_id"]));

    let bundle: serde_json::Value = sh.run(&["demo", "--print-scenario"]).await.expect(0).json();
    assert_eq!(bundle["scenario_id"], "durable-api-operations.demo.v1");
}
