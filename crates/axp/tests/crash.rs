//! An acknowledged write is never lost: `kill -9` the real binary while clients create intents,
//! restart it on the same data directory, and check that every intent that got a 200 exists with
//! its events.

use std::path::Path;

use axp_test_util::binary::{ServeCommand, ServeProcess};
use serde_json::{Value, json};

/// Starts `axp serve` on port 0 over `data_dir` and reads the URL it prints; no sleeping.
fn start(data_dir: &Path) -> ServeProcess {
    ServeCommand::new(env!("CARGO_BIN_EXE_axp"), data_dir).start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_intents_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let mut acknowledged: Vec<String> = Vec::new();
    let mut key = String::new();
    for round in 0..4 {
        let mut axp = start(dir.path());
        if round == 0 {
            key = std::fs::read_to_string(dir.path().join("admin.key")).unwrap().trim().to_owned();
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let mut writers = Vec::new();
        for w in 0..8 {
            let (http, url, key, tx) = (http.clone(), axp.url().to_owned(), key.clone(), tx.clone());
            writers.push(tokio::spawn(async move {
                for i in 0..10_000 {
                    let body = json!({"intent_type": "crash.test.v1", "to_agent": "worker", "payload": {"round": round, "writer": w, "i": i}});
                    let Ok(response) = http.post(format!("{url}/v1/intents")).header("x-api-key", &key).json(&body).send().await else { return };
                    if response.status() != 200 {
                        return;
                    }
                    let Ok(created) = response.json::<Value>().await else { return };
                    if tx.send(created["intent_id"].as_str().unwrap().to_owned()).is_err() {
                        return;
                    }
                }
            }));
        }
        drop(tx);
        // Kill as soon as 40 creates of this round were acknowledged: others are in flight.
        for _ in 0..40 {
            acknowledged.push(rx.recv().await.expect("writers acknowledge creates"));
        }
        axp.kill9();
        for w in writers {
            w.await.unwrap();
        }
        while let Some(id) = rx.recv().await {
            acknowledged.push(id);
        }
    }

    let mut axp = start(dir.path());
    for id in &acknowledged {
        let r = http
            .get(format!("{}/v1/intents/{id}/events", axp.url()))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged intent {id} was lost");
        let events: Value = r.json().await.unwrap();
        let seqs: Vec<u64> =
            events["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [1, 2], "intent {id} has its events");
    }
    let mut unique = acknowledged.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), acknowledged.len());
    axp.kill9();
}
