//! The inbox, approvals and capabilities as the conformance suite checks them (contract
//! Appendix A, checks 9–18): Bearer-only requests with a key whose agent is
//! `agent://conformance/owner`, which never seeds its inbox itself.

use axp_core::access::Role;
use axp_test_util::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::http;

const O: &str = "agent://conformance/owner";

struct Conformance {
    base: String,
    key: String,
}

impl Conformance {
    /// The suite's key: agent address `O` with a `member` membership (it reads other owners'
    /// inboxes, as the public suite does).
    async fn new(server: &TestServer) -> Self {
        let (_, key) = server.agent_with_role("conformance-owner", Some(O), Role::Member).await;
        Self { base: server.base_url.clone(), key }
    }

    /// The same calls with the workspace's admin key.
    fn admin(server: &TestServer) -> Self {
        Self { base: server.base_url.clone(), key: server.admin_key.clone() }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = http().request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The payload helper P of Appendix A.
    async fn create(&self, reply_to: Option<&str>) -> String {
        let mut p = json!({"intent_type": "notify.message.v1", "correlation_id": uuid::Uuid::new_v4(),
            "from_agent": "agent://conformance/sender", "to_agent": "agent://conformance/receiver",
            "payload": {"text": "hello from conformance"}});
        if let Some(r) = reply_to {
            p["reply_to"] = json!(r);
        }
        let (status, body) = self.call(Method::POST, "/v1/intents", Some(p)).await;
        assert_eq!(status, 200);
        body["intent_id"].as_str().unwrap().to_owned()
    }
}

fn assert_thread_shape(t: &Value) {
    for key in [
        "thread_id",
        "intent_id",
        "status",
        "owner_agent",
        "from_agent",
        "to_agent",
        "created_at",
        "updated_at",
    ] {
        assert!(t.get(key).is_some_and(|v| !v.is_null()), "thread lacks {key}: {t}");
    }
    assert!(uuid::Uuid::parse_str(t["thread_id"].as_str().unwrap()).is_ok());
    let timeline = t["timeline"].as_array().expect("timeline");
    assert!(!timeline.is_empty());
    for e in timeline {
        assert!(uuid::Uuid::parse_str(e["event_id"].as_str().unwrap()).is_ok());
        assert!(e["event_type"].as_str().unwrap().len() >= 3);
        assert!(e["actor"].as_str().unwrap().len() >= 2);
        assert!(e["details"].is_object());
    }
}

#[tokio::test]
async fn appendix_a_inbox_approvals_and_capabilities() {
    let server = TestServer::spawn().await;
    let c = Conformance::new(&server).await;

    // 9: completion delivery to reply_to, visible in that owner's inbox.
    let id = c.create(Some("agent://conformance/reply-target")).await;
    let (s, resolved) = c
        .call(
            Method::POST,
            &format!("/v1/intents/{id}/resolve"),
            Some(json!({"status": "COMPLETED", "result": {"ok": true}})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(resolved["completion_delivery"]["delivered"], true);
    assert_eq!(resolved["completion_delivery"]["reply_to"], "agent://conformance/reply-target");
    let (s, inbox) =
        c.call(Method::GET, "/v1/inbox?owner_agent=agent://conformance/reply-target", None).await;
    assert_eq!(s, 200);
    let thread = inbox["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["thread_id"] == id.as_str())
        .expect("the reply_to owner sees the thread");
    assert_eq!(thread["status"], "done");
    assert!(
        thread["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event_type"] == "intent_completion_delivered")
    );

    // 10–11: O sees the threads of intents its key sent.
    let open = c.create(None).await;
    let (s, inbox) = c.call(Method::GET, &format!("/v1/inbox?owner_agent={O}"), None).await;
    assert_eq!((s, inbox["ok"].clone()), (200, json!(true)));
    let threads = inbox["threads"].as_array().unwrap();
    assert!(threads.len() >= 2);
    assert_thread_shape(&threads[0]);
    assert_eq!(threads[0]["thread_id"], open.as_str(), "newest change first");
    let tid = threads[0]["thread_id"].as_str().unwrap().to_owned();
    let (s, one) = c.call(Method::GET, &format!("/v1/inbox/{tid}?owner_agent={O}"), None).await;
    assert_eq!(s, 200);
    assert_thread_shape(&one["thread"]);
    assert_eq!(one["thread"]["owner_agent"], O);

    // 12: reply.
    let (s, replied) = c
        .call(
            Method::POST,
            &format!("/v1/inbox/{tid}/reply?owner_agent={O}"),
            Some(json!({"message": "ack from conformance"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_thread_shape(&replied["thread"]);
    assert_eq!(replied["thread"]["status"], "active");
    let reply = replied["thread"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "reply")
        .unwrap()
        .clone();
    assert_eq!(reply["details"]["message"], "ack from conformance");

    // 13: changes.
    let (s, changes) = c.call(Method::GET, &format!("/v1/inbox/changes?owner_agent={O}"), None).await;
    assert_eq!(s, 200);
    assert!(changes["has_more"].is_boolean());
    let first = &changes["changes"][0];
    assert!(first["cursor"].as_str().unwrap().len() >= 3);
    assert_thread_shape(&first["thread"]);

    // 14–16: delegate, approve and delete on a thread — also a done one (lenient actions).
    let done = &id;
    for target in [&tid, done] {
        let (s, d) = c
            .call(
                Method::POST,
                &format!("/v1/inbox/{target}/delegate?owner_agent={O}"),
                Some(json!({"delegate_to": "agent://conformance/delegate", "note": "handoff"})),
            )
            .await;
        assert_eq!(s, 200, "{d}");
        assert_thread_shape(&d["thread"]);
        let (s, a) = c
            .call(
                Method::POST,
                &format!("/v1/inbox/{target}/approve?owner_agent={O}"),
                Some(json!({"comment": "approved in conformance"})),
            )
            .await;
        assert_eq!(s, 200, "{a}");
        assert_thread_shape(&a["thread"]);
    }
    let (s, deleted) = c
        .call(
            Method::POST,
            &format!("/v1/inbox/{tid}/messages/delete?owner_agent={O}"),
            Some(json!({"mode": "self", "limit": 1})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(deleted["mode"], "self");
    assert_eq!(deleted["deleted_count"], 1);
    assert_eq!(deleted["message_ids"], json!([reply["event_id"]]));
    assert_thread_shape(&deleted["thread"]);
    assert!(
        !deleted["thread"]["timeline"].as_array().unwrap().iter().any(|e| e["event_type"] == "reply"),
        "hidden for O"
    );
    let (_, delegate_view) =
        c.call(Method::GET, &format!("/v1/inbox/{tid}?owner_agent=agent://conformance/delegate"), None).await;
    assert!(
        delegate_view["thread"]["timeline"].as_array().unwrap().iter().any(|e| e["event_type"] == "reply"),
        "`self` hides for O only"
    );

    // 17: approvals upsert on a random id.
    let approval = uuid::Uuid::new_v4();
    let (s, decided) = c
        .call(
            Method::POST,
            &format!("/v1/approvals/{approval}/decision"),
            Some(json!({"decision": "approve", "comment": "approved by conformance"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(decided["approval"]["approval_id"], approval.to_string());
    assert_eq!(decided["approval"]["decision"], "approve");
    assert!(decided["approval"]["decided_at"].is_string());
    let (s, _) = c
        .call(
            Method::POST,
            &format!("/v1/approvals/{approval}/decision"),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(s, 200, "the same decision again is idempotent");
    let (s, _) = c
        .call(
            Method::POST,
            &format!("/v1/approvals/{approval}/decision"),
            Some(json!({"decision": "reject"})),
        )
        .await;
    assert_eq!(s, 409, "re-deciding differently");
    let (s, _) = c
        .call(
            Method::POST,
            &format!("/v1/approvals/{approval}/decision"),
            Some(json!({"decision": "approved"})),
        )
        .await;
    assert_eq!(s, 422);

    // 18: capabilities.
    let (s, caps) = c.call(Method::GET, "/v1/capabilities", None).await;
    assert_eq!(s, 200);
    assert!(caps["capabilities"].as_array().unwrap().iter().all(|c| c.as_str().unwrap().len() >= 3));
    let re = regex::Regex::new(r"^intent\..+\.v1$").unwrap();
    assert!(
        caps["supported_intent_types"].as_array().unwrap().iter().all(|t| re.is_match(t.as_str().unwrap()))
    );

    // Unknown threads and other owners' threads are 404; a bad cursor is 400.
    let (s, _) = c
        .call(
            Method::POST,
            &format!("/v1/inbox/{}/reply?owner_agent={O}", uuid::Uuid::new_v4()),
            Some(json!({"message": "x"})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) =
        c.call(Method::GET, &format!("/v1/inbox/{tid}?owner_agent=agent://somebody/else"), None).await;
    assert_eq!(s, 404);
    let (s, _) = c.call(Method::GET, &format!("/v1/inbox/changes?owner_agent={O}&cursor=bogus"), None).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn approving_a_waiting_task_resumes_the_intent() {
    let server = TestServer::spawn().await;
    let c = Conformance::new(&server).await;
    let (_, created) = c
        .call(Method::POST, "/v1/intents", Some(json!({"intent_type": "expense.approve.v1", "to_agent": "agent://acme/finance/approver",
            "payload": {"amount": 120}, "human_task": {"title": "Approve 120 EUR", "task_type": "approval", "assignees": ["boss@example.com"]}})))
        .await;
    let id = created["intent_id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "WAITING");
    let (_, tasks) = c.call(Method::GET, "/v1/me/tasks", None).await;
    assert_eq!(tasks["tasks"][0]["intent_id"], id.as_str());
    assert_eq!(tasks["tasks"][0]["human_task"]["title"], "Approve 120 EUR");
    // The requester never decides its own task; an admin may (acting in the requester's inbox).
    let (s, refused) =
        c.call(Method::POST, &format!("/v1/inbox/{id}/approve"), Some(json!({"comment": "mine"}))).await;
    assert_eq!(s, 403, "{refused}");
    let (_, intent) = c.call(Method::GET, &format!("/v1/intents/{id}"), None).await;
    assert_eq!(intent["intent"]["status"], "WAITING", "a refused decision changes nothing");
    let admin = Conformance::admin(&server);
    let (s, approved) = admin
        .call(
            Method::POST,
            &format!("/v1/inbox/{id}/approve?owner_agent={O}"),
            Some(json!({"comment": "fine"})),
        )
        .await;
    assert_eq!(s, 200, "{approved}");
    assert_eq!(approved["thread"]["status"], "done");
    let (_, intent) = c.call(Method::GET, &format!("/v1/intents/{id}"), None).await;
    assert_eq!(intent["intent"]["status"], "COMPLETED");
    assert_eq!(intent["intent"]["result"]["task_result"]["outcome"], "approved");
    assert_eq!(intent["intent"]["result"]["task_result"]["comment"], "fine");

    // An approval by id decides a waiting task too.
    let (_, created) = c
        .call(
            Method::POST,
            "/v1/intents",
            Some(json!({"intent_type": "expense.approve.v1", "to_agent": "agent://acme/finance/approver",
            "human_task": {"title": "Another", "task_type": "approval"}})),
        )
        .await;
    let id = created["intent_id"].as_str().unwrap().to_owned();
    let decision = json!({"decision": "reject", "comment": "no"});
    let (s, _) = c.call(Method::POST, &format!("/v1/approvals/{id}/decision"), Some(decision.clone())).await;
    assert_eq!(s, 403, "the requester does not decide");
    let (s, _) = admin.call(Method::POST, &format!("/v1/approvals/{id}/decision"), Some(decision)).await;
    assert_eq!(s, 200);
    let (_, intent) = c.call(Method::GET, &format!("/v1/intents/{id}"), None).await;
    assert_eq!(intent["intent"]["result"]["task_result"]["outcome"], "rejected");
}

#[tokio::test]
async fn changes_page_with_has_more_and_cursors_survive_a_restart() {
    let server = TestServer::spawn().await;
    let c = Conformance::new(&server).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(c.create(None).await);
    }
    let (_, page1) = c.call(Method::GET, &format!("/v1/inbox/changes?owner_agent={O}&limit=2"), None).await;
    assert_eq!(page1["has_more"], true);
    let got: Vec<_> = page1["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["thread"]["thread_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, ids[..2]);
    let cursor = page1["next_cursor"].as_str().unwrap().to_owned();

    let server = server.restart().await;
    let c = Conformance { base: server.base_url.clone(), key: c.key };
    let (s, page2) = c
        .call(Method::GET, &format!("/v1/inbox/changes?owner_agent={O}&limit=2&cursor={cursor}"), None)
        .await;
    assert_eq!(s, 200);
    let got: Vec<_> = page2["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["thread"]["thread_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, ids[2..4], "the cursor is still valid after a restart");
    let (_, page3) = c
        .call(
            Method::GET,
            &format!(
                "/v1/inbox/changes?owner_agent={O}&limit=2&cursor={}",
                page2["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(page3["has_more"], false);
    assert_eq!(page3["changes"].as_array().unwrap().len(), 1);
    let (_, empty) = c
        .call(
            Method::GET,
            &format!("/v1/inbox/changes?owner_agent={O}&cursor={}", page3["next_cursor"].as_str().unwrap()),
            None,
        )
        .await;
    assert!(empty["changes"].as_array().unwrap().is_empty());
    assert_eq!(empty["next_cursor"], page3["next_cursor"], "an empty page keeps the cursor");

    // A change moves a thread to the end of the feed.
    c.call(
        Method::POST,
        &format!("/v1/inbox/{}/reply?owner_agent={O}", ids[0]),
        Some(json!({"message": "bump"})),
    )
    .await;
    let (_, after) = c
        .call(
            Method::GET,
            &format!("/v1/inbox/changes?owner_agent={O}&cursor={}", page3["next_cursor"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(after["changes"][0]["thread"]["thread_id"], ids[0].as_str());
}
