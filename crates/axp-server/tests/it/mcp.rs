//! MCP at `POST /mcp` (contract §6 "MCP"): a session driven over HTTP (initialize, the
//! initialized notification, tools/list, every tool, batches and errors), and the keys that
//! must be refused, with the RPC code the SDK maps and nothing changed.

use axp_test_util::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::callers::{Callers, call, call_with};

/// One JSON-RPC request as `key`: the HTTP status and the body.
async fn rpc(server: &TestServer, key: &str, method: &str, params: Value) -> (u16, Value) {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let (status, answer) = call(server, key, Method::POST, "/mcp", Some(body)).await;
    if status == 200 && answer.is_object() {
        assert_eq!((answer["jsonrpc"].as_str(), answer["id"].as_str()), (Some("2.0"), Some(id.as_str())));
    }
    (status, answer)
}

/// `tools/call` of `name` as `key`: the JSON-RPC response (always HTTP 200).
async fn tool(server: &TestServer, key: &str, name: &str, arguments: Value) -> Value {
    let (status, answer) =
        rpc(server, key, "tools/call", json!({"name": name, "arguments": arguments})).await;
    assert_eq!(status, 200, "{name}: {answer}");
    answer
}

/// The `data` of a tool call that must complete.
async fn completed(server: &TestServer, key: &str, name: &str, arguments: Value) -> Value {
    let answer = tool(server, key, name, arguments).await;
    let result = &answer["result"];
    assert_eq!((result["ok"].as_bool(), result["tool"].as_str()), (Some(true), Some(name)), "{answer}");
    assert_eq!((result["status"].as_str(), result["isError"].as_bool()), (Some("completed"), Some(false)));
    let text = result["content"][0]["text"].as_str().expect("MCP content text");
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), result["data"]);
    result["data"].clone()
}

/// The RPC error code of a refused call.
fn rpc_error(answer: &Value) -> i64 {
    answer["error"]["code"].as_i64().unwrap_or_else(|| panic!("an RPC error: {answer}"))
}

async fn raw(server: &TestServer, body: &str) -> reqwest::Response {
    crate::helpers::http()
        .post(format!("{}/mcp", server.base_url))
        .header("x-api-key", &server.admin_key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_session_initializes_lists_tools_and_answers_protocol_errors_with_http_200() {
    let server = TestServer::spawn().await;
    let key = &server.admin_key;

    let (s, init) = rpc(&server, key, "initialize", json!({"protocolVersion": "2024-11-05"})).await;
    assert_eq!(s, 200);
    let result = &init["result"];
    assert_eq!(result["protocolVersion"], "2024-11-05");
    assert_eq!(result["capabilities"]["tools"]["listChanged"], false);
    assert_eq!(result["serverInfo"]["name"], "axp");
    assert!(result["serverInfo"]["version"].is_string());
    let (_, unknown_version) =
        rpc(&server, key, "initialize", json!({"protocolVersion": "1999-01-01"})).await;
    assert_eq!(unknown_version["result"]["protocolVersion"], "2024-11-05");

    let notified = raw(&server, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).await;
    assert_eq!(notified.status(), 202);
    assert!(notified.bytes().await.unwrap().is_empty());

    let (_, listed) = rpc(&server, key, "tools/list", json!({})).await;
    let tools = listed["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for name in [
        "axme.check_nick",
        "axme.send",
        "axme.reply",
        "axme.list_inbox",
        "axme.resolve_contact",
        "axme.get_intent",
        "axme.observe",
        "axme.resume",
        "axme.resolve",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert!(t["inputSchema"]["required"].is_array() && t["description"].is_string(), "{t}");
    }

    let (_, pong) = rpc(&server, key, "ping", json!({})).await;
    assert_eq!(pong["result"], json!({}));
    let (s, missing) = rpc(&server, key, "resources/list", json!({})).await;
    assert_eq!((s, rpc_error(&missing)), (200, -32601));

    let garbage = raw(&server, "{not json").await;
    assert_eq!(garbage.status(), 200);
    assert_eq!(rpc_error(&garbage.json().await.unwrap()), -32700);
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},
        {"jsonrpc":"2.0","method":"notifications/initialized"},
        {"jsonrpc":"2.0","id":"b","method":"nope"},
        {"jsonrpc":"1.0","id":3,"method":"ping"}]"#;
    let answers: Value = raw(&server, batch).await.json().await.unwrap();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!((answers[0]["id"].as_i64(), &answers[0]["result"]), (Some(1), &json!({})));
    assert_eq!((answers[1]["id"].as_str(), rpc_error(&answers[1])), (Some("b"), -32601));
    assert_eq!((answers[2]["id"].as_i64(), rpc_error(&answers[2])), (Some(3), -32600));

    // Bad tool calls are invalid params (the SDK's 422).
    let (_, unknown) = rpc(&server, key, "tools/call", json!({"name": "axme.nope", "arguments": {}})).await;
    assert_eq!(rpc_error(&unknown), -32602);
    assert_eq!(rpc_error(&tool(&server, key, "axme.send", json!({"text": "no to"})).await), -32602);
    assert_eq!(rpc_error(&tool(&server, key, "axme.send", json!({"to": 7})).await), -32602);
    let bad_type = tool(&server, key, "axme.send", json!({"to": "x", "intent_type": "Not A Type"})).await;
    assert_eq!(rpc_error(&bad_type), -32602);
    assert_eq!(bad_type["error"]["data"]["http_status"], 422);

    // Authentication is every route's: no key is HTTP 401 in the error envelope.
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let (s, unauthenticated) = call_with(&server, None, None, Method::POST, "/mcp", Some(body)).await;
    assert_eq!((s, unauthenticated["error"]["code"].as_str()), (401, Some("missing_platform_api_key")));
}

