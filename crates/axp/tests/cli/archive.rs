//! `axp archive read`: finds an intent in an archive file as the pruner writes it (a gzip member
//! per batch, day files), prints it for people and as JSON for scripts, and says clearly when
//! the intent is not there or the file is not an archive.

use axp_core::api::CreateIntentRequest;
use axp_core::retention::ArchivedIntent;
use axp_engine::retention::ArchiveDir;
use serde_json::json;

use crate::helpers::{Server, Shell};

#[tokio::test]
async fn an_archived_intent_is_found_again() {
    let server = Server::start().await;
    let client = server.client();
    let mut records = Vec::new();
    for text in ["first", "second"] {
        let request = CreateIntentRequest {
            intent_type: "notify.message.v1".into(),
            to_agent: "agent://nobody".into(),
            payload: json!({"text": text}).as_object().cloned().unwrap(),
            correlation_id: None,
            reply_to: None,
            deadline_at: None,
            max_delivery_attempts: None,
            human_task: None,
        };
        let id = client.create_intent(&request, None).await.unwrap().intent_id;
        client.resolve(id, &json!({"status": "COMPLETED", "result": {"text": text}})).await.unwrap();
        let intent = client.get_intent(id).await.unwrap();
        let events = client.list_events(id, 0).await.unwrap().events;
        records.push(ArchivedIntent { archived_at: intent.updated_at, intent, events, deliveries: vec![] });
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = ArchiveDir::open(dir.path()).unwrap();
    let now = records[0].archived_at;
    // Two batches: two gzip members in one day file.
    archive.append(now, &records[..1]).unwrap();
    let file = archive.append(now, &records[1..]).unwrap();
    let file = file.to_str().unwrap();

    let sh = Shell::new();
    for record in &records {
        let id = record.intent.intent_id.to_string();
        let found = sh.run(&["archive", "read", file, "--intent", &id, "--json"]).await.expect(0).json();
        assert_eq!(found, serde_json::to_value(record).unwrap());
        let table = sh.run(&["archive", "read", file, "--intent", &id]).await.expect(0);
        assert!(table.stdout.contains(&id) && table.stdout.contains("COMPLETED"), "{table}");
        assert!(table.stdout.contains("intent.completed"), "the events are listed: {table}");
    }
    let missing = uuid::Uuid::new_v4().to_string();
    let run = sh.run(&["archive", "read", file, "--intent", &missing]).await.expect(1);
    assert!(run.stderr.contains("is not in"), "{run}");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, format!("{{\"intent_id\":\"{missing}\"}}\n")).unwrap();
    let run = sh.run(&["archive", "read", bad.to_str().unwrap(), "--intent", &missing]).await.expect(1);
    assert!(run.stderr.contains("line 1"), "names the line: {run}");
    sh.run(&["archive", "read", file, "--intent", "not-a-uuid"]).await.expect(2);
}
