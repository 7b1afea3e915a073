//! `tasks list|get|approve|reject|submit` on an intent waiting for a person: the list comes from
//! `/v1/me/tasks`, approve/reject go through the inbox, submit through resume.

use crate::helpers::{Server, Shell, assert_snapshot};

const TASK: &str = r#"{"title":"Approve the Q1 report","task_type":"approval","required_comment":true}"#;

async fn waiting_intent(sh: &Shell) -> String {
    let run = sh
        .run(&[
            "intents",
            "send",
            "--to",
            "agent://default/default/finance",
            "--intent-type",
            "report.approve.v1",
            "--human-task-json",
            TASK,
            "--json",
        ])
        .await
        .expect(0);
    assert_eq!(run.json()["status"], "WAITING", "{run}");
    run.json()["intent_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn approve_a_waiting_human_task() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    let id = waiting_intent(&sh).await;

    // An intent that is not waiting for a person is not a task.
    sh.run(&["intents", "send", "--to", "agent://default/default/finance"]).await.expect(0);
    let listed = sh.run(&["tasks", "list", "--json"]).await.expect(0).json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["intent_id"], id.as_str());
    assert_eq!(listed[0]["status"], "WAITING");
    assert_eq!(listed[0]["human_task"]["title"], "Approve the Q1 report");
    assert_eq!(listed[0]["from_agent"], "agent://default/default/admin");
    assert_snapshot("tasks_list", &listed);
    let table = sh.run(&["tasks", "ls"]).await.expect(0);
    assert!(table.stdout.starts_with("INTENT_ID"), "{table}");
    assert!(table.stdout.contains("Approve the Q1 report") && table.stdout.contains("approval"), "{table}");
    // Another owner (here: the recipient) has tasks of its own only.
    let theirs =
        sh.run(&["tasks", "list", "--owner-agent", "agent://default/default/other", "-o", "jsonl"]).await;
    assert!(theirs.expect(0).stdout.is_empty());

    let task = sh.run(&["tasks", "get", &id]).await.expect(0);
    assert!(task.stdout.contains("Approve the Q1 report (approval)"), "{task}");
    assert!(task.stderr.contains(&format!("axp tasks approve {id}")), "{task}");
    let json = sh.run(&["tasks", "get", &id, "--json"]).await.expect(0).json();
    assert_eq!(json["waiting_reason"], "WAITING_FOR_HUMAN");

    // The task requires a comment: the server says no, the CLI exits 1 and shows why.
    let refused = sh.run(&["tasks", "approve", &id]).await.expect(1);
    assert!(refused.stderr.contains("422"), "{refused}");
    let bad_outcome = sh.run(&["tasks", "submit", &id, "--outcome", "maybe", "-c", "hm"]).await.expect(1);
    assert!(bad_outcome.stderr.contains("task_result_invalid"), "{bad_outcome}");
    // approve/reject carry a comment only; form fields go through `submit`.
    sh.run(&["tasks", "approve", &id, "-c", "x", "--data", "k=v"]).await.expect(2);

    // Approved through the inbox: exit 0, and the intent with its result.
    let approved = sh.run(&["tasks", "approve", &id, "-c", "numbers check out", "--json"]).await.expect(0);
    assert_snapshot("tasks_approve", &approved.json());
    assert_eq!(approved.json()["status"], "COMPLETED");
    assert_eq!(approved.json()["result"]["task_result"]["outcome"], "approved");

    // Answered: nothing waits any more, and a late answer exits 1 saying why.
    let late = sh.run(&["tasks", "reject", &id, "-c", "too late"]).await.expect(1);
    assert!(late.stderr.contains("is COMPLETED: no human task is waiting"), "{late}");
    let none = sh.run(&["tasks", "list", "-o", "jsonl"]).await.expect(0);
    assert!(none.stdout.is_empty(), "{none}");
    let logs = sh.run(&["logs", &id, "-o", "jsonl"]).await.expect(0);
    let events = logs.jsonl();
    let types: Vec<_> = events.iter().map(|e| e["event_type"].as_str().unwrap().to_owned()).collect();
    assert!(types.contains(&"intent.human_task_assigned".to_owned()), "{types:?}");
    let completed = events.last().unwrap();
    assert_eq!(completed["event_type"], "intent.completed");
    assert_eq!(completed["actor"], "agent://default/default/admin");
}

#[tokio::test]
async fn reject_and_submit() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);

    let id = waiting_intent(&sh).await;
    let rejected = sh.run(&["tasks", "reject", &id, "--comment", "wrong quarter", "--json"]).await.expect(0);
    assert_eq!(
        rejected.json()["result"]["task_result"],
        serde_json::json!({"outcome": "rejected", "comment": "wrong quarter"})
    );
    let people = sh.run(&["tasks", "reject", &id, "-c", "again"]).await.expect(1);
    assert!(people.stdout.is_empty(), "{people}");

    // A confirmation task: reject still means `rejected`, the human view shows the result.
    let confirm = sh
        .run(&[
            "intents",
            "send",
            "--to",
            "agent://default/default/finance",
            "--human-task-json",
            r#"{"title":"Shipped?","task_type":"confirmation"}"#,
        ])
        .await
        .expect(0);
    let confirm_id = confirm.stdout.trim().to_owned();
    let done = sh.run(&["tasks", "reject", &confirm_id]).await.expect(0);
    assert!(done.stdout.contains("COMPLETED") && done.stdout.contains(r#""outcome":"rejected""#), "{done}");
    assert!(done.stderr.contains("task answered (rejected)"), "{done}");

    let id = waiting_intent(&sh).await;
    let run = sh
        .run(&[
            "tasks",
            "submit",
            &id,
            "--outcome",
            "approved",
            "-c",
            "ok",
            "--data-json",
            r#"{"amount":1200}"#,
        ])
        .await
        .expect(0);
    assert!(run.stdout.contains("applied"), "{run}");
    assert!(run.stderr.contains("task answered (approved)"), "{run}");
    sh.run(&["tasks", "submit", &id, "--outcome", "approved", "--data", "novalue"]).await.expect(2);
}
