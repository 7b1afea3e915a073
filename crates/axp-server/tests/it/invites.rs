//! Invites (contract §6, `api.invites.*.v1.json`): create, read, accept (with the new person's
//! actor token), expiry on the server clock, and the access matrix (`docs/access.md`, "people")
//! with denied calls changing nothing.

use std::sync::Arc;

use axp_core::Timestamp;
use axp_engine::ManualClock;
use axp_test_util::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::callers::{Callers, assert_schema, call, call_with};

const O: &str = "agent://conformance/owner";
/// The axp extension fields of the accept response.
const TOKEN_FIELDS: [&str; 3] = ["actor_token", "actor_token_id", "actor_token_expires_at"];

async fn create(server: &TestServer, key: &str, body: Value) -> (u16, Value) {
    call(server, key, Method::POST, "/v1/invites/create", Some(body)).await
}

/// A pending invite from [`O`] created by the admin; its token.
async fn invite(server: &TestServer) -> String {
    let (s, body) = create(server, &server.admin_key, json!({"owner_agent": O})).await;
    assert_eq!(s, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn status(server: &TestServer, token: &str) -> Value {
    let (s, body) = call(server, &server.admin_key, Method::GET, &format!("/v1/invites/{token}"), None).await;
    assert_eq!(s, 200, "{body}");
    body["status"].clone()
}

fn nick() -> String {
    format!("@guest_{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

#[tokio::test]
async fn create_get_accept_and_the_new_persons_token() {
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let server = TestServer::spawn_with_clock(Arc::new(clock.clone())).await;
    let admin = &server.admin_key;
    let (s, created) = create(
        &server,
        admin,
        json!({"owner_agent": O, "recipient_hint": "Conformance receiver", "ttl_seconds": 3600}),
    )
    .await;
    assert_eq!(s, 200, "{created}");
    assert_schema("api.invites.create.response.v1", &created, &[]);
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(created["invite_url"].as_str().unwrap().starts_with("http"));
    assert!(created["invite_url"].as_str().unwrap().ends_with(&token));
    assert_eq!(
        (created["status"].as_str(), created["expires_at"].as_str()),
        (Some("pending"), Some("2026-05-28T21:26:40.000Z"))
    );

    let (s, got) = call(&server, admin, Method::GET, &format!("/v1/invites/{token}"), None).await;
    assert_eq!(s, 200);
    assert_schema("api.invites.get.response.v1", &got, &[]);
    assert_eq!((got["token"].as_str(), got["owner_agent"].as_str()), (Some(token.as_str()), Some(O)));

    let body = json!({"nick": "@Invite.Conformance.User", "display_name": "Conformance User"});
    let (s, accepted) =
        call(&server, admin, Method::POST, &format!("/v1/invites/{token}/accept"), Some(body.clone())).await;
    assert_eq!(s, 200, "{accepted}");
    assert_schema("api.invites.accept.response.v1", &accepted, &TOKEN_FIELDS);
    let user_id = accepted["user_id"].as_str().unwrap();
    assert_eq!(accepted["owner_agent"], format!("agent://user/{user_id}"));
    assert_eq!(
        (accepted["nick"].as_str(), accepted["public_address"].as_str()),
        (Some("@invite.conformance.user"), Some("invite.conformance.user@ax"))
    );
    assert_eq!(
        (accepted["registry_bind_status"].as_str(), accepted["invite_owner_agent"].as_str()),
        (Some("disabled"), Some(O))
    );
    let actor_token = accepted["actor_token"].as_str().unwrap();
    assert!(actor_token.starts_with("axme_at_"));

    // The new person's token works at once, as them.
    let (s, me) = call_with(&server, None, Some(actor_token), Method::GET, "/v1/me", None).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!((me["actor"]["type"].as_str(), me["actor"]["id"].as_str()), (Some("user"), Some(user_id)));

    let (_, got) = call(&server, admin, Method::GET, &format!("/v1/invites/{token}"), None).await;
    assert_schema("api.invites.get.response.v1", &got, &[]);
    assert_eq!(
        (got["status"].as_str(), got["accepted_owner_agent"].as_str()),
        (Some("accepted"), accepted["owner_agent"].as_str())
    );
    assert_eq!(got["nick"], "@invite.conformance.user");

    // Accepted once; unknown tokens are 404; a taken nick is 409 and leaves the invite pending.
    let (s, again) = call(
        &server,
        admin,
        Method::POST,
        &format!("/v1/invites/{token}/accept"),
        Some(json!({"nick": nick()})),
    )
    .await;
    assert_eq!((s, again["error"]["code"].as_str()), (409, Some("invalid_state_transition")));
    let (s, _) = call(&server, admin, Method::GET, "/v1/invites/axme_inv_unknown000000", None).await;
    assert_eq!(s, 404);
    let (s, _) = call(
        &server,
        admin,
        Method::POST,
        "/v1/invites/axme_inv_unknown000000/accept",
        Some(json!({"nick": nick()})),
    )
    .await;
    assert_eq!(s, 404);
    let second = invite(&server).await;
    let (s, taken) =
        call(&server, admin, Method::POST, &format!("/v1/invites/{second}/accept"), Some(body)).await;
    assert_eq!((s, taken["error"]["code"].as_str()), (409, Some("already_exists")));
    assert_eq!(status(&server, &second).await, "pending");
    let (s, _) = call(
        &server,
        admin,
        Method::POST,
        &format!("/v1/invites/{second}/accept"),
        Some(json!({"nick": "a b"})),
    )
    .await;
    assert_eq!(s, 422);
    for bad in [
        json!({}),
        json!({"owner_agent": O, "ttl_seconds": 59}),
        json!({"owner_agent": O, "ttl_seconds": 1_209_601}),
    ] {
        let (s, _) = create(&server, admin, bad.clone()).await;
        assert_eq!(s, 422, "{bad}");
    }

    // Expiry is the server clock's: 7 days by default.
    clock.advance_seconds(7 * 24 * 3600 - 1);
    assert_eq!(status(&server, &second).await, "pending");
    clock.advance_seconds(1);
    assert_eq!(status(&server, &second).await, "expired");
    let (s, expired) = call(
        &server,
        admin,
        Method::POST,
        &format!("/v1/invites/{second}/accept"),
        Some(json!({"nick": nick()})),
    )
    .await;
    assert_eq!((s, expired["error"]["code"].as_str()), (409, Some("invalid_state_transition")));
    assert_eq!(status(&server, &second).await, "expired");
}

#[tokio::test]
async fn invites_access_matrix_and_denied_calls_change_nothing() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;

    for ((who, key), want) in callers.all().into_iter().zip([200, 200, 403, 403, 200]) {
        let (s, body) = create(&server, key, json!({"owner_agent": "agent://people/inviter"})).await;
        assert_eq!(s, want, "create as {who}: {body}");
        if s == 200 {
            let token = body["token"].as_str().unwrap();
            let (seen, _) =
                call(&server, &server.admin_key, Method::GET, &format!("/v1/invites/{token}"), None).await;
            assert_eq!(
                seen,
                if who == "other workspace" { 404 } else { 200 },
                "an invite lands in its creator's workspace"
            );
        } else {
            assert_eq!(body["token"], Value::Null, "a denied create hands out no token");
        }
    }
    let (s, _) = create(&server, &callers.agent, json!({"owner_agent": callers.agent_address})).await;
    assert_eq!(s, 200, "an agent invites for its own address");

    let token = invite(&server).await;
    for ((who, key), want) in callers.all().into_iter().zip([200, 200, 200, 200, 404]) {
        let (s, body) = call(&server, key, Method::GET, &format!("/v1/invites/{token}"), None).await;
        assert_eq!(s, want, "get as {who}: {body}");
    }

    for ((who, key), want) in callers.all().into_iter().zip([200, 200, 200, 403, 404]) {
        let token = invite(&server).await;
        let guest = nick();
        let (s, body) = call(
            &server,
            key,
            Method::POST,
            &format!("/v1/invites/{token}/accept"),
            Some(json!({"nick": guest})),
        )
        .await;
        assert_eq!(s, want, "accept as {who}: {body}");
        let expected = if want == 200 { "accepted" } else { "pending" };
        assert_eq!(status(&server, &token).await, expected, "accept as {who}");
        let (_, check) = call(
            &server,
            &server.admin_key,
            Method::GET,
            &format!("/v1/users/check-nick?nick={guest}"),
            None,
        )
        .await;
        assert_eq!(check["available"], want != 200, "accept as {who}: the user exists only when accepted");
    }
}
