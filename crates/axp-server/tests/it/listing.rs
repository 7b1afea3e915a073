//! `GET /v1/intents`: the SDK's call unchanged, axp's filters, newest first, keyset pages under
//! concurrent creates, bad values in the error envelope, and who sees what.

use std::collections::HashSet;
use std::sync::Arc;

use axp_client::{Client, IntentsPage, ListIntentsQuery, SortOrder, Status};
use axp_core::{IntentId, Timestamp};
use axp_engine::ManualClock;
use axp_test_util::TestServer;
use serde_json::{Value, json};

use crate::helpers::{http, notify};

const T0: Timestamp = Timestamp::from_millis(1_780_000_000_000);

/// A server whose clock stands still until a test moves it.
async fn server() -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    (TestServer::spawn_with_clock(clock.clone()).await, clock)
}

async fn send(client: &Client, to: &str) -> IntentId {
    client.create_intent(&notify(to), None).await.unwrap().intent_id
}

/// `GET /v1/intents?{query}` with `key`: status and body.
async fn get(server: &TestServer, key: &str, query: &str) -> (u16, Value) {
    let response = http()
        .get(format!("{}/v1/intents?{query}", server.base_url))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn ids(page: &IntentsPage) -> Vec<IntentId> {
    page.intents.iter().map(|i| i.intent_id).collect()
}

/// Every page of `query` from its first, concatenated, with the number of pages.
async fn walk(client: &Client, mut query: ListIntentsQuery) -> (Vec<IntentId>, usize) {
    let (mut all, mut pages) = (Vec::new(), 0);
    loop {
        let page = client.list_intents_page(&query).await.unwrap();
        pages += 1;
        all.extend(ids(&page));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return (all, pages),
        }
        assert!(pages < 100, "the walk ends");
    }
}

#[tokio::test]
async fn the_sdk_call_shape_still_lists_oldest_first() {
    let (server, clock) = server().await;
    let client = server.client();
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.push(send(&client, "poller").await);
        clock.advance_seconds(1);
    }
    send(&client, "someone-else").await;
    let (status, body) =
        get(&server, &server.admin_key, "status=SUBMITTED,DELIVERED&to_agent=poller&limit=50").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    let listed: Vec<&str> =
        body["intents"].as_array().unwrap().iter().map(|i| i["intent_id"].as_str().unwrap()).collect();
    let want: Vec<String> = sent.iter().map(IntentId::to_string).collect();
    assert_eq!(listed, want, "oldest first");
    assert_eq!(body["next_cursor"], Value::Null, "one page");
    let typed = client.list_intents(&[Status::Submitted], Some("poller"), Some(50)).await.unwrap();
    assert_eq!(typed.iter().map(|i| i.intent_id).collect::<Vec<_>>(), sent);

    let (_, first) = get(&server, &server.admin_key, "limit=2").await;
    assert_eq!(first["intents"].as_array().unwrap().len(), 2);
    assert!(first["next_cursor"].is_string(), "a full page names the next: {first}");
}

#[tokio::test]
async fn filters_bounds_and_newest_first() {
    let (server, clock) = server().await;
    let admin = server.client();
    let (_, worker_key) = server.agent("worker", None).await;
    let worker = server.client_with_key(&worker_key);
    let a = send(&admin, "worker").await;
    clock.advance_seconds(1);
    let b = worker.create_intent(&notify("reporter"), None).await.unwrap().intent_id;
    clock.advance_seconds(1);
    let mut report = notify("reporter");
    report.intent_type = "report.generate.v1".into();
    let c = admin.create_intent(&report, None).await.unwrap().intent_id;
    admin.resolve(a, &json!({"status": "COMPLETED"})).await.unwrap();

    let list = |query: ListIntentsQuery| {
        let admin = admin.clone();
        async move { ids(&admin.list_intents_page(&query).await.unwrap()) }
    };
    let at = |s: i64| Some(T0.plus_seconds(s));
    let cases = [
        (ListIntentsQuery::default(), vec![a, b, c]),
        (ListIntentsQuery { order: Some(SortOrder::Desc), ..Default::default() }, vec![c, b, a]),
        (ListIntentsQuery { statuses: vec![Status::Completed], ..Default::default() }, vec![a]),
        (ListIntentsQuery { to_agent: Some("reporter".into()), ..Default::default() }, vec![b, c]),
        (ListIntentsQuery { from_agent: Some("worker".into()), ..Default::default() }, vec![b]),
        (
            ListIntentsQuery {
                from_agent: Some("agent://default/default/admin".into()),
                ..Default::default()
            },
            vec![a, c],
        ),
        (ListIntentsQuery { intent_type: Some("report.generate.v1".into()), ..Default::default() }, vec![c]),
        (ListIntentsQuery { created_after: at(1), ..Default::default() }, vec![b, c]),
        (ListIntentsQuery { created_before: at(1), ..Default::default() }, vec![a, b]),
        (ListIntentsQuery { created_after: at(1), created_before: at(1), ..Default::default() }, vec![b]),
        (
            ListIntentsQuery {
                to_agent: Some("reporter".into()),
                order: Some(SortOrder::Desc),
                limit: Some(1),
                ..Default::default()
            },
            vec![c],
        ),
    ];
    for (query, want) in cases {
        assert_eq!(list(query.clone()).await, want, "{query:?}");
    }
}

