//! `inbox list|show|changes|reply|delegate|read`, `approvals decide` and `capabilities`: a human
//! task sent with `intents send --human-task-json`, discussed in its thread, answered, and
//! decided by approval id.

use serde_json::Value;

use crate::helpers::{Server, Shell, assert_plain, assert_snapshot};

const FINANCE: &str = "agent://default/default/finance";

/// Sends an intent with a human task; returns its id (= its thread's id).
async fn human_task(sh: &Shell, title: &str) -> String {
    let task = format!(r#"{{"title":"{title}","task_type":"approval"}}"#);
    let run = sh
        .run(&[
            "intents",
            "send",
            "--to",
            FINANCE,
            "--intent-type",
            "report.approve.v1",
            "--human-task-json",
            &task,
        ])
        .await
        .expect(0);
    run.stdout.trim().to_owned()
}

fn entries<'a>(thread: &'a Value, event_type: &str) -> Vec<&'a Value> {
    thread["timeline"].as_array().unwrap().iter().filter(|e| e["event_type"] == event_type).collect()
}

#[tokio::test]
async fn a_human_task_is_listed_discussed_and_approved() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    let id = human_task(&sh, "Approve the Q1 report").await;

    let tasks = sh.run(&["tasks", "list", "-o", "jsonl"]).await.expect(0).jsonl();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["intent_id"], id.as_str());

    // The thread: in the sender's inbox and in the recipient's (--owner-agent).
    let mine = sh.run(&["inbox", "list", "--json"]).await.expect(0).json();
    assert_eq!(mine[0]["thread_id"], id.as_str());
    assert_eq!(mine[0]["status"], "pending");
    let theirs =
        sh.run(&["inbox", "list", "--owner-agent", FINANCE, "--status", "pending", "-o", "jsonl"]).await;
    assert_eq!(theirs.expect(0).jsonl()[0]["owner_agent"], FINANCE);
    let table = sh.run(&["inbox", "ls"]).await.expect(0);
    assert!(table.stdout.starts_with("THREAD_ID") && table.stdout.contains(&id), "{table}");
    assert!(table.stdout.contains("lifecycle.intent.human_task_assigned"), "{table}");
    assert_plain(&table);

    // A reply: its message id for people, then the thread shows it.
    let reply = sh.run(&["inbox", "reply", &id, "-m", "Which quarter, Q1 or Q2?"]).await.expect(0);
    let message_id = reply.stdout.trim().to_owned();
    assert_eq!(message_id.len(), 36, "{reply}");
    assert!(reply.stderr.contains(&format!("axp inbox show {id}")), "{reply}");
    let shown = sh.run(&["inbox", "show", &id, "--json"]).await.expect(0);
    let thread = shown.json();
    assert_eq!(thread["status"], "active");
    let replies = entries(&thread, "reply");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["details"]["message"], "Which quarter, Q1 or Q2?");
    assert_eq!(replies[0]["details"]["message_id"], message_id.as_str());
    assert_eq!(replies[0]["actor"], "agent://default/default/admin");
    assert_snapshot("inbox_show", &thread);
    let people = sh.run(&["inbox", "show", &id]).await.expect(0);
    assert!(
        people.stdout.contains("Which quarter, Q1 or Q2?") && people.stdout.contains("ENTRY"),
        "{people}"
    );
    assert!(people.stdout.contains("Approve the Q1 report (approval)"), "{people}");
    assert!(people.stderr.contains(&format!("axp tasks approve {id}")), "{people}");
    let reply_json = sh.run(&["inbox", "reply", &id, "-m", "Q1 it is", "--json"]).await.expect(0).json();
    assert_eq!(entries(&reply_json, "reply").len(), 2);

    // Read, then answered through the inbox by `tasks approve`.
    let read = sh.run(&["inbox", "read", &id, "--json"]).await.expect(0).json();
    assert_eq!(read["unread"], false);
    let approved = sh.run(&["tasks", "approve", &id, "-c", "Q1 numbers check out", "--json"]).await.expect(0);
    assert_eq!(approved.json()["status"], "COMPLETED");
    assert_eq!(approved.json()["result"]["task_result"]["comment"], "Q1 numbers check out");
    let done = sh.run(&["inbox", "show", &id, "--json"]).await.expect(0).json();
    assert_eq!(done["status"], "done");
    assert_eq!(entries(&done, "approved")[0]["details"]["comment"], "Q1 numbers check out");
    assert!(done.get("human_task").is_none(), "an answered task is no longer open: {done}");
    let after = sh.run(&["inbox", "show", &id]).await.expect(0);
    assert!(after.stderr.contains("axp inbox reply"), "{after}");
    sh.run(&["inbox", "list", "--status", "done", "-o", "jsonl"]).await.expect(0);

    // Delegating a done thread is still recorded (the inbox is lenient on done threads).
    let delegated = sh
        .run(&["inbox", "delegate", &id, "--to", "controller", "--note", "for the audit", "--json"])
        .await
        .expect(0)
        .json();
    let entry = entries(&delegated, "delegated")[0];
    assert_eq!(entry["details"]["delegate_to"], "agent://default/default/controller");
    assert_eq!(entry["details"]["note"], "for the audit");
    let delegate_view = sh.run(&["inbox", "show", &id, "--owner-agent", "controller", "--json"]).await;
    assert_eq!(delegate_view.expect(0).json()["owner_agent"], "agent://default/default/controller");

    // Mistakes: exit 2 before any request; unknown threads exit 1 with the 404.
    sh.run(&["inbox", "show", "not-a-uuid"]).await.expect(2);
    sh.run(&["inbox", "reply", &id, "-m", "  "]).await.expect(2);
    sh.run(&["inbox", "list", "--status", "open"]).await.expect(2);
    let missing = sh.run(&["inbox", "show", "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e"]).await.expect(1);
    assert!(missing.stderr.contains("404"), "{missing}");
}

