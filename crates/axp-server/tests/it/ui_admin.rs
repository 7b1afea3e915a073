//! The dashboard's administration pages (`docs/dashboard.md`) over HTTP: webhooks, service
//! accounts and keys, the audit log. Each renders for an admin; a key issued in the dashboard
//! works, its secret is shown once and revoking it makes it 401; every caller gets what
//! `docs/access.md` ("Dashboard administration pages") says, and refusals change nothing;
//! another workspace's objects are not shown; forms without the CSRF token change nothing; the
//! audit log pages with its cursor; a webhook's dead letter is replayed from its page.

use std::time::Duration;

use axp_core::delivery::DeliveryStatus;
use axp_store::Topic;
use axp_test_util::TestServer;
use axp_test_util::receiver::{Receiver, Reply};
use reqwest::Method;
use reqwest::header::COOKIE;
use serde_json::{Value, json};

use crate::callers::{Callers, call};
use crate::ui::{browser, csrf, form_session, get, post, session, session_rows};

/// A new active webhook subscription of the admin to `url`: its id and owner.
async fn subscribe(server: &TestServer, url: &str) -> (String, String) {
    subscribe_as(server, url, true).await
}

/// A new webhook subscription of the admin to `url`, `active` or not: its id and owner.
async fn subscribe_as(server: &TestServer, url: &str, active: bool) -> (String, String) {
    let body = json!({"callback_url": url, "event_types": ["inbox.thread_created"], "active": active});
    let (s, created) =
        call(server, &server.admin_key, Method::POST, "/v1/webhooks/subscriptions", Some(body)).await;
    assert_eq!(s, 200, "{created}");
    let sub = &created["subscription"];
    (sub["subscription_id"].as_str().unwrap().to_owned(), sub["owner_agent"].as_str().unwrap().to_owned())
}

/// A new service account named `name`, through the API: its id.
async fn account(server: &TestServer, name: &str) -> String {
    let body = json!({"name": name});
    let (s, created) =
        call(server, &server.admin_key, Method::POST, "/v1/service-accounts", Some(body)).await;
    assert_eq!(s, 200, "{created}");
    created["service_account"]["service_account_id"].as_str().unwrap().to_owned()
}

