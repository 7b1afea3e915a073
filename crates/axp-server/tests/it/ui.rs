//! The web dashboard under `/ui` (`docs/dashboard.md`), over HTTP: login links work once and
//! only for workspace admins, the session cookie's attributes, actor-token sign-in, pages and
//! fragments without a session, another workspace's intent, CSRF on every action, cancel and
//! approve through the pages, sign-out.

use axp_core::access::Role;
use axp_test_util::TestServer;
use reqwest::Method;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::callers::{Callers, call};

/// A client that does not follow redirects (the tests read them).
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A login link minted with `key`: the status and body.
async fn mint(server: &TestServer, key: &str) -> (u16, Value) {
    call(server, key, Method::POST, "/v1/ui/login-links", Some(json!({}))).await
}

/// Opens the login path; answers its status, `Location` and the session cookie (`name=value`).
async fn open(server: &TestServer, path: &str) -> (u16, Option<String>, Option<String>, String) {
    let r = browser().get(format!("{}{path}", server.base_url)).send().await.unwrap();
    let location = r.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned());
    let set = r.headers().get(SET_COOKIE).map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), location, set.clone(), r.text().await.unwrap())
}

/// A signed-in session of `key` (through a login link): the cookie header value.
pub(crate) async fn session(server: &TestServer, key: &str) -> String {
    let (s, link) = mint(server, key).await;
    assert_eq!(s, 200, "{link}");
    let (s, _, set, _) = open(server, link["login_path"].as_str().unwrap()).await;
    assert_eq!(s, 303);
    set.unwrap().split(';').next().unwrap().to_owned()
}

/// `GET path` with `cookie`: status, `Location`, body.
pub(crate) async fn get(
    server: &TestServer,
    cookie: Option<&str>,
    path: &str,
) -> (u16, Option<String>, String) {
    let mut req = browser().get(format!("{}{path}", server.base_url));
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let r = req.send().await.unwrap();
    let location = r.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), location, r.text().await.unwrap())
}

/// `POST path` with `cookie` and a form body: status, `Location`.
pub(crate) async fn post(
    server: &TestServer,
    cookie: Option<&str>,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Option<String>) {
    let mut req = browser().post(format!("{}{path}", server.base_url)).form(form);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned()))
}

/// The CSRF token a page's forms carry.
pub(crate) fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + 64].to_owned()
}

/// Intent `id` as the admin reads it.
async fn intent_of(server: &TestServer, id: &str) -> Value {
    call(server, &server.admin_key, Method::GET, &format!("/v1/intents/{id}"), None).await.1["intent"].clone()
}

