//! Scenario bundles (contract §4.13): the seed's bundle end to end, validation, idempotency.

use axp_client::AgentStreamItem;
use axp_core::Status;
use axp_test_util::TestServer;
use futures::StreamExt;
use serde_json::{Value, json};

fn seed() -> Value {
    json!({
      "scenario_id": "durable-api-operations.demo.v1",
      "title": "Durable API operations - report generation via FastAPI",
      "agents": [{"role": "report_service", "address": "report-api-demo", "display_name": "Report API Service", "delivery_mode": "stream", "create_if_missing": true}],
      "workflow": {"steps": [{"step_id": "generate_report", "tool_id": "tool.agent.task.v1", "assigned_to": "report_service", "step_deadline_seconds": 120}]},
      "intent": {"type": "intent.report.generate.v1", "payload": {"report_type": "financial", "format": "pdf", "fiscal_year": "2025"}, "max_delivery_attempts": 3}
    })
}

#[tokio::test]
async fn apply_provisions_the_agent_and_routes_the_intent_to_it() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let applied = client.apply_scenario(&seed(), Some("seed-1")).await.unwrap();
    assert_eq!(applied.scenario_id, "durable-api-operations.demo.v1");
    assert_eq!(applied.compile_id, applied.workflow_compile_id);
    let agent = &applied.agents_provisioned[0];
    assert!(agent.created);
    assert_eq!(agent.address, "agent://default/default/report-api-demo");
    assert_eq!(applied.pending_with, agent.address);

    let agent_client = server.client_with_key(agent.api_key.as_deref().expect("a new agent's key"));
    let items: Vec<_> = agent_client.listen_once("report-api-demo", 0, 1).map(|i| i.unwrap()).collect().await;
    let AgentStreamItem::Delivery(delivery) = &items[0] else { panic!("expected a delivery, got {items:?}") };
    assert_eq!(delivery.intent_id, applied.intent_id);
    assert_eq!(delivery.step_id.as_deref(), Some("generate_report"));
    assert_eq!(delivery.payload["report_type"], "financial");

    let intent = client.get_intent(applied.intent_id).await.unwrap();
    assert_eq!(intent.scenario_id.as_deref(), Some("durable-api-operations.demo.v1"));
    assert_eq!(intent.max_delivery_attempts, Some(3));
    assert_eq!(intent.status, Status::Delivered);

    let replay = client.apply_scenario(&seed(), Some("seed-1")).await.unwrap();
    assert!(replay.idempotent);
    assert_eq!(replay.intent_id, applied.intent_id);
    assert!(replay.agents_provisioned[0].api_key.is_none(), "replays carry no secrets");
    let second = client.apply_scenario(&seed(), None).await.unwrap();
    assert_ne!(second.intent_id, applied.intent_id);
    assert!(!second.agents_provisioned[0].created, "the agent is reused");
}

#[tokio::test]
async fn validate_reports_and_apply_rejects_bad_bundles() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let ok = client.validate_scenario(&seed()).await.unwrap();
    assert!(ok.valid, "{:?}", ok.errors);

    let mut bad = seed();
    bad["workflow"]["steps"][0]["assigned_to"] = json!("nobody here");
    bad["agents"][0]["create_if_missing"] = json!(false);
    let report = client.validate_scenario(&bad).await.unwrap();
    assert!(!report.valid);
    assert!(!report.errors.is_empty());
    let err = client.apply_scenario(&bad, None).await.unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert!(
        client.list_intents(&[], None, None).await.unwrap().is_empty(),
        "a rejected apply creates nothing"
    );

    let mut unknown = seed();
    unknown["agents"][0]["create_if_missing"] = json!(false);
    let report = client.validate_scenario(&unknown).await.unwrap();
    assert!(report.valid, "an unknown agent is only a warning on validate");
    assert!(report.warnings.iter().any(|e| e.contains("does not exist")), "{:?}", report.warnings);
    let err = client.apply_scenario(&unknown, None).await.unwrap_err();
    assert_eq!(err.status(), Some(422), "and an error on apply");
}