#[tokio::test]
async fn a_cursor_walk_visits_every_intent_once_while_intents_arrive() {
    let (server, clock) = server().await;
    let client = server.client();
    let mut before = Vec::new();
    for i in 0..11 {
        before.push(send(&client, "walked").await);
        if i % 4 == 3 {
            clock.advance_seconds(1);
        }
    }
    for order in [SortOrder::Asc, SortOrder::Desc] {
        let mut query = ListIntentsQuery { order: Some(order), limit: Some(3), ..Default::default() };
        let mut seen = Vec::new();
        loop {
            let page = client.list_intents_page(&query).await.unwrap();
            seen.extend(ids(&page));
            // New intents between pages: in the millisecond of the newest so far, and later.
            send(&client, "walked").await;
            clock.advance_seconds(1);
            send(&client, "walked").await;
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
            assert!(seen.len() < 100, "the walk ends");
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{order}: no intent twice");
        let old: Vec<_> = seen.iter().filter(|id| before.contains(id)).copied().collect();
        let want: Vec<_> = match order {
            SortOrder::Asc => before.clone(),
            SortOrder::Desc => before.iter().rev().copied().collect(),
        };
        assert_eq!(old, want, "{order}: each intent that existed, once, in order");
        if order == SortOrder::Desc {
            assert!(seen.iter().all(|id| before.contains(id)), "newer intents sort before a desc cursor");
        }
        before = walk(&client, ListIntentsQuery::default()).await.0;
    }
}

#[tokio::test]
async fn bad_values_get_the_error_envelope() {
    let (server, _) = server().await;
    let client = server.client();
    for _ in 0..3 {
        send(&client, "x").await;
    }
    let page = client
        .list_intents_page(&ListIntentsQuery {
            order: Some(SortOrder::Desc),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let desc_cursor = page.next_cursor.unwrap();
    for (query, param) in [
        ("cursor=nonsense".to_owned(), "cursor"),
        ("cursor=aTE6ZGVzYzo1Om5vdC1hLXV1aWQ".to_owned(), "cursor"),
        ("created_after=yesterday".to_owned(), "created_after"),
        ("created_before=2026-13-01T00:00:00Z".to_owned(), "created_before"),
        ("order=sideways".to_owned(), "order"),
        (format!("order=asc&cursor={desc_cursor}"), "order"),
        ("intent_type=Not%20A%20Type".to_owned(), "intent_type"),
        ("from_agent=agent%3A%2F%2F".to_owned(), "from_agent"),
        ("to_agent=a%20b".to_owned(), "to_agent"),
        ("status=DONE".to_owned(), "status"),
        ("limit=0".to_owned(), "limit"),
        ("limit=501".to_owned(), "limit"),
    ] {
        let (status, body) = get(&server, &server.admin_key, &query).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("validation_error")),
            "{query}: {body}"
        );
        assert_eq!(body["errors"][0]["loc"], json!(["query", param]), "{query}: {body}");
    }
    let (status, body) = get(&server, &server.admin_key, &format!("order=desc&cursor={desc_cursor}")).await;
    assert_eq!((status, body["intents"].as_array().map(Vec::len)), (200, Some(2)), "the rest: {body}");
    assert!(
        body["intents"][0]["intent_id"].as_str() > body["intents"][1]["intent_id"].as_str(),
        "newest first"
    );
}

#[tokio::test]
async fn agent_keys_and_other_workspaces_see_only_their_own() {
    let (server, clock) = server().await;
    let admin = server.client();
    let (_, a_key) = server.agent("agent-a", None).await;
    let agent_a = server.client_with_key(&a_key);
    let mut for_b = Vec::new();
    let mut for_a = Vec::new();
    for i in 0..9 {
        for_b.push(send(&admin, "agent-b").await);
        if i % 3 == 0 {
            for_a.push(send(&admin, "agent-a").await);
        }
        clock.advance_seconds(1);
    }

    // A page of an agent key may hold fewer than `limit`, even none, and still continue.
    let (seen, pages) = walk(&agent_a, ListIntentsQuery { limit: Some(2), ..Default::default() }).await;
    assert_eq!(seen, for_a, "agent-a sees its own intents, each once");
    assert!(pages >= 6, "the cursor walked past the pages it could not see: {pages}");
    let (spied, _) = walk(
        &agent_a,
        ListIntentsQuery { to_agent: Some("agent-b".into()), limit: Some(2), ..Default::default() },
    )
    .await;
    assert!(spied.is_empty(), "another agent's filter shows nothing of it: {spied:?}");
    let (status, body) = get(&server, &a_key, "to_agent=agent-b&limit=500").await;
    assert_eq!((status, body["intents"].as_array().map(Vec::len)), (200, Some(0)), "{body}");

    let other = server.client_with_key(&server.other_tenant().await);
    let (theirs, _) = walk(&other, ListIntentsQuery { limit: Some(5), ..Default::default() }).await;
    assert!(theirs.is_empty(), "another workspace lists none of these: {theirs:?}");
    let (same_name, _) =
        walk(&other, ListIntentsQuery { to_agent: Some("agent-b".into()), ..Default::default() }).await;
    assert!(same_name.is_empty(), "a bare name is an address in the caller's own workspace");
    let (all, _) =
        walk(&admin, ListIntentsQuery { limit: Some(4), order: Some(SortOrder::Desc), ..Default::default() })
            .await;
    assert_eq!(all.len(), for_a.len() + for_b.len(), "the admin sees all of its workspace");
}