async fn status_of(server: &TestServer, key: &str, id: &str) -> String {
    let (_, body) = call(server, key, Method::GET, &format!("/v1/intents/{id}"), None).await;
    body["intent"]["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_login_link_signs_in_once_and_only_admins_mint_them() {
    let server = TestServer::spawn().await;
    let (s, link) = mint(&server, &server.admin_key).await;
    assert_eq!(s, 200, "{link}");
    let path = link["login_path"].as_str().unwrap();
    assert!(path.starts_with("/ui/login/axp_ui_") && link["expires_at"].is_string(), "{link}");
    assert!(!path.contains(&server.admin_key), "the key is never in the link");

    let (s, location, set, _) = open(&server, path).await;
    assert_eq!((s, location.as_deref()), (303, Some("/ui")));
    let set = set.expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "no Secure over plain HTTP: {set}");
    assert!(!set.contains(&server.admin_key), "the cookie is no key");
    let cookie = set.split(';').next().unwrap().to_owned();
    let (s, _, page) = get(&server, Some(&cookie), "/ui").await;
    assert_eq!(s, 200);
    assert!(page.contains("<h1>Intents</h1>") && !page.contains(&server.admin_key));

    // Used: the second opening fails, with a page saying so, and signs nobody in.
    let (s, _, set, body) = open(&server, path).await;
    assert_eq!(s, 410);
    assert!(set.is_none() && body.contains("login link does not work"), "{body}");
    let (s, _, _, _) = open(&server, "/ui/login/axp_ui_unknown").await;
    assert_eq!(s, 410);

    // Only workspace admins mint links: a member, an agent key, a viewer get 403.
    for role in [Some(Role::Member), None, Some(Role::SecurityAuditor)] {
        let (_, key) = match role {
            Some(role) => server.agent_with_role(&format!("r{role:?}"), None, role).await,
            None => server.agent("plain", None).await,
        };
        let (s, body) = mint(&server, &key).await;
        assert_eq!(s, 403, "{role:?}: {body}");
    }
    let (s, _) = call(&server, "axme_sa_nope", Method::POST, "/v1/ui/login-links", None).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn without_a_session_pages_redirect_and_the_rest_is_refused() {
    let server = TestServer::spawn().await;
    let id = axp_core::ids::IntentId::new();
    for cookie in [None, Some("axp_session=axp_ui_wrong")] {
        for path in
            ["/ui".to_owned(), "/ui/inbox".into(), format!("/ui/intents/{id}"), "/ui/intents/rows".into()]
        {
            let (s, location, _) = get(&server, cookie, &path).await;
            assert_eq!((s, location.as_deref()), (303, Some("/ui/login")), "{path} with {cookie:?}");
        }
        for path in
            [format!("/ui/intents/{id}/cancel"), format!("/ui/inbox/{id}/decision"), "/ui/logout".into()]
        {
            let (s, _) = post(&server, cookie, &path, &[("csrf", "x"), ("decision", "approve")]).await;
            assert_eq!(s, 401, "{path} with {cookie:?}");
        }
    }
    let (s, _, form) = get(&server, None, "/ui/login").await;
    assert_eq!(s, 200);
    assert!(form.contains("method=\"post\"") && form.contains("name=\"token\""));
}

#[tokio::test]
async fn people_sign_in_with_their_actor_token_and_sign_out() {
    let server = TestServer::spawn().await;
    let nick = format!("person_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let (_, user) = call(
        &server,
        &server.admin_key,
        Method::POST,
        "/v1/users/register-nick",
        Some(json!({"nick": nick})),
    )
    .await;
    let path = format!("/v1/users/{}/tokens", user["user_id"].as_str().unwrap());
    let (_, issued) = call(&server, &server.admin_key, Method::POST, &path, Some(json!({}))).await;
    let token = issued["token"].as_str().unwrap();

    let (s, _) = post(&server, None, "/ui/login", &[("token", "axme_at_not_a_token")]).await;
    assert_eq!(s, 401);
    // Posted from another site (login CSRF): refused, no cookie.
    let login = |origin: String| {
        browser()
            .post(format!("{}/ui/login", server.base_url))
            .header("origin", origin)
            .form(&[("token", token)])
            .send()
    };
    let r = login("https://evil.example".into()).await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.headers().get(SET_COOKIE).is_none());
    let r = login(server.base_url.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let set = r.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(!set.contains(token));
    let cookie = set.split(';').next().unwrap().to_owned();
    let (s, _, page) = get(&server, Some(&cookie), "/ui").await;
    assert_eq!(s, 200);
    assert!(!page.contains(token), "the token is never in a page");

    // Sign-out needs the CSRF token; then the cookie is dead.
    let (s, _) = post(&server, Some(&cookie), "/ui/logout", &[]).await;
    assert_eq!(s, 403);
    assert_eq!(get(&server, Some(&cookie), "/ui").await.0, 200, "a refused sign-out changes nothing");
    let (s, location) = post(&server, Some(&cookie), "/ui/logout", &[("csrf", &csrf(&page))]).await;
    assert_eq!((s, location.as_deref()), (303, Some("/ui/login")));
    assert_eq!(get(&server, Some(&cookie), "/ui").await.1.as_deref(), Some("/ui/login"));
}

#[tokio::test]
async fn pages_show_only_the_sessions_workspace_and_actions_need_csrf() {
    let server = TestServer::spawn().await;
    let cookie = session(&server, &server.admin_key).await;
    let (_, created) = call(
        &server,
        &server.admin_key,
        Method::POST,
        "/v1/intents",
        Some(json!({"intent_type": "ui.test.v1", "to_agent": "agent://ui/worker", "payload": {"n": 1}})),
    )
    .await;
    let id = created["intent_id"].as_str().unwrap().to_owned();
    let other_key = server.other_tenant().await;
    let (_, theirs) = call(
        &server,
        &other_key,
        Method::POST,
        "/v1/intents",
        Some(json!({"intent_type": "ui.secret.v1", "to_agent": "agent://ui/worker", "payload": {}})),
    )
    .await;
    let theirs = theirs["intent_id"].as_str().unwrap().to_owned();

    let (s, _, rows) = get(&server, Some(&cookie), "/ui/intents/rows").await;
    assert_eq!(s, 200);
    assert!(rows.contains(&id) && !rows.contains(&theirs), "{rows}");
    let (_, _, filtered) = get(&server, Some(&cookie), "/ui/intents/rows?intent_type=other.v1").await;
    assert!(!filtered.contains(&id));
    let (_, _, filtered) =
        get(&server, Some(&cookie), "/ui/intents/rows?status=SUBMITTED&intent_type=ui.test.v1").await;
    assert!(filtered.contains(&id), "{filtered}");
    for path in [
        format!("/ui/intents/{theirs}"),
        format!("/ui/intents/{theirs}/detail"),
        format!("/ui/intents/{theirs}/stream"),
    ] {
        assert_eq!(get(&server, Some(&cookie), &path).await.0, 404, "{path}");
    }
    let (s, _, page) = get(&server, Some(&cookie), &format!("/ui/intents/{id}")).await;
    assert_eq!(s, 200);
    assert!(page.contains("ui.test.v1") && page.contains("data-events"), "{page}");
    let token = csrf(&page);

    // No CSRF token, or a wrong one: 403, nothing changes.
    for form in [vec![], vec![("csrf", "0".repeat(64))]] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (s, _) = post(&server, Some(&cookie), &format!("/ui/intents/{id}/cancel"), &form).await;
        assert_eq!(s, 403);
    }
    assert_ne!(status_of(&server, &server.admin_key, &id).await, "CANCELED");
    let (s, _) =
        post(&server, Some(&cookie), &format!("/ui/intents/{theirs}/cancel"), &[("csrf", &token)]).await;
    assert_eq!(s, 404);
    assert_ne!(status_of(&server, &other_key, &theirs).await, "CANCELED", "another workspace's intent");
    let (s, location) =
        post(&server, Some(&cookie), &format!("/ui/intents/{id}/cancel"), &[("csrf", &token)]).await;
    assert_eq!((s, location), (303, Some(format!("/ui/intents/{id}"))));
    assert_eq!(status_of(&server, &server.admin_key, &id).await, "CANCELED");
    let (s, _) = post(&server, Some(&cookie), &format!("/ui/intents/{id}/cancel"), &[("csrf", &token)]).await;
    assert_eq!(s, 409, "the API's answer: already terminal");
}

