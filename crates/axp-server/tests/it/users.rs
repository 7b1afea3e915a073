//! Users and nicks (contract §6, `api.users.*.v1.json`): the routes end to end, every response
//! against its schema, and the access matrix (`docs/access.md`, "people") with denied calls
//! changing nothing.

use axp_test_util::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::callers::{Callers, assert_schema, call};

fn hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

/// Registers `@<nick>` as the admin; returns the response body.
async fn register(server: &TestServer, nick: &str) -> Value {
    let (s, body) =
        call(server, &server.admin_key, Method::POST, "/v1/users/register-nick", Some(json!({"nick": nick})))
            .await;
    assert_eq!(s, 200, "{body}");
    body
}

async fn profile(server: &TestServer, owner: &str) -> Value {
    let (s, body) =
        call(server, &server.admin_key, Method::GET, &format!("/v1/users/profile?owner_agent={owner}"), None)
            .await;
    assert_eq!(s, 200, "{body}");
    body
}

#[tokio::test]
async fn nicks_register_rename_profile_and_resolve() {
    let server = TestServer::spawn().await;
    let admin = &server.admin_key;
    let nick = format!("@conformance_{}", hex());

    let (s, check) =
        call(&server, admin, Method::GET, &format!("/v1/users/check-nick?nick={nick}"), None).await;
    assert_eq!(s, 200);
    assert_schema("api.users.check_nick.response.v1", &check, &[]);
    assert_eq!((check["nick"].as_str(), check["available"].as_bool()), (Some(nick.as_str()), Some(true)));
    assert_eq!(check["public_address"], format!("{}@ax", &nick[1..]));

    let (s, registered) = call(
        &server,
        admin,
        Method::POST,
        "/v1/users/register-nick",
        Some(json!({"nick": nick.to_uppercase(), "display_name": "Conformance User", "email": "c@example.com"})),
    )
    .await;
    assert_eq!(s, 200, "{registered}");
    assert_schema("api.users.register_nick.response.v1", &registered, &[]);
    let user_id = registered["user_id"].as_str().unwrap().to_owned();
    let owner = format!("agent://user/{user_id}");
    assert_eq!(
        (registered["owner_agent"].as_str(), registered["nick"].as_str()),
        (Some(owner.as_str()), Some(nick.as_str()))
    );
    let (_, check) =
        call(&server, admin, Method::GET, &format!("/v1/users/check-nick?nick={nick}"), None).await;
    assert_eq!(check["available"], false);
    let (s, dup) =
        call(&server, admin, Method::POST, "/v1/users/register-nick", Some(json!({"nick": &nick[1..]})))
            .await;
    assert_eq!((s, dup["error"]["code"].as_str()), (409, Some("already_exists")));
    for bad in [
        json!({"nick": "@x"}),
        json!({}),
        json!({"nick": "has space"}),
        json!({"nick": "okay", "phone": "1"}),
    ] {
        let (s, _) = call(&server, admin, Method::POST, "/v1/users/register-nick", Some(bad.clone())).await;
        assert_eq!(s, 422, "{bad}");
    }
    let (s, _) = call(&server, admin, Method::GET, "/v1/users/check-nick?nick=@x", None).await;
    assert_eq!(s, 422);

    let got = profile(&server, &owner).await;
    assert_schema("api.users.profile.get.response.v1", &got, &[]);
    assert_eq!(
        (got["normalized_nick"].as_str(), got["email"].as_str()),
        (Some(&nick[1..]), Some("c@example.com"))
    );

    let new_nick = format!("@conformance_{}", hex());
    let (s, renamed) = call(
        &server,
        admin,
        Method::POST,
        "/v1/users/rename-nick",
        Some(json!({"owner_agent": owner, "nick": new_nick})),
    )
    .await;
    assert_eq!(s, 200, "{renamed}");
    assert_schema("api.users.rename_nick.response.v1", &renamed, &[]);
    assert_eq!(
        (renamed["nick"].as_str(), renamed["display_name"].as_str()),
        (Some(new_nick.as_str()), Some("Conformance User"))
    );
    let (_, check) =
        call(&server, admin, Method::GET, &format!("/v1/users/check-nick?nick={nick}"), None).await;
    assert_eq!(check["available"], true, "the old nick is free again");
    let other = register(&server, &format!("taken_{}", hex())).await;
    let (s, _) = call(
        &server,
        admin,
        Method::POST,
        "/v1/users/rename-nick",
        Some(json!({"owner_agent": owner, "nick": other["nick"]})),
    )
    .await;
    assert_eq!(s, 409);
    let unknown = format!("agent://user/{}", uuid::Uuid::new_v4());
    for path in ["/v1/users/rename-nick", "/v1/users/profile/update"] {
        let (s, _) = call(
            &server,
            admin,
            Method::POST,
            path,
            Some(json!({"owner_agent": unknown, "nick": format!("n{}", hex())})),
        )
        .await;
        assert_eq!(s, 404, "{path}");
    }
    let (s, _) =
        call(&server, admin, Method::GET, &format!("/v1/users/profile?owner_agent={unknown}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = call(&server, admin, Method::GET, "/v1/users/profile", None).await;
    assert_eq!(s, 422);

    let (s, updated) = call(
        &server,
        admin,
        Method::POST,
        "/v1/users/profile/update",
        Some(json!({"owner_agent": owner, "display_name": "Conformance User Updated", "phone": "+15550100"})),
    )
    .await;
    assert_eq!(s, 200, "{updated}");
    assert_schema("api.users.profile.update.response.v1", &updated, &[]);
    assert_eq!(
        (updated["display_name"].as_str(), updated["nick"].as_str()),
        (Some("Conformance User Updated"), Some(new_nick.as_str()))
    );
    assert_eq!(profile(&server, &owner).await, updated);

    let (s, resolved) =
        call(&server, admin, Method::GET, &format!("/v1/users/resolve-nick?nick={new_nick}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (resolved["resolved"].as_bool(), resolved["owner_agent"].as_str()),
        (Some(true), Some(owner.as_str()))
    );
    assert_eq!(resolved["phone"], "+15550100");
    let (_, agent) = server.agent("resolver", Some("agent://people/resolver")).await;
    let (_, seen) =
        call(&server, &agent, Method::GET, &format!("/v1/users/resolve-nick?nick={new_nick}"), None).await;
    assert_eq!(
        (seen["owner_agent"].as_str(), seen["phone"].as_str()),
        (Some(owner.as_str()), None),
        "{seen}"
    );
    let (_, nobody) =
        call(&server, admin, Method::GET, "/v1/users/resolve-nick?nick=nobody_here", None).await;
    assert_eq!((nobody["resolved"].as_bool(), &nobody["owner_agent"]), (Some(false), &Value::Null));
}

#[tokio::test]
async fn users_access_matrix_and_denied_calls_change_nothing() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;
    let target = register(&server, &format!("target_{}", hex())).await;
    let owner = target["owner_agent"].as_str().unwrap().to_owned();
    let before = profile(&server, &owner).await;

    // (route, expected status per column: admin, member, agent, viewer, other workspace)
    let expect_read = [
        ("GET /v1/users/check-nick", [200, 200, 200, 200, 200]),
        ("GET /v1/users/resolve-nick", [200, 200, 200, 200, 200]),
        ("GET /v1/users/profile", [200, 200, 403, 200, 404]),
    ];
    for (route, statuses) in expect_read {
        let path = match route {
            "GET /v1/users/check-nick" => {
                format!("/v1/users/check-nick?nick={}", target["nick"].as_str().unwrap())
            }
            "GET /v1/users/resolve-nick" => {
                format!("/v1/users/resolve-nick?nick={}", &target["nick"].as_str().unwrap()[1..])
            }
            _ => format!("/v1/users/profile?owner_agent={owner}"),
        };
        for ((who, key), want) in callers.all().into_iter().zip(statuses) {
            let (s, body) = call(&server, key, Method::GET, &path, None).await;
            assert_eq!(s, want, "{route} as {who}: {body}");
        }
    }

    let register_statuses = [200, 200, 200, 403, 200];
    for ((who, key), want) in callers.all().into_iter().zip(register_statuses) {
        let nick = format!("reg_{}", hex());
        let (s, body) =
            call(&server, key, Method::POST, "/v1/users/register-nick", Some(json!({"nick": nick}))).await;
        assert_eq!(s, want, "register-nick as {who}: {body}");
        let (_, check) =
            call(&server, &server.admin_key, Method::GET, &format!("/v1/users/check-nick?nick={nick}"), None)
                .await;
        let in_ours = who != "viewer" && who != "other workspace";
        assert_eq!(check["available"], !in_ours, "register-nick as {who} lands in its own workspace only");
    }

    for route in ["/v1/users/rename-nick", "/v1/users/profile/update"] {
        for ((who, key), want) in callers.all().into_iter().zip([200, 200, 403, 403, 404]) {
            let nick = format!("ren_{}", hex());
            let (s, body) =
                call(&server, key, Method::POST, route, Some(json!({"owner_agent": owner, "nick": nick})))
                    .await;
            assert_eq!(s, want, "{route} as {who}: {body}");
            let now = profile(&server, &owner).await;
            if want == 200 {
                assert_eq!(now["normalized_nick"], nick.as_str());
            } else {
                assert_ne!(now["normalized_nick"], nick.as_str(), "{route} as {who} changed nothing");
            }
        }
    }
    let (_, admin_renamed) = call(
        &server,
        &server.admin_key,
        Method::POST,
        "/v1/users/rename-nick",
        Some(json!({"owner_agent": owner, "nick": before["nick"]})),
    )
    .await;
    assert_eq!(admin_renamed["nick"], before["nick"]);

    // An agent acts as its own address only: a user's profile is someone else's.
    let (s, _) = call(
        &server,
        &callers.agent,
        Method::POST,
        "/v1/users/profile/update",
        Some(json!({"owner_agent": callers.agent_address, "display_name": "me"})),
    )
    .await;
    assert_eq!(s, 404, "acting as itself passes the check; it is no user");
}
