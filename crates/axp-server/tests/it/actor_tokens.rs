//! Actor tokens (contract §1.1): how a Bearer token is resolved beside or without an API key,
//! a person acting with their memberships' roles, expiry on the server clock and revocation
//! taking effect at once, `GET /v1/me` and `/v1/me/tasks` for a person, and the access matrix
//! (`docs/access.md`, "people") with denied calls changing nothing.

use std::sync::Arc;

use axp_core::Timestamp;
use axp_core::access::Role;
use axp_engine::ManualClock;
use axp_test_util::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::callers::{Callers, call, call_with};

/// A new user (registered by the admin): its id and owner address.
async fn user(server: &TestServer) -> (String, String) {
    let nick = format!("person_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let (s, body) =
        call(server, &server.admin_key, Method::POST, "/v1/users/register-nick", Some(json!({"nick": nick})))
            .await;
    assert_eq!(s, 200, "{body}");
    (body["user_id"].as_str().unwrap().to_owned(), body["owner_agent"].as_str().unwrap().to_owned())
}

/// An actor token for `user` issued by the admin, valid `ttl` seconds: its secret and id.
async fn issue(server: &TestServer, user: &str, ttl: Option<u64>) -> (String, String) {
    let body = ttl.map_or_else(|| json!({}), |t| json!({"ttl_seconds": t}));
    let (s, issued) =
        call(server, &server.admin_key, Method::POST, &format!("/v1/users/{user}/tokens"), Some(body)).await;
    assert_eq!(s, 200, "{issued}");
    (issued["token"].as_str().unwrap().to_owned(), issued["token_id"].as_str().unwrap().to_owned())
}

/// `GET /v1/me` with only `Authorization: Bearer <token>`.
async fn me(server: &TestServer, token: &str) -> (u16, Value) {
    call_with(server, None, Some(token), Method::GET, "/v1/me", None).await
}

#[tokio::test]
async fn bearer_resolution_beside_and_without_an_api_key() {
    let server = TestServer::spawn().await;
    let (user_id, owner) = user(&server).await;
    let (token, _) = issue(&server, &user_id, None).await;
    let other = server.other_tenant().await;
    let admin = server.admin_key.as_str();
    let code = |body: &Value| body["error"]["code"].as_str().map(str::to_owned);

    let (s, alone) = me(&server, &token).await;
    assert_eq!((s, alone["actor"]["owner_agent"].as_str()), (200, Some(owner.as_str())));
    assert_eq!((alone["actor"]["type"].as_str(), &alone["actor"]["roles"]), (Some("user"), &json!([])));
    assert_eq!(alone["actor"]["workspace_id"], server.admin.tenant.workspace_id.to_string());
    let (s, beside) = call_with(&server, Some(admin), Some(&token), Method::GET, "/v1/me", None).await;
    assert_eq!((s, beside["actor"]["id"].as_str()), (200, Some(user_id.as_str())), "the person, not the key");
    let (s, machine) = call_with(&server, Some(admin), Some(admin), Method::GET, "/v1/me", None).await;
    assert_eq!((s, machine["actor"]["type"].as_str()), (200, Some("service_account")));
    assert_eq!(machine["actor"]["roles"], json!(["org_owner"]));
    let (s, machine) = call_with(&server, None, Some(admin), Method::GET, "/v1/me", None).await;
    assert_eq!(
        (s, machine["actor"]["type"].as_str()),
        (200, Some("service_account")),
        "an API key as Bearer"
    );

    let (s, body) = call_with(&server, Some(admin), Some("axme_at_bogus"), Method::GET, "/v1/me", None).await;
    assert_eq!((s, code(&body).as_deref()), (401, Some("invalid_actor_token")));
    let (s, body) = call_with(&server, Some(admin), Some(&other), Method::GET, "/v1/me", None).await;
    assert_eq!((s, code(&body).as_deref()), (401, Some("invalid_actor_token")), "a key is no actor token");
    let (s, body) = call_with(&server, Some(&other), Some(&token), Method::GET, "/v1/me", None).await;
    assert_eq!((s, code(&body).as_deref()), (403, Some("invalid_actor_scope")));
    let (s, body) = me(&server, "axme_at_bogus").await;
    assert_eq!((s, code(&body).as_deref()), (401, Some("invalid_actor_token")));
    let (s, body) = me(&server, "axme_sa_0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e_nope").await;
    assert_eq!((s, code(&body).as_deref()), (401, Some("invalid_platform_api_key")));
    let (s, body) = call_with(&server, Some(&token), None, Method::GET, "/v1/me", None).await;
    assert_eq!(
        (s, code(&body).as_deref()),
        (401, Some("invalid_platform_api_key")),
        "x-api-key is a machine key"
    );

    // Through the SDK: a client built with the token alone acts as the person.
    let person = axp_client::Client::builder(&server.base_url, "").actor_token(&token).build().unwrap();
    assert_eq!(person.me().await.unwrap().owner_agent, owner);
    let created = person.create_intent(&crate::helpers::notify("agent://people/desk"), None).await.unwrap();
    let intent = server.client().get_intent(created.intent_id).await.unwrap();
    assert_eq!(intent.from_agent, owner, "what a person sends is from agent://user/<id>");
}

#[tokio::test]
async fn a_person_acts_with_their_memberships_roles() {
    let server = TestServer::spawn().await;
    let (user_id, owner) = user(&server).await;
    let (_, someone) = user(&server).await;
    let (token, _) = issue(&server, &user_id, None).await;
    let update = |owner: &str, name: &str| json!({"owner_agent": owner, "display_name": name});
    let as_person = async |path: &str, body: Value| {
        call_with(&server, None, Some(&token), Method::POST, path, Some(body)).await.0
    };

    // No membership: acts only as itself.
    assert_eq!(as_person("/v1/users/profile/update", update(&owner, "Me")).await, 200);
    assert_eq!(as_person("/v1/users/profile/update", update(&someone, "You")).await, 403);
    let (s, _) = call_with(
        &server,
        None,
        Some(&token),
        Method::GET,
        &format!("/v1/users/profile?owner_agent={someone}"),
        None,
    )
    .await;
    assert_eq!(s, 403);

    // A `member` membership of the user applies at the next request.
    let tenant = &server.admin.tenant;
    let store = &server.state().store;
    let now = server.state().clock.now();
    let member = store
        .add_member(
            tenant.org_id,
            Some(tenant.workspace_id),
            &user_id,
            Role::Member,
            now,
            &axp_store::Audit::server(),
        )
        .await
        .unwrap();
    let (_, mine) = me(&server, &token).await;
    assert_eq!(mine["actor"]["roles"], json!(["member"]));
    assert_eq!(as_person("/v1/users/profile/update", update(&someone, "You")).await, 200);
    let (s, _) = call_with(
        &server,
        None,
        Some(&token),
        Method::POST,
        &format!("/v1/users/{user_id}/tokens"),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 403, "a member administers nothing");

    // Viewer only: reads everything, changes nothing (not even its own profile).
    store.remove_member(tenant.org_id, member.member_id, now, &axp_store::Audit::server()).await.unwrap();
    store
        .add_member(tenant.org_id, None, &user_id, Role::SecurityAuditor, now, &axp_store::Audit::server())
        .await
        .unwrap();
    let (s, _) = call_with(
        &server,
        None,
        Some(&token),
        Method::GET,
        &format!("/v1/users/profile?owner_agent={someone}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(as_person("/v1/users/profile/update", update(&owner, "Changed")).await, 403);
    let (_, profile) = call(
        &server,
        &server.admin_key,
        Method::GET,
        &format!("/v1/users/profile?owner_agent={owner}"),
        None,
    )
    .await;
    assert_eq!(profile["display_name"], "Me", "the denied update changed nothing");

    // A workspace admin person administers: issues tokens.
    store
        .add_member(
            tenant.org_id,
            Some(tenant.workspace_id),
            &user_id,
            Role::WorkspaceAdmin,
            now,
            &axp_store::Audit::server(),
        )
        .await
        .unwrap();
    let (s, _) = call_with(
        &server,
        None,
        Some(&token),
        Method::POST,
        &format!("/v1/users/{user_id}/tokens"),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn expired_and_revoked_tokens_get_401_at_once() {
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let server = TestServer::spawn_with_clock(Arc::new(clock.clone())).await;
    let (user_id, _) = user(&server).await;
    let (short, _) = issue(&server, &user_id, Some(60)).await;
    let (long, long_id) = issue(&server, &user_id, None).await;
    let (own, own_id) = issue(&server, &user_id, None).await;
    for token in [&short, &long, &own] {
        assert_eq!(me(&server, token).await.0, 200, "and now cached");
    }
    clock.advance_seconds(59);
    assert_eq!(me(&server, &short).await.0, 200);
    clock.advance_seconds(1);
    let (s, body) = me(&server, &short).await;
    assert_eq!((s, body["error"]["code"].as_str()), (401, Some("invalid_actor_token")), "expired");
    let (s, revoked) = call(
        &server,
        &server.admin_key,
        Method::POST,
        &format!("/v1/users/{user_id}/tokens/{long_id}/revoke"),
        None,
    )
    .await;
    assert_eq!((s, revoked["actor_token"]["status"].as_str()), (200, Some("revoked")), "{revoked}");
    assert_eq!(me(&server, &long).await.0, 401, "revoked: refused at once");
    let path = format!("/v1/users/{user_id}/tokens/{own_id}/revoke");
    let (s, _) = call_with(&server, None, Some(&own), Method::POST, &path, None).await;
    assert_eq!(s, 200, "a person revokes their own token");
    assert_eq!(me(&server, &own).await.0, 401);
    let (s, again) = call(&server, &server.admin_key, Method::POST, &path, None).await;
    assert_eq!(
        (s, &again["actor_token"]["revoked_at"]),
        (200, &json!("2026-05-28T20:27:40.000Z")),
        "idempotent"
    );
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/v1/users/{user_id}/tokens/{unknown}/revoke"),
        format!("/v1/users/{unknown}/tokens/{own_id}/revoke"),
    ] {
        assert_eq!(call(&server, &server.admin_key, Method::POST, &path, None).await.0, 404, "{path}");
    }
    let (s, _) = call(
        &server,
        &server.admin_key,
        Method::POST,
        &format!("/v1/users/{unknown}/tokens"),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = call(
        &server,
        &server.admin_key,
        Method::POST,
        &format!("/v1/users/{user_id}/tokens"),
        Some(json!({"ttl_seconds": 59})),
    )
    .await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn a_persons_tasks_are_those_assigned_to_their_address_or_nick() {
    let server = TestServer::spawn().await;
    let nick = format!("boss_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (s, registered) = call(
        &server,
        &server.admin_key,
        Method::POST,
        "/v1/users/register-nick",
        Some(json!({"nick": nick})),
    )
    .await;
    assert_eq!(s, 200);
    let user_id = registered["user_id"].as_str().unwrap();
    let (token, _) = issue(&server, user_id, None).await;
    let mut mine = Vec::new();
    for assignee in [
        registered["owner_agent"].clone(),
        json!(format!("@{nick}")),
        json!(format!("{nick}@ax")),
        json!("someone@else"),
    ] {
        let (s, created) = call(
            &server,
            &server.admin_key,
            Method::POST,
            "/v1/intents",
            Some(json!({"intent_type": "expense.approve.v1", "to_agent": "agent://acme/finance/approver",
                "human_task": {"title": "Approve", "task_type": "approval", "assignees": [assignee]}})),
        )
        .await;
        assert_eq!(s, 200, "{created}");
        if assignee != "someone@else" {
            mine.push(created["intent_id"].clone());
        }
    }
    let (s, tasks) = call_with(&server, None, Some(&token), Method::GET, "/v1/me/tasks", None).await;
    assert_eq!(s, 200, "{tasks}");
    let mut found: Vec<Value> =
        tasks["tasks"].as_array().unwrap().iter().map(|t| t["intent_id"].clone()).collect();
    found.sort_by_key(ToString::to_string);
    mine.sort_by_key(ToString::to_string);
    assert_eq!(found, mine);
}

#[tokio::test]
async fn tokens_access_matrix_and_denied_calls_change_nothing() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;
    let (user_id, _) = user(&server).await;

    for ((who, key), want) in callers.all().into_iter().zip([200, 403, 403, 403, 404]) {
        let (s, body) =
            call(&server, key, Method::POST, &format!("/v1/users/{user_id}/tokens"), Some(json!({}))).await;
        assert_eq!(s, want, "issue as {who}: {body}");
        assert_eq!(body["token"].is_string(), want == 200, "issue as {who}");
    }

    for ((who, key), want) in callers.all().into_iter().zip([200, 403, 403, 403, 404]) {
        let (token, token_id) = issue(&server, &user_id, None).await;
        let path = format!("/v1/users/{user_id}/tokens/{token_id}/revoke");
        let (s, body) = call(&server, key, Method::POST, &path, None).await;
        assert_eq!(s, want, "revoke as {who}: {body}");
        assert_eq!(me(&server, &token).await.0, if want == 200 { 401 } else { 200 }, "revoke as {who}");
    }

    for (who, key) in callers.all() {
        let (s, body) = call(&server, key, Method::GET, "/v1/me", None).await;
        assert_eq!((s, body["actor"]["type"].as_str()), (200, Some("service_account")), "me as {who}");
    }
    let (_, agent) = call(&server, &callers.agent, Method::GET, "/v1/me", None).await;
    assert_eq!(
        (agent["actor"]["owner_agent"].as_str(), &agent["actor"]["roles"]),
        (Some(callers.agent_address.as_str()), &json!([]))
    );
    let (_, viewer) = call(&server, &callers.viewer, Method::GET, "/v1/me", None).await;
    assert_eq!(viewer["actor"]["roles"], json!(["security_auditor"]));
}