#[tokio::test]
async fn approving_in_the_inbox_completes_the_human_task() {
    let server = TestServer::spawn().await;
    let (_, requester) = server.agent("requester", None).await;
    let task = json!({"intent_type": "expense.approve.v1", "to_agent": "agent://ui/approver", "payload": {"amount": 120},
        "human_task": {"title": "Approve 120 EUR", "task_type": "approval"}});
    let (_, created) = call(&server, &requester, Method::POST, "/v1/intents", Some(task)).await;
    let id = created["intent_id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "WAITING");

    let cookie = session(&server, &server.admin_key).await;
    let (s, _, inbox) = get(&server, Some(&cookie), "/ui/inbox").await;
    assert_eq!(s, 200);
    assert!(inbox.contains("Approve 120 EUR") && inbox.contains(&id), "{inbox}");
    let path = format!("/ui/inbox/{id}/decision");
    let (s, _) = post(&server, Some(&cookie), &path, &[("decision", "approve")]).await;
    assert_eq!(s, 403, "no CSRF token");
    assert_eq!(status_of(&server, &server.admin_key, &id).await, "WAITING");
    let form = [("csrf", csrf(&inbox)), ("decision", "approve".into()), ("comment", "fine".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, location) = post(&server, Some(&cookie), &path, &form).await;
    assert_eq!((s, location.as_deref()), (303, Some("/ui/inbox")));
    let (_, intent) = call(&server, &server.admin_key, Method::GET, &format!("/v1/intents/{id}"), None).await;
    assert_eq!(intent["intent"]["status"], "COMPLETED", "{intent}");
    assert_eq!(intent["intent"]["result"]["task_result"]["comment"], "fine");
}

/// The session table of the `## Dashboard` section of `docs/access.md` ([`session_rows`]).
fn dashboard_rows() -> Vec<(String, [u16; 5])> {
    session_rows("Dashboard")
}

/// The session table of the section of `docs/access.md` headed `## {heading}`: each route and
/// the status expected of each caller, in [`Callers::all`] order.
pub(crate) fn session_rows(heading: &str) -> Vec<(String, [u16; 5])> {
    let doc = include_str!("../../../../docs/access.md");
    let section = doc.split("\n## ").find(|s| s.lines().next() == Some(heading)).expect("the section");
    section
        .lines()
        .filter(|l| l.starts_with("| `GET") || l.starts_with("| `POST"))
        .map(|line| line.trim_matches('|').split('|').map(str::trim).collect::<Vec<_>>())
        .filter(|cells| cells.len() == 6)
        .map(|cells| {
            let expected: Vec<u16> =
                cells[1..].iter().map(|c| c.split(' ').next().unwrap().parse().unwrap()).collect();
            (cells[0].trim_matches('`').to_owned(), expected.try_into().unwrap())
        })
        .collect()
}

/// A session of `key` through the sign-in form (any caller, not only admins).
pub(crate) async fn form_session(server: &TestServer, key: &str) -> String {
    let r =
        browser().post(format!("{}/ui/login", server.base_url)).form(&[("token", key)]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    r.headers().get(SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned()
}

/// What the admin reads of `ids` (each intent's status and `updated_at`) and of agent `agent`
/// (its health and kill switch).
async fn states(server: &TestServer, ids: &[&str], agent: &str) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for id in ids {
        let (_, body) =
            call(server, &server.admin_key, Method::GET, &format!("/v1/intents/{id}"), None).await;
        out.push((body["intent"]["status"].clone(), body["intent"]["updated_at"].clone()));
    }
    let path = format!("/v1/mesh/agents/{agent}");
    let (_, body) = call(server, &server.admin_key, Method::GET, &path, None).await;
    out.push((body["agent"]["health_status"].clone(), body["agent"]["killed_at"].clone()));
    out
}

#[tokio::test]
async fn every_dashboard_row_answers_as_documented_and_refusals_change_nothing() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;
    let (_, requester) = server.agent("ui-requester", None).await;
    let rows = dashboard_rows();
    assert!(rows.len() >= 10, "the table was read: {rows:?}");
    let mut failures = Vec::new();
    // Replaying needs a dead letter: `a_dead_letter_is_replayed_from_its_page` checks that row.
    for (route, expected) in rows.iter().filter(|(route, _)| !route.contains("{delivery_id}")) {
        let (method, path) = route.split_once(' ').unwrap();
        for (n, (column, key)) in callers.all().into_iter().enumerate() {
            let (_, intent) = call(
                &server,
                &server.admin_key,
                Method::POST,
                "/v1/intents",
                Some(json!({"intent_type": "ui.matrix.v1", "to_agent": "agent://ui/worker", "payload": {}})),
            )
            .await;
            let task = json!({"intent_type": "ui.task.v1", "to_agent": "agent://ui/approver", "payload": {},
                "human_task": {"title": "Decide", "task_type": "approval"}});
            let (_, task) = call(&server, &requester, Method::POST, "/v1/intents", Some(task)).await;
            let (intent, task) = (intent["intent_id"].as_str().unwrap(), task["intent_id"].as_str().unwrap());
            let (sa, _) = server.agent(&format!("ui-{}", uuid::Uuid::new_v4().simple()), None).await;
            let agent = sa.service_account_id.to_string();
            let target = if path.starts_with("/ui/inbox/") { task } else { intent };
            let mut url = path.replace("{intent_id}", target).replace("{address_id}", &agent);
            if url.ends_with("/stream") {
                url.push_str("?wait_seconds=1");
            }
            let cookie = form_session(&server, key).await;
            let (_, _, page) = get(&server, Some(&cookie), "/ui").await;
            let before = states(&server, &[intent, task], &agent).await;
            let status = if method == "GET" {
                let r = browser()
                    .get(format!("{}{url}", server.base_url))
                    .header(COOKIE, &cookie)
                    .send()
                    .await
                    .unwrap();
                r.status().as_u16()
            } else {
                let form = [("csrf", csrf(&page)), ("decision", "approve".to_owned())];
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post(&server, Some(&cookie), &url, &form).await.0
            };
            if status != expected[n] {
                failures.push(format!("{route} as {column}: {status}, documented {}", expected[n]));
            }
            if status >= 400 && states(&server, &[intent, task], &agent).await != before {
                failures.push(format!("{route} as {column}: refused ({status}) but changed something"));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn links_expire_after_five_minutes_and_sessions_after_twelve_hours() {
    let clock = axp_engine::ManualClock::new(axp_core::Timestamp::from_millis(1_780_000_000_000));
    let server = TestServer::spawn_with_clock(std::sync::Arc::new(clock.clone())).await;
    let (_, early) = mint(&server, &server.admin_key).await;
    let (_, late) = mint(&server, &server.admin_key).await;
    clock.advance_seconds(299);
    let (s, _, set, _) = open(&server, early["login_path"].as_str().unwrap()).await;
    assert_eq!(s, 303, "within 5 minutes");
    let cookie = set.unwrap().split(';').next().unwrap().to_owned();
    clock.advance_seconds(1);
    let (s, _, set, body) = open(&server, late["login_path"].as_str().unwrap()).await;
    assert_eq!(s, 410, "expired at 5 minutes");
    assert!(set.is_none() && body.contains("has expired"), "{body}");

    assert_eq!(get(&server, Some(&cookie), "/ui").await.0, 200);
    // Made at 299 s, it lasts until 299 s + 12 h; the clock is at 300 s.
    clock.advance_seconds(12 * 3600 - 2);
    assert_eq!(get(&server, Some(&cookie), "/ui").await.0, 200);
    clock.advance_seconds(1);
    assert_eq!(
        get(&server, Some(&cookie), "/ui").await.1.as_deref(),
        Some("/ui/login"),
        "the session expired"
    );
}

#[tokio::test]
async fn a_form_task_is_answered_with_its_fields() {
    let server = TestServer::spawn().await;
    let (_, requester) = server.agent("form-requester", None).await;
    let schema = json!({"type": "object", "required": ["amount"], "properties": {
        "amount": {"type": "integer", "title": "Amount"}, "urgent": {"type": "boolean"}}});
    let task = json!({"intent_type": "expense.form.v1", "to_agent": "agent://ui/approver", "payload": {},
        "human_task": {"title": "Fill in", "task_type": "approval", "form_schema": schema}});
    let (_, created) = call(&server, &requester, Method::POST, "/v1/intents", Some(task)).await;
    let id = created["intent_id"].as_str().unwrap().to_owned();
    let cookie = session(&server, &server.admin_key).await;
    let (_, _, inbox) = get(&server, Some(&cookie), "/ui/inbox").await;
    assert!(
        inbox.contains("name=\"field.amount\" required") && inbox.contains("name=\"field.urgent\""),
        "{inbox}"
    );
    let path = format!("/ui/inbox/{id}/decision");
    let token = csrf(&inbox);
    // A value the schema refuses: the API's 422, and the task still waits.
    let bad = [("csrf", token.as_str()), ("decision", "approve"), ("field.amount", "lots")];
    assert_eq!(post(&server, Some(&cookie), &path, &bad).await.0, 422);
    assert_eq!(status_of(&server, &server.admin_key, &id).await, "WAITING");
    let good =
        [("csrf", token.as_str()), ("decision", "approve"), ("field.amount", "120"), ("field.urgent", "on")];
    assert_eq!(post(&server, Some(&cookie), &path, &good).await, (303, Some("/ui/inbox".to_owned())));
    let (_, intent) = call(&server, &server.admin_key, Method::GET, &format!("/v1/intents/{id}"), None).await;
    assert_eq!(intent["intent"]["status"], "COMPLETED", "{intent}");
    let result = &intent["intent"]["result"]["task_result"];
    assert_eq!((result["amount"].clone(), result["urgent"].clone()), (json!(120), json!(true)), "{result}");
}

#[tokio::test]
async fn the_kill_switch_works_from_the_agents_page() {
    let server = TestServer::spawn().await;
    let (sa, _) = server.agent("ui-killable", Some("agent://ui/killable")).await;
    let cookie = session(&server, &server.admin_key).await;
    let (s, _, page) = get(&server, Some(&cookie), "/ui/agents").await;
    assert_eq!(s, 200);
    assert!(page.contains("agent://ui/killable"), "{page}");
    let id = sa.service_account_id.to_string();
    let path = format!("/ui/agents/{id}/kill");
    assert_eq!(post(&server, Some(&cookie), &path, &[]).await.0, 403, "no CSRF token");
    let (s, location) = post(&server, Some(&cookie), &path, &[("csrf", &csrf(&page))]).await;
    assert_eq!((s, location.as_deref()), (303, Some("/ui/agents")));
    let (_, agent) =
        call(&server, &server.admin_key, Method::GET, &format!("/v1/mesh/agents/{id}"), None).await;
    assert_eq!(agent["agent"]["health_status"], "killed", "{agent}");
    let (_, _, page) = get(&server, Some(&cookie), "/ui/agents").await;
    assert!(page.contains(&format!("/ui/agents/{id}/resume")), "a killed agent offers resume");
    let (s, _) =
        post(&server, Some(&cookie), &format!("/ui/agents/{id}/resume"), &[("csrf", &csrf(&page))]).await;
    assert_eq!(s, 303);
    let (_, agent) =
        call(&server, &server.admin_key, Method::GET, &format!("/v1/mesh/agents/{id}"), None).await;
    assert_ne!(agent["agent"]["health_status"], "killed");
}

#[tokio::test]
async fn a_dead_letter_is_replayed_from_its_page() {
    let server = crate::push::server("0s,0s").await;
    let callers = Callers::new(&server).await;
    let hang = axp_test_util::receiver::Reply::Hang;
    let receiver = axp_test_util::receiver::Receiver::start([hang.clone(), hang]).await;
    crate::push::http_agent(&server, "ui-silent", &receiver.url).await;
    let intent =
        server.client().create_intent(&crate::helpers::notify("ui-silent"), None).await.unwrap().intent_id;
    let dead = crate::push::delivery_when(&server, intent, |d| {
        d.status == axp_core::delivery::DeliveryStatus::DeadLettered
    })
    .await;
    let id = dead.delivery_id.to_string();
    let cookie = session(&server, &server.admin_key).await;
    let (s, _, page) = get(&server, Some(&cookie), "/ui/deliveries").await;
    assert_eq!(s, 200);
    assert!(page.contains(&id), "{page}");
    let (_, _, detail) = get(&server, Some(&cookie), &format!("/ui/intents/{intent}")).await;
    assert!(detail.contains(&id) && detail.contains("dead_lettered") && detail.contains("#2 "), "{detail}");
    let path = format!("/ui/deliveries/{id}/replay");
    assert_eq!(post(&server, Some(&cookie), &path, &[]).await.0, 403, "no CSRF token");

    // Each caller, as `docs/access.md` says; a refusal replays nothing.
    let row = dashboard_rows().into_iter().find(|(r, _)| r.contains("{delivery_id}/replay")).unwrap().1;
    let replays = async || {
        let all = server.state().store.list_deliveries(&server.admin.tenant, None, 100).await.unwrap();
        all.iter().filter(|d| d.replay_of_delivery_id == Some(dead.delivery_id)).count()
    };
    for (n, (column, key)) in callers.all().into_iter().enumerate() {
        let cookie = form_session(&server, key).await;
        let (_, _, page) = get(&server, Some(&cookie), "/ui").await;
        let before = replays().await;
        let (s, location) = post(&server, Some(&cookie), &path, &[("csrf", &csrf(&page))]).await;
        assert_eq!(s, row[n], "{column}");
        if s == 303 {
            assert_eq!(location.as_deref(), Some("/ui/deliveries"));
            assert_eq!(replays().await, before + 1, "{column} replayed it");
        } else {
            assert_eq!(replays().await, before, "{column} was refused and replayed nothing");
        }
    }
}

#[tokio::test]
async fn controls_change_from_the_detail_page_and_a_failed_intent_runs_again() {
    let server = TestServer::spawn().await;
    let cookie = session(&server, &server.admin_key).await;
    let create = json!({"intent_type": "ui.again.v1", "to_agent": "agent://ui/worker", "payload": {"n": 7}});
    let (_, created) = call(&server, &server.admin_key, Method::POST, "/v1/intents", Some(create)).await;
    let id = created["intent_id"].as_str().unwrap().to_owned();
    let (_, _, page) = get(&server, Some(&cookie), &format!("/ui/intents/{id}")).await;
    assert!(page.contains("Update controls") && !page.contains("Run again"), "{page}");
    let token = csrf(&page);
    let controls = format!("/ui/intents/{id}/controls");

    // Not a JSON object: 422, nothing changes.
    let bad = [("csrf", token.as_str()), ("controls_patch", "[1]"), ("expected_policy_generation", "0")];
    assert_eq!(post(&server, Some(&cookie), &controls, &bad).await.0, 422);
    assert_eq!(intent_of(&server, &id).await["policy_generation"], 0);
    let patch = [
        ("csrf", token.as_str()),
        ("controls_patch", r#"{"timeout_seconds": 600}"#),
        ("expected_policy_generation", "0"),
    ];
    let (s, location) = post(&server, Some(&cookie), &controls, &patch).await;
    assert_eq!((s, location), (303, Some(format!("/ui/intents/{id}"))));
    let after = intent_of(&server, &id).await;
    assert_eq!(after["policy_generation"], 1, "{after}");
    // The page drawn before that change: its generation is stale (contract §4.8), nothing changes.
    let stale = [
        ("csrf", token.as_str()),
        ("controls_patch", r#"{"timeout_seconds": 5}"#),
        ("expected_policy_generation", "0"),
    ];
    assert_eq!(post(&server, Some(&cookie), &controls, &stale).await.0, 409);
    assert_eq!(intent_of(&server, &id).await["policy_generation"], 1);

    // Failed: the page offers "Run again", which creates a new intent like it.
    let fail = json!({"status": "FAILED", "error": {"message": "boom"}});
    let (s, _) =
        call(&server, &server.admin_key, Method::POST, &format!("/v1/intents/{id}/resolve"), Some(fail))
            .await;
    assert_eq!(s, 200);
    let (_, _, page) = get(&server, Some(&cookie), &format!("/ui/intents/{id}")).await;
    assert!(page.contains("Run again") && !page.contains("Update controls"), "{page}");
    let (s, location) =
        post(&server, Some(&cookie), &format!("/ui/intents/{id}/retry"), &[("csrf", &token)]).await;
    assert_eq!(s, 303);
    let again = location.unwrap().strip_prefix("/ui/intents/").unwrap().to_owned();
    assert_ne!(again, id);
    let (_, body) =
        call(&server, &server.admin_key, Method::GET, &format!("/v1/intents/{again}"), None).await;
    let (old, new) = (intent_of(&server, &id).await, &body["intent"]);
    assert_eq!(new["status"], "SUBMITTED");
    for field in ["intent_type", "to_agent", "payload", "correlation_id"] {
        assert_eq!(new[field], old[field], "{field}");
    }
}
