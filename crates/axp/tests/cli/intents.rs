//! `intents send|get|list|watch|cancel|resume|retry` and `logs`, with exit codes.

use serde_json::json;

use crate::helpers::{Server, Shell, assert_plain, assert_snapshot};

const TARGET: &str = "agent://default/default/cli-target";

#[tokio::test]
async fn send_get_list_cancel_and_logs() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);

    let sent = sh
        .run(&[
            "intents",
            "send",
            "--to",
            TARGET,
            "--intent-type",
            "report.generate.v1",
            "--data-json",
            r#"{"quarter":"Q1"}"#,
            "--json",
        ])
        .await
        .expect(0);
    assert_snapshot("intents_send", &sent.json());
    let id = sent.json()["intent_id"].as_str().unwrap().to_owned();

    let got = sh.run(&["intents", "get", &id, "--json"]).await.expect(0);
    assert_snapshot("intents_get", &got.json());
    assert_eq!(got.json()["payload"], json!({"quarter": "Q1"}));

    // For people: the id alone on stdout, the tip on stderr; no colour in a pipe.
    let plain =
        sh.run(&["intents", "send", "--to", TARGET, "--intent-type", "report.generate.v1"]).await.expect(0);
    assert_eq!(plain.stdout.trim().len(), 36, "{plain}");
    assert!(plain.stderr.contains("axp intents watch"), "{plain}");
    assert_plain(&plain);

    let listed = sh.run(&["intents", "list", "--to", TARGET, "--json"]).await.expect(0);
    let items = listed.json();
    assert_eq!(items.as_array().unwrap().len(), 2);
    assert!(items.as_array().unwrap().iter().any(|i| i["intent_id"] == id.as_str()));
    let lines =
        sh.run(&["intents", "list", "--to", TARGET, "--status", "SUBMITTED", "-o", "jsonl"]).await.expect(0);
    assert_eq!(lines.jsonl().len(), 2);
    let none = sh.run(&["intents", "list", "--status", "completed", "-o", "jsonl"]).await.expect(0);
    assert!(none.stdout.is_empty(), "{none}");
    let table = sh.run(&["intents", "ls", "--to", TARGET]).await.expect(0);
    assert!(table.stdout.starts_with("INTENT_ID"), "{table}");
    assert!(table.stdout.contains(&id) && table.stdout.contains("SUBMITTED"), "{table}");
    assert_plain(&table);
    sh.run(&["intents", "list", "--status", "DONE"]).await.expect(2);

    let canceled =
        sh.run(&["intents", "cancel", &id, "--reason", "no longer needed", "--json"]).await.expect(0);
    assert_snapshot("intents_cancel", &canceled.json());
    let again = sh.run(&["intents", "cancel", &id]).await.expect(1);
    assert!(again.stderr.contains("409"), "{again}");

    let logs = sh.run(&["logs", &id, "--json"]).await.expect(0);
    assert_snapshot("logs", &logs.json());
    let tail = sh.run(&["logs", &id, "--tail", "1", "-o", "jsonl"]).await.expect(0);
    assert_eq!(tail.jsonl()[0]["event_type"], "intent.canceled");
    let since = sh.run(&["logs", &id, "--since", "2", "-o", "jsonl"]).await.expect(0);
    assert_eq!(since.jsonl().len(), 1);
    let table = sh.run(&["logs", &id]).await.expect(0);
    assert!(table.stdout.contains("intent.canceled") && table.stdout.contains("no longer needed"), "{table}");
}