#[tokio::test]
async fn an_agent_sends_follows_resumes_and_resolves_intents_through_tools_alone() {
    let server = TestServer::spawn().await;
    let (_, worker) = server.agent("mcp-worker", Some("agent://default/default/mcp-worker")).await;
    let key = &server.admin_key;

    let nick = completed(&server, key, "axme.check_nick", json!({"nick": "@Fresh_Nick"})).await;
    assert_eq!((nick["nick"].as_str(), nick["available"].as_bool()), (Some("@fresh_nick"), Some(true)));

    let arguments = json!({"to": "mcp-worker", "text": "summarise the report", "intent_type": "report.summarise.v1",
        "payload": {"report": "q3"}, "idempotency_key": "mcp-send-1"});
    let sent = completed(&server, key, "axme.send", arguments.clone()).await;
    let id = sent["intent_id"].as_str().unwrap().to_owned();
    let again = completed(&server, key, "axme.send", arguments).await;
    assert_eq!(again["intent_id"].as_str(), Some(id.as_str()), "an idempotent replay");

    let got = completed(&server, &worker, "axme.get_intent", json!({"intent_id": id})).await;
    let intent = &got["intent"];
    assert_eq!(intent["to_agent"], "agent://default/default/mcp-worker");
    assert_eq!(intent["payload"], json!({"report": "q3", "text": "summarise the report"}));

    let events = completed(&server, key, "axme.observe", json!({"intent_id": id})).await;
    let seen = events["next_since"].as_u64().unwrap();
    assert!(events["events"].as_array().unwrap().len() >= 2 && seen >= 2, "{events}");

    // A waiting observe returns once the worker's result lands.
    let waiting = {
        let (url, key, id) = (server.base_url.clone(), key.clone(), id.clone());
        tokio::spawn(async move {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "axme.observe",
                "arguments": {"intent_id": id, "since": seen, "wait_seconds": 30}}});
            let response =
                crate::helpers::http().post(format!("{url}/mcp")).header("x-api-key", key).json(&body).send();
            response.await.unwrap().json::<Value>().await.unwrap()
        })
    };
    // The observer is waiting once its empty read is behind it; the resume wakes it either way.
    let resumed = completed(
        &server,
        &worker,
        "axme.resume",
        json!({"intent_id": id, "action": "complete", "result": {"summary": "fine"}}),
    )
    .await;
    assert_eq!(resumed["intent"]["status"], "COMPLETED", "{resumed}");
    let observed = waiting.await.unwrap();
    let new_events = observed["result"]["data"]["events"].as_array().unwrap().clone();
    assert!(!new_events.is_empty(), "{observed}");
    assert!(new_events.iter().all(|e| e["seq"].as_u64().unwrap() > seen));

    // Resolving a finished intent ran and failed: a failed result with the REST error.
    let late = tool(&server, key, "axme.resolve", json!({"intent_id": id, "status": "CANCELED"})).await;
    let result = &late["result"];
    assert_eq!((result["status"].as_str(), result["isError"].as_bool()), (Some("failed"), Some(true)));
    assert_eq!(result["data"]["error"]["code"], "invalid_state_transition");

    let other = completed(&server, key, "axme.send", json!({"to": "mcp-worker", "text": "never mind"})).await;
    let other_id = other["intent_id"].as_str().unwrap();
    assert_eq!(other["status"].as_str().map(|s| !s.is_empty()), Some(true));
    let canceled = completed(
        &server,
        key,
        "axme.resolve",
        json!({"intent_id": other_id, "status": "CANCELED", "reason": "changed my mind"}),
    )
    .await;
    assert_eq!(canceled["intent"]["status"], "CANCELED");
    let quiet = completed(&server, key, "axme.observe", json!({"intent_id": other_id, "since": 1000})).await;
    assert_eq!(
        (quiet["events"].as_array().map(Vec::len), quiet["next_since"].as_u64()),
        (Some(0), Some(1000))
    );
}