/// A new key of account `sa`, through the API: its token and id.
async fn api_key(server: &TestServer, sa: &str) -> (String, String) {
    let path = format!("/v1/service-accounts/{sa}/keys");
    let (s, key) = call(server, &server.admin_key, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(s, 200, "{key}");
    let text = |name: &str| key["key"][name].as_str().unwrap().to_owned();
    (text("token"), text("key_id"))
}

/// A fresh name.
fn fresh(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// `POST path` with `cookie` and a form: the status and the page.
async fn post_page(server: &TestServer, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = browser()
        .post(format!("{}{path}", server.base_url))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The text between `start` and the next `end` in `page`.
fn between<'p>(page: &'p str, start: &str, end: &str) -> Option<&'p str> {
    let from = page.find(start)? + start.len();
    page[from..].find(end).map(|to| &page[from..from + to])
}

/// Whether `key` works against the API (200) or not (401).
async fn key_status(server: &TestServer, key: &str) -> u16 {
    call(server, key, Method::GET, "/v1/intents?limit=1", None).await.0
}

/// What refusals must not change: the subscription's state, whether `key` works, the number
/// of the workspace's accounts and of its `api_key.created` audit entries.
async fn snapshot(server: &TestServer, sub: &str, owner: &str, key: &str) -> Value {
    let admin = &server.admin_key;
    let path = format!("/v1/webhooks/subscriptions?owner_agent={owner}&include_inactive=true");
    let (_, subs) = call(server, admin, Method::GET, &path, None).await;
    let sub = subs["subscriptions"].as_array().unwrap().iter().find(|s| s["subscription_id"] == sub).cloned();
    let (_, accounts) = call(server, admin, Method::GET, "/v1/service-accounts?limit=1000", None).await;
    let path = "/v1/audit?action=api_key.created&limit=500";
    let (_, audit) = call(server, admin, Method::GET, path, None).await;
    json!({
        "subscription": sub.map(|s| (s["active"].clone(), s["revoked_at"].clone())),
        "key": key_status(server, key).await,
        "accounts": accounts["service_accounts"].as_array().map(Vec::len),
        "keys_created": audit["entries"].as_array().map(Vec::len),
    })
}

#[tokio::test]
async fn every_admin_page_renders_and_is_linked() {
    let server = TestServer::spawn().await;
    let (sub, _) = subscribe(&server, "https://integrator.example/ui-hook").await;
    let sa = account(&server, &fresh("ui-page")).await;
    let cookie = session(&server, &server.admin_key).await;
    for (path, heading, shown) in [
        ("/ui/webhooks", "<h1>Webhooks</h1>", sub.as_str()),
        ("/ui/service-accounts", "<h1>Service accounts</h1>", sa.as_str()),
        ("/ui/audit", "<h1>Audit log</h1>", sa.as_str()),
    ] {
        let (s, _, page) = get(&server, Some(&cookie), path).await;
        assert_eq!(s, 200, "{path}: {page}");
        assert!(page.contains(heading) && page.contains(shown), "{path}: {page}");
        assert!(!page.contains(&server.admin_key), "{path}: no key in a page");
    }
    let (_, _, home) = get(&server, Some(&cookie), "/ui").await;
    for link in ["/ui/webhooks", "/ui/service-accounts", "/ui/audit"] {
        assert!(home.contains(&format!("href=\"{link}\"")), "the nav links {link}");
    }
}

#[tokio::test]
async fn a_key_issued_in_the_dashboard_works_its_secret_shows_once_and_revoke_ends_it() {
    let server = TestServer::spawn().await;
    let cookie = session(&server, &server.admin_key).await;
    let (_, _, list) = get(&server, Some(&cookie), "/ui/service-accounts").await;
    let token = csrf(&list);
    let name = fresh("ui-made");
    let form = [("csrf", token.as_str()), ("name", name.as_str()), ("display_name", "Made here")];
    let (s, location) = post(&server, Some(&cookie), "/ui/service-accounts", &form).await;
    assert_eq!((s, location.as_deref()), (303, Some("/ui/service-accounts")));
    let (_, listed) =
        call(&server, &server.admin_key, Method::GET, "/v1/service-accounts?limit=1000", None).await;
    let made = listed["service_accounts"].as_array().unwrap().iter().find(|a| a["name"] == name);
    let sa = made.expect("the account exists")["service_account_id"].as_str().unwrap().to_owned();

    let (s, issued) =
        post_page(&server, &cookie, &format!("/ui/service-accounts/{sa}/keys"), &[("csrf", &token)]).await;
    assert_eq!(s, 200, "{issued}");
    let key = between(&issued, "<code id=\"new-key\">", "</code>").expect("the secret").to_owned();
    let key_id = between(&issued, "<h2>New key ", "</h2>").expect("the key's id").to_owned();
    assert!(key.starts_with(&format!("axme_sa_{sa}_")), "{key}");
    assert_eq!(key_status(&server, &key).await, 200, "the key works against the API");
    let (_, _, again) = get(&server, Some(&cookie), "/ui/service-accounts").await;
    assert!(again.contains(&sa) && !again.contains(&key), "the secret is shown once: {again}");
    let (_, _, audit) = get(&server, Some(&cookie), "/ui/audit?action=api_key.created").await;
    assert!(audit.contains(&key_id) && !audit.contains(&key), "{audit}");

    let path = format!("/ui/service-accounts/{sa}/keys/revoke");
    let (s, location) = post(&server, Some(&cookie), &path, &[("csrf", &token), ("key_id", &key_id)]).await;
    assert_eq!((s, location.as_deref()), (303, Some("/ui/service-accounts")));
    assert_eq!(key_status(&server, &key).await, 401, "a revoked key");
    let (s, _) = post(&server, Some(&cookie), &path, &[("csrf", &token), ("key_id", "nope")]).await;
    assert_eq!(s, 404, "the API's answer for an unknown key");
}

#[tokio::test]
async fn every_admin_row_answers_as_documented_and_refusals_change_nothing() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;
    let rows = session_rows("Dashboard administration pages");
    assert_eq!(rows.len(), 10, "the table was read: {rows:?}");
    let mut failures = Vec::new();
    for (route, expected) in &rows {
        let (method, path) = route.split_once(' ').unwrap();
        for (n, (column, caller)) in callers.all().into_iter().enumerate() {
            let url = format!("https://integrator.example/{}", fresh("m"));
            let (sub, owner) = subscribe_as(&server, &url, !route.ends_with("/enable")).await;
            let sa = account(&server, &fresh("ui-m")).await;
            let (key, key_id) = api_key(&server, &sa).await;
            let url = path.replace("{subscription_id}", &sub).replace("{service_account_id}", &sa);
            let cookie = form_session(&server, caller).await;
            let (_, _, home) = get(&server, Some(&cookie), "/ui").await;
            let before = snapshot(&server, &sub, &owner, &key).await;
            let status = if method == "GET" {
                get(&server, Some(&cookie), &url).await.0
            } else {
                let (name, token) = (fresh("ui-n"), csrf(&home));
                let form =
                    [("csrf", token.as_str()), ("owner_agent", &owner), ("key_id", &key_id), ("name", &name)];
                post(&server, Some(&cookie), &url, &form).await.0
            };
            if status != expected[n] {
                failures.push(format!("{route} as {column}: {status}, documented {}", expected[n]));
            }
            if status >= 400 && snapshot(&server, &sub, &owner, &key).await != before {
                failures.push(format!("{route} as {column}: refused ({status}) but changed something"));
            }
            if method == "POST" && status < 400 && column != "other workspace" {
                // The admin's action did what it says.
                let after = snapshot(&server, &sub, &owner, &key).await;
                assert_ne!(after, before, "{route} as {column} changed nothing");
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let server = TestServer::spawn().await;
    let (sub, owner) = subscribe(&server, "https://integrator.example/ui-csrf").await;
    let sa = account(&server, &fresh("ui-csrf")).await;
    let (key, key_id) = api_key(&server, &sa).await;
    let cookie = session(&server, &server.admin_key).await;
    let before = snapshot(&server, &sub, &owner, &key).await;
    for path in [
        format!("/ui/webhooks/{sub}/revoke"),
        format!("/ui/webhooks/{sub}/disable"),
        "/ui/service-accounts".into(),
        format!("/ui/service-accounts/{sa}/keys"),
        format!("/ui/service-accounts/{sa}/keys/revoke"),
        format!("/ui/service-accounts/{sa}/delete"),
    ] {
        for token in [None, Some("0".repeat(64))] {
            let name = fresh("ui-x");
            let mut form = vec![("owner_agent", owner.as_str()), ("key_id", &key_id), ("name", &name)];
            if let Some(t) = &token {
                form.push(("csrf", t));
            }
            let (s, page) = post_page(&server, &cookie, &path, &form).await;
            assert_eq!(s, 403, "{path} with {token:?}");
            assert!(!page.contains("axme_sa_"), "{path}: no key issued");
        }
    }
    assert_eq!(snapshot(&server, &sub, &owner, &key).await, before, "refused forms changed nothing");
}

#[tokio::test]
async fn another_workspaces_objects_are_not_shown() {
    let server = TestServer::spawn().await;
    let (sub, _) = subscribe(&server, "https://integrator.example/ui-ours").await;
    let sa = account(&server, &fresh("ui-ours")).await;
    let other = form_session(&server, &server.other_tenant().await).await;
    for path in ["/ui/webhooks", "/ui/service-accounts", "/ui/audit"] {
        let (s, _, page) = get(&server, Some(&other), path).await;
        assert_eq!(s, 200, "{path}: {page}");
        assert!(!page.contains(&sub) && !page.contains(&sa), "{path} shows this workspace's: {page}");
    }
    let path = format!("/ui/webhooks?owner_agent={}", "agent://default/default/admin");
    let (_, _, page) = get(&server, Some(&other), &path).await;
    assert!(!page.contains(&sub), "not even by naming its owner: {page}");
}

#[tokio::test]
async fn the_audit_log_filters_and_pages_with_its_cursor() {
    let server = TestServer::spawn().await;
    let sa = account(&server, &fresh("ui-audit")).await;
    let mut ids = Vec::new();
    for _ in 0..52 {
        ids.push(api_key(&server, &sa).await.1);
    }
    let cookie = session(&server, &server.admin_key).await;
    let (s, _, first) = get(&server, Some(&cookie), "/ui/audit?action=api_key.created").await;
    assert_eq!(s, 200);
    assert_eq!(first.matches("data-audit=").count(), 50, "a page of 50");
    assert!(first.contains(&ids[51]) && !first.contains(&ids[0]), "newest first");
    let paging = between(&first, "<p class=\"paging\">", "</p>").expect("paging links");
    let next = between(paging, "<a href=\"", "\" rel=\"next\"").expect("a next link").replace("&amp;", "&");
    assert!(next.starts_with("/ui/audit?action=api_key.created&cursor="), "{next}");
    let (_, _, second) = get(&server, Some(&cookie), &next).await;
    assert_eq!(second.matches("data-audit=").count(), 2, "{second}");
    assert!(second.contains(&ids[0]) && second.contains(&ids[1]) && !second.contains("rel=\"next\""));

    let (_, _, none) = get(&server, Some(&cookie), "/ui/audit?actor_id=nobody").await;
    assert!(none.contains("No entries."), "{none}");
    let (_, _, none) = get(&server, Some(&cookie), "/ui/audit?since=2999-01-01T00:00:00Z").await;
    assert!(none.contains("No entries."), "{none}");
    let (s, _, bad) = get(&server, Some(&cookie), "/ui/audit?since=yesterday").await;
    assert_eq!(s, 422, "the API's answer: {bad}");
    assert!(bad.contains("RFC 3339"), "{bad}");
}

#[tokio::test]
async fn a_webhooks_dead_letter_is_shown_and_replayed_from_its_page() {
    let server = crate::push::server("0s,0s").await;
    let fail = Reply::Status(500);
    let receiver = Receiver::start([fail.clone(), fail.clone(), fail]).await;
    let (sub, _) = subscribe(&server, &receiver.url).await;
    let event = json!({"event_type": "inbox.thread_created", "source": "ui-test", "payload": {"n": 1}});
    let (s, body) = call(&server, &server.admin_key, Method::POST, "/v1/webhooks/events", Some(event)).await;
    assert_eq!(s, 200, "{body}");
    let mut wake = server.state().notifier.subscribe(Topic::Deliveries);
    let mut dead = None;
    for _ in 0..500 {
        wake.mark_seen();
        let all = server.state().store.list_deliveries(&server.admin.tenant, None, 100).await.unwrap();
        dead = all.into_iter().find(|d| {
            d.subscription_id.is_some_and(|s| s.to_string() == sub)
                && d.status == DeliveryStatus::DeadLettered
        });
        if dead.is_some() {
            break;
        }
        tokio::time::timeout(Duration::from_secs(30), wake.changed()).await.expect("a delivery changed");
    }
    let id = dead.expect("a dead letter").delivery_id.to_string();
    let cookie = session(&server, &server.admin_key).await;
    let (_, _, page) = get(&server, Some(&cookie), "/ui/webhooks").await;
    let section = between(&page, &format!("data-subscription=\"{sub}\""), "</section>").unwrap();
    assert!(
        section.contains(&id) && section.contains("dead_lettered") && section.contains("HTTP 500"),
        "{section}"
    );
    let path = format!("/ui/deliveries/{id}/replay");
    let (s, location) =
        post(&server, Some(&cookie), &path, &[("csrf", &csrf(&page)), ("back", "webhooks")]).await;
    assert_eq!((s, location.as_deref()), (303, Some("/ui/webhooks")));
    let all = server.state().store.list_deliveries(&server.admin.tenant, None, 100).await.unwrap();
    assert!(all.iter().any(|d| d.replay_of_delivery_id.is_some_and(|r| r.to_string() == id)), "replayed");
}