#[tokio::test]
async fn inbox_changes_page_with_a_cursor() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(human_task(&sh, &format!("Task {n}")).await);
    }

    let page1 = sh.run(&["inbox", "changes", "--limit", "2", "--json"]).await.expect(0).json();
    assert_eq!(page1["has_more"], true);
    assert_eq!(page1["changes"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(page1["changes"][1]["cursor"], cursor.as_str());

    let page2 = sh.run(&["inbox", "changes", "--cursor", &cursor, "--limit", "2", "--json"]).await.expect(0);
    assert_snapshot("inbox_changes_page", &page2.json());
    let page2 = page2.json();
    assert_eq!(page2["has_more"], false);
    let mut seen: Vec<&str> = page1["changes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["changes"].as_array().unwrap())
        .map(|c| c["thread"]["thread_id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ids.iter().map(String::as_str).collect::<Vec<_>>(), "oldest change first, each once");

    // Up to date: an empty page keeps the cursor, so a script can store it and come back.
    let last = page2["next_cursor"].as_str().unwrap().to_owned();
    let empty = sh.run(&["inbox", "changes", "--cursor", &last, "--json"]).await.expect(0).json();
    assert!(empty["changes"].as_array().unwrap().is_empty());
    assert_eq!(empty["next_cursor"], last.as_str());

    // A reply moves its thread to the end of the feed.
    sh.run(&["inbox", "reply", &ids[0], "-m", "bump"]).await.expect(0);
    let lines = sh.run(&["inbox", "changes", "--cursor", &last, "-o", "jsonl"]).await.expect(0).jsonl();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["thread"]["thread_id"], ids[0].as_str());
    assert!(lines[0]["cursor"].as_str().unwrap() != last);

    // --all follows the pages; people get a table and the cursor to resume from.
    let all = sh.run(&["inbox", "changes", "--limit", "1", "--all", "--json"]).await.expect(0).json();
    assert_eq!(all["changes"].as_array().unwrap().len(), 3);
    assert_eq!(all["has_more"], false);
    seen = all["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["thread"]["thread_id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, [&ids[1], &ids[2], &ids[0]]);
    let table = sh.run(&["inbox", "changes", "--limit", "1"]).await.expect(0);
    assert!(table.stdout.starts_with("CURSOR"), "{table}");
    assert!(table.stderr.contains("more: axp inbox changes --cursor "), "{table}");

    let bad = sh.run(&["inbox", "changes", "--cursor", "bogus"]).await.expect(1);
    assert!(bad.stderr.contains("HTTP 400"), "{bad}");
}

#[tokio::test]
async fn approvals_decide_once_then_refuse_the_other_way() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    let id = human_task(&sh, "Pay invoice 42").await;

    // Deciding by the waiting intent's id answers its task.
    let first =
        sh.run(&["approvals", "decide", &id, "--approve", "-c", "within budget", "--json"]).await.expect(0);
    assert_snapshot("approvals_decide", &first.json());
    assert_eq!(first.json()["approval_id"], id.as_str());
    let intent = sh.run(&["intents", "get", &id, "--json"]).await.expect(0).json();
    assert_eq!(intent["status"], "COMPLETED");
    assert_eq!(intent["result"]["task_result"]["outcome"], "approved");

    // The same decision again is a no-op; the other decision is refused with the 409.
    let same = sh.run(&["approvals", "decide", &id, "--approve", "--json"]).await.expect(0);
    assert_eq!(same.json(), first.json(), "the first record stands");
    let other = sh.run(&["approvals", "decide", &id, "--reject", "-c", "changed my mind"]).await.expect(1);
    assert!(other.stderr.contains("HTTP 409"), "{other}");
    assert!(other.stderr.contains("already decided"), "{other}");
    assert!(other.stdout.is_empty(), "{other}");

    // A standalone approval (an id no intent has); people get key/value lines.
    let standalone =
        sh.run(&["approval", "decide", "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e", "--reject"]).await.expect(0);
    assert!(standalone.stdout.contains("decision") && standalone.stdout.contains("reject"), "{standalone}");
    assert_plain(&standalone);

    // Exactly one of --approve / --reject, and a UUID.
    sh.run(&["approvals", "decide", &id]).await.expect(2);
    sh.run(&["approvals", "decide", &id, "--approve", "--reject"]).await.expect(2);
    sh.run(&["approvals", "decide", "nope", "--approve"]).await.expect(2);
}

#[tokio::test]
async fn capabilities_list_features_and_intent_types() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    let caps = sh.run(&["capabilities", "--json"]).await.expect(0).json();
    let names: Vec<&str> =
        caps["capabilities"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(names.contains(&"inbox") && names.contains(&"approvals"), "{caps}");
    let types = caps["supported_intent_types"].as_array().unwrap();
    assert!(types.iter().any(|t| t == "intent.ask.v1"), "{caps}");
    let people = sh.run(&["capabilities"]).await.expect(0);
    assert!(
        people.stdout.contains("supported_intent_types") && people.stdout.contains("intent.ask.v1"),
        "{people}"
    );
}