#[tokio::test]
async fn contacts_resolve_and_the_inbox_lists_and_replies() {
    let server = TestServer::spawn().await;
    let key = &server.admin_key;
    let (s, user) =
        call(&server, key, Method::POST, "/v1/users/register-nick", Some(json!({"nick": "@mcp_friend"})))
            .await;
    assert_eq!(s, 200, "{user}");
    let owner = user["owner_agent"].as_str().unwrap();

    for contact in ["@mcp_friend", "mcp_friend@ax", "mcp_friend"] {
        let found = completed(&server, key, "axme.resolve_contact", json!({"contact": contact})).await;
        assert_eq!(
            (found["kind"].as_str(), found["address"].as_str()),
            (Some("nick"), Some(owner)),
            "{contact}"
        );
    }
    let unknown = completed(&server, key, "axme.resolve_contact", json!({"nick": "@nobody_here"})).await;
    assert_eq!((unknown["resolved"].as_bool(), &unknown["address"]), (Some(false), &Value::Null));
    let address =
        completed(&server, key, "axme.resolve_contact", json!({"contact": "agent://acme/ops/bot"})).await;
    assert_eq!(
        (address["kind"].as_str(), address["address"].as_str()),
        (Some("address"), Some("agent://acme/ops/bot"))
    );
    assert_eq!(rpc_error(&tool(&server, key, "axme.resolve_contact", json!({})).await), -32602);

    let sent = completed(&server, key, "axme.send", json!({"to": "@mcp_friend", "text": "lunch?"})).await;
    let id = sent["intent_id"].as_str().unwrap();
    let got = completed(&server, key, "axme.get_intent", json!({"intent_id": id})).await;
    assert_eq!(got["intent"]["to_agent"].as_str(), Some(owner));
    let nobody = tool(&server, key, "axme.send", json!({"to": "@nobody_here", "text": "hi"})).await;
    assert_eq!(nobody["result"]["status"], "failed", "{nobody}");

    let inbox = completed(&server, key, "axme.list_inbox", json!({"limit": 10})).await;
    let threads = inbox["threads"].as_array().unwrap();
    assert!(threads.iter().any(|t| t["thread_id"] == id), "{inbox}");
    let replied =
        completed(&server, key, "axme.reply", json!({"thread_id": id, "message": "see you at noon"})).await;
    assert!(replied["thread"]["timeline"].to_string().contains("see you at noon"), "{replied}");
    let theirs = completed(&server, key, "axme.list_inbox", json!({"owner_agent": owner})).await;
    assert!(theirs["threads"].as_array().unwrap().iter().any(|t| t["thread_id"] == id), "{theirs}");
}

/// The admin's intents and one intent's status, as the admin reads them over REST.
async fn snapshot(server: &TestServer, id: &str) -> Value {
    let (_, list) = call(server, &server.admin_key, Method::GET, "/v1/intents?limit=500", None).await;
    let (_, one) = call(server, &server.admin_key, Method::GET, &format!("/v1/intents/{id}"), None).await;
    let (_, inbox) = call(server, &server.admin_key, Method::GET, "/v1/inbox/changes?limit=200", None).await;
    json!([
        list["intents"].as_array().map(Vec::len),
        one["intent"]["status"],
        one["intent"]["updated_at"],
        inbox["changes"]
    ])
}