#[tokio::test]
async fn watch_exit_codes_follow_the_final_status() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    let client = server.client();
    let send = |intent_type: &'static str| {
        let sh = &sh;
        async move {
            let run = sh
                .run(&["intents", "send", "--to", TARGET, "--intent-type", intent_type, "--json"])
                .await
                .expect(0);
            run.json()["intent_id"].as_str().unwrap().to_owned()
        }
    };

    // CANCELED → 4, with the whole history as JSON lines.
    let canceled = send("exit.canceled.v1").await;
    sh.run(&["intents", "cancel", &canceled]).await.expect(0);
    let watched = sh.run(&["intents", "watch", &canceled, "-o", "jsonl"]).await.expect(4);
    let events = watched.jsonl();
    assert_eq!(events.iter().map(|e| e["seq"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(events[2]["status"], "CANCELED");
    // --since skips what was seen.
    let rest = sh.run(&["intents", "watch", &canceled, "--since", "2", "-o", "jsonl"]).await.expect(4);
    assert_eq!(rest.jsonl().len(), 1);

    // FAILED → 3.
    let failed = send("exit.failed.v1").await;
    client
        .resolve(failed.parse().unwrap(), &json!({"status": "FAILED", "error": {"code": "upstream_down"}}))
        .await
        .unwrap();
    let run = sh.run(&["intents", "watch", &failed]).await.expect(3);
    assert!(run.stdout.contains("intent.failed") && run.stdout.contains("upstream_down"), "{run}");
    assert!(run.stderr.contains("FAILED"), "{run}");
    assert_plain(&run);

    // COMPLETED → 0, watched live: the intent completes while the CLI is attached.
    let completed = send("exit.completed.v1").await;
    let args = ["intents", "watch", completed.as_str(), "--timeout", "60"];
    let watcher = sh.run(&args);
    let resolver = async {
        client
            .resolve(completed.parse().unwrap(), &json!({"status": "COMPLETED", "result": {"ok": true}}))
            .await
    };
    let (run, resolved) = tokio::join!(watcher, resolver);
    resolved.unwrap();
    let run = run.expect(0);
    assert!(run.stdout.contains("intent.completed"), "{run}");

    // TIMED_OUT → 5: a deadline a second after the server's clock (read from a create).
    let probe = sh.run(&["intents", "send", "--to", TARGET, "--json"]).await.expect(0).json();
    let now = axp_client::axp_core::Timestamp::parse_rfc3339(probe["created_at"].as_str().unwrap()).unwrap();
    let deadline = now.plus_seconds(1).to_string();
    let timed =
        sh.run(&["intents", "send", "--to", TARGET, "--deadline-at", &deadline, "--json"]).await.expect(0);
    let timed = timed.json()["intent_id"].as_str().unwrap().to_owned();
    let run = sh.run(&["intents", "watch", &timed, "--timeout", "30"]).await.expect(5);
    assert!(run.stdout.contains("intent.timed_out"), "{run}");

    // Still running when --timeout elapses → 6.
    let open = send("exit.open.v1").await;
    let run = sh.run(&["intents", "watch", &open, "--timeout", "1"]).await.expect(6);
    assert!(run.stderr.contains("--timeout"), "{run}");

    // A bad id is the user's mistake (2); an unknown one is the server's answer (1).
    sh.run(&["intents", "watch", "not-an-id"]).await.expect(2);
    let unknown = sh.run(&["intents", "get", "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e"]).await.expect(1);
    assert!(unknown.stderr.contains("404"), "{unknown}");
}

#[tokio::test]
async fn send_watch_resume_and_retry() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);

    // resume with a control-only body moves the intent to IN_PROGRESS; with --data-json it
    // reports the step's result and completes it.
    let id = sh.run(&["intents", "send", "--to", TARGET, "--json"]).await.expect(0).json()["intent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resumed = sh.run(&["intents", "resume", &id, "--reason", "picked up", "--json"]).await.expect(0);
    assert_eq!(resumed.json()["intent"]["status"], "IN_PROGRESS");
    let done = sh
        .run(&[
            "intents",
            "resume",
            &id,
            "--data-json",
            r#"{"action":"complete","report_url":"https://r/1"}"#,
        ])
        .await
        .expect(0);
    assert!(done.stdout.contains("COMPLETED"), "{done}");

    // retry sends a new intent with the same type, target and payload.
    let retried = sh.run(&["intents", "retry", &id, "--json"]).await.expect(0).json();
    let new_id = retried["intent_id"].as_str().unwrap();
    assert_ne!(new_id, id);
    let original = sh.run(&["intents", "get", &id, "--json"]).await.expect(0).json();
    let copy = sh.run(&["intents", "get", new_id, "--json"]).await.expect(0).json();
    for field in ["intent_type", "to_agent", "payload"] {
        assert_eq!(original[field], copy[field], "{field}");
    }
    assert_eq!(copy["status"], "SUBMITTED");

    // send --watch with a timeout: the create response, then the events, as JSON lines.
    let run = sh
        .run(&["intents", "send", "--to", TARGET, "--watch", "--timeout", "1", "-o", "jsonl"])
        .await
        .expect(6);
    let records = run.jsonl();
    assert!(records[0]["intent_id"].is_string() && records[0]["ok"] == true, "{run}");
    assert_eq!(records[1]["event_type"], "intent.created");

    // The same idempotency key replays the same intent.
    let first = sh
        .run(&["intents", "send", "--to", TARGET, "--idempotency-key", "cli-once", "--json"])
        .await
        .expect(0);
    let second = sh
        .run(&["intents", "send", "--to", TARGET, "--idempotency-key", "cli-once", "--json"])
        .await
        .expect(0);
    assert_eq!(first.json()["intent_id"], second.json()["intent_id"]);

    // Bad input is a usage error.
    sh.run(&["intents", "send", "--to", TARGET, "--data-json", "[1,2]"]).await.expect(2);
    sh.run(&["intents", "send", "--intent-type", "a.b.v1"]).await.expect(2);
    let invalid = sh.run(&["intents", "send", "--to", TARGET, "--intent-type", "NOT VALID"]).await.expect(1);
    assert!(invalid.stderr.contains("422"), "{invalid}");
}

#[tokio::test]
async fn bulk_cancel_previews_then_cancels() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    for _ in 0..3 {
        sh.run(&["intents", "send", "--to", TARGET]).await.expect(0);
    }
    let preview = sh
        .run(&["intents", "bulk-cancel", "--older-than-hours", "0", "--dry-run", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(
        (preview["would_cancel"].as_u64(), preview["canceled"].as_u64()),
        (Some(3), Some(0)),
        "{preview}"
    );
    let open = sh.run(&["intents", "list", "--status", "SUBMITTED", "-o", "jsonl"]).await.expect(0);
    assert_eq!(open.jsonl().len(), 3, "a dry run changes nothing");

    let none =
        sh.run(&["intents", "bulk-cancel", "--older-than-hours", "1", "--json"]).await.expect(0).json();
    assert_eq!(none["would_cancel"], 0, "nothing is an hour old");
    let done = sh
        .run(&[
            "intents",
            "bulk-cancel",
            "--older-than-hours",
            "0",
            "--status",
            "SUBMITTED",
            "--reason",
            "cleanup",
            "--json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(done["canceled"], 3, "{done}");
    let open = sh.run(&["intents", "list", "--status", "SUBMITTED", "-o", "jsonl"]).await.expect(0);
    assert!(open.stdout.is_empty(), "{open}");
    sh.run(&["intents", "bulk-cancel", "--older-than-hours", "0", "--status", "NOPE"]).await.expect(2);
}

#[tokio::test]
async fn list_pages_filters_and_orders() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    let mut ids = Vec::new();
    for kind in ["report.generate.v1", "notify.message.v1", "report.generate.v1"] {
        let sent = sh.run(&["intents", "send", "--to", TARGET, "--intent-type", kind]).await.expect(0);
        ids.push(sent.stdout.trim().to_owned());
    }
    let listed = |out: &crate::helpers::Run| -> Vec<String> {
        out.jsonl().iter().map(|i| i["intent_id"].as_str().unwrap().to_owned()).collect()
    };

    // A page of two, newest first; the cursor to continue is on stderr, in JSON modes too.
    let first =
        sh.run(&["intents", "list", "--order", "desc", "--limit", "2", "-o", "jsonl"]).await.expect(0);
    assert_eq!(listed(&first), [ids[2].clone(), ids[1].clone()], "{first}");
    let cursor = first.stderr.split("--cursor ").nth(1).and_then(|r| r.split_whitespace().next());
    let cursor = cursor.unwrap_or_else(|| panic!("a cursor on stderr: {first}")).to_owned();
    let rest = sh.run(&["intents", "list", "--cursor", &cursor, "-o", "jsonl"]).await.expect(0);
    assert_eq!(listed(&rest), [ids[0].clone()], "the cursor keeps its order: {rest}");
    assert!(!rest.stderr.contains("--cursor"), "the last page: {rest}");

    let all = sh.run(&["intents", "list", "--all", "--limit", "1", "--json"]).await.expect(0);
    let all: Vec<_> = all.json().as_array().unwrap().iter().map(|i| i["intent_id"].clone()).collect();
    assert_eq!(all, ids.iter().map(|i| json!(i)).collect::<Vec<_>>(), "--all, oldest first");

    let reports = sh
        .run(&["intents", "list", "--intent-type", "report.generate.v1", "--from", "admin", "-o", "jsonl"])
        .await
        .expect(0);
    assert_eq!(listed(&reports), [ids[0].clone(), ids[2].clone()], "{reports}");
    let later = sh
        .run(&["intents", "list", "--created-after", "2999-01-01T00:00:00Z", "-o", "jsonl"])
        .await
        .expect(0);
    assert!(later.stdout.is_empty(), "{later}");
    let table = sh.run(&["intents", "ls", "--limit", "1"]).await.expect(0);
    assert!(table.stdout.starts_with("INTENT_ID") && table.stderr.contains("--cursor"), "{table}");

    sh.run(&["intents", "list", "--created-before", "yesterday"]).await.expect(2);
    sh.run(&["intents", "list", "--order", "sideways"]).await.expect(2);
    let bad = sh.run(&["intents", "list", "--cursor", "nonsense"]).await.expect(1);
    assert!(bad.stderr.contains("cursor"), "{bad}");
}