#[tokio::test]
async fn the_wrong_key_is_refused_with_the_sdk_codes_and_changes_nothing() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;
    let admin_address = server.admin.agent_address.to_string();
    let sent = completed(&server, &callers.admin, "axme.send", json!({"to": "target", "text": "mine"})).await;
    let id = sent["intent_id"].as_str().unwrap().to_owned();
    let before = snapshot(&server, &id).await;

    // An agent key reads only its own inbox: another owner's is 403, -32003.
    let inbox = tool(&server, &callers.agent, "axme.list_inbox", json!({"owner_agent": admin_address})).await;
    assert_eq!(rpc_error(&inbox), -32003, "{inbox}");
    assert_eq!(inbox["error"]["data"]["error"]["code"], "policy_denied");
    let reply = tool(
        &server,
        &callers.agent,
        "axme.reply",
        json!({"thread_id": id, "message": "not yours", "owner_agent": admin_address}),
    )
    .await;
    assert_eq!(rpc_error(&reply), -32003, "{reply}");
    // A viewer sends nothing and ends nothing.
    let viewer = tool(&server, &callers.viewer, "axme.send", json!({"to": "target", "text": "hi"})).await;
    assert_eq!(rpc_error(&viewer), -32003, "{viewer}");
    let viewer =
        tool(&server, &callers.viewer, "axme.resolve", json!({"intent_id": id, "status": "CANCELED"})).await;
    assert_eq!(rpc_error(&viewer), -32003, "{viewer}");
    // An agent that is no party to the intent neither reads nor resumes it.
    let hidden = tool(&server, &callers.agent, "axme.get_intent", json!({"intent_id": id})).await;
    assert_eq!(hidden["result"]["data"]["error"]["code"], "not_found", "{hidden}");
    let resume = tool(&server, &callers.agent, "axme.resume", json!({"intent_id": id, "result": {}})).await;
    assert_eq!(rpc_error(&resume), -32003, "{resume}");
    // Another workspace does not find it at all.
    for (name, arguments) in [
        ("axme.get_intent", json!({"intent_id": id})),
        ("axme.observe", json!({"intent_id": id, "wait_seconds": 1})),
        ("axme.resolve", json!({"intent_id": id, "status": "CANCELED"})),
        ("axme.resume", json!({"intent_id": id, "result": {"x": 1}})),
    ] {
        let answer = tool(&server, &callers.other, name, arguments).await;
        let result = &answer["result"];
        assert_eq!(
            (result["status"].as_str(), result["isError"].as_bool()),
            (Some("failed"), Some(true)),
            "{name}"
        );
        assert_eq!(result["data"]["error"]["code"], "not_found", "{name}: {answer}");
    }
    assert_eq!(snapshot(&server, &id).await, before, "refused calls changed nothing");
}

#[tokio::test]
async fn sends_count_toward_the_daily_intent_quota_and_a_blocked_one_is_a_rate_limit_error() {
    let server = TestServer::spawn().await;
    let key = &server.admin_key;
    let patch = json!({"dimensions": {"intents_per_day": 2}});
    let (s, body) = call(&server, key, Method::PATCH, "/v1/quotas", Some(patch)).await;
    assert_eq!(s, 200, "{body}");
    completed(&server, key, "axme.send", json!({"to": "worker", "text": "one"})).await;
    let (s, _) = call(
        &server,
        key,
        Method::POST,
        "/v1/intents",
        Some(json!({"intent_type": "quota.test.v1", "to_agent": "worker", "payload": {}})),
    )
    .await;
    assert_eq!(s, 200);
    let before = call(&server, key, Method::GET, "/v1/intents?limit=500", None).await.1["intents"].clone();
    let blocked = tool(&server, key, "axme.send", json!({"to": "worker", "text": "three"})).await;
    assert_eq!(rpc_error(&blocked), -32004, "{blocked}");
    let data = &blocked["error"]["data"];
    assert_eq!(
        (data["error"]["code"].as_str(), data["http_status"].as_u64()),
        (Some("quota_exceeded"), Some(429))
    );
    assert!(data["retry_after"].as_u64().is_some_and(|s| s >= 1), "{data}");
    let (_, usage) = call(&server, key, Method::GET, "/v1/usage/summary", None).await;
    assert_eq!(usage["summary"]["dimensions"]["intents_per_day"]["used"], 2, "{usage}");
    let after = call(&server, key, Method::GET, "/v1/intents?limit=500", None).await.1["intents"].clone();
    assert_eq!(after, before, "the refused send created nothing");
}
