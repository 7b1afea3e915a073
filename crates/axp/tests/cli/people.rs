//! People: `axp users` and `axp invites`, then `axp login --token` with the actor token an
//! accepted invite hands out, and commands acting as that person (`whoami`, `status`, `users`).

use crate::helpers::{Server, Shell, assert_plain, assert_snapshot};

fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

#[tokio::test]
async fn users_register_check_rename_profile_and_resolve() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);

    let check = sh.run(&["users", "check", "@Alice_One", "--json"]).await.expect(0);
    assert_snapshot("users_check", &check.json());
    let registered = sh
        .run(&[
            "users",
            "register",
            "alice_one",
            "--display-name",
            "Alice",
            "--email",
            "a@example.com",
            "--json",
        ])
        .await
        .expect(0)
        .json();
    assert_snapshot("users_register", &registered);
    let owner = registered["owner_agent"].as_str().unwrap();
    assert_eq!(sh.run(&["users", "check", "alice_one", "--json"]).await.expect(0).json()["available"], false);
    let taken = sh.run(&["users", "register", "@ALICE_ONE"]).await.expect(1);
    assert!(taken.stderr.contains("409"), "{taken}");
    sh.run(&["users", "register", "x"]).await.expect(1);

    let renamed =
        sh.run(&["users", "rename", "alice_two", "--owner", owner, "--json"]).await.expect(0).json();
    assert_eq!(
        (renamed["nick"].as_str(), renamed["owner_agent"].as_str()),
        (Some("@alice_two"), Some(owner))
    );
    let updated = sh
        .run(&["users", "profile", "--owner", owner, "--phone", "+15550100", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(
        (updated["phone"].as_str(), updated["display_name"].as_str()),
        (Some("+15550100"), Some("Alice"))
    );
    let profile = sh.run(&["users", "profile", "--owner", owner, "--json"]).await.expect(0).json();
    assert_eq!(profile, updated);
    let table = sh.run(&["users", "profile", "--owner", owner]).await.expect(0);
    assert!(table.stdout.contains("@alice_two") && table.stdout.contains("public_address"), "{table}");
    assert_plain(&table);

    let resolved = sh.run(&["user", "resolve", "alice_two", "--json"]).await.expect(0).json();
    assert_eq!((resolved["resolved"].as_bool(), resolved["owner_agent"].as_str()), (Some(true), Some(owner)));
    let nobody = sh.run(&["users", "resolve", "nobody_here"]).await.expect(0);
    assert!(nobody.stderr.contains("nobody has @nobody_here"), "{nobody}");
    let missing = format!("agent://user/{}", uuid::Uuid::new_v4());
    sh.run(&["users", "profile", "--owner", &missing]).await.expect(1);
}

#[tokio::test]
async fn invite_accept_login_with_the_token_and_act_as_the_person() {
    let server = Server::start().await;
    let admin = Shell::for_server(&server);
    let created = admin
        .run(&[
            "invites",
            "create",
            "--owner",
            "agent://people/hr",
            "--hint",
            "Carol",
            "--ttl-seconds",
            "3600",
            "--json",
        ])
        .await
        .expect(0)
        .json();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(created["invite_url"].as_str().unwrap().ends_with(&token), "{created}");
    let got = admin.run(&["invite", "get", &token, "--json"]).await.expect(0).json();
    assert_eq!((got["status"].as_str(), got["recipient_hint"].as_str()), (Some("pending"), Some("Carol")));

    let nick = format!("carol_{}", tag());
    let accepted =
        admin.run(&["invites", "accept", &token, "--nick", &nick, "--json"]).await.expect(0).json();
    assert_eq!(accepted["status"], "accepted");
    let owner = accepted["owner_agent"].as_str().unwrap().to_owned();
    let actor_token = accepted["actor_token"].as_str().unwrap().to_owned();
    assert!(actor_token.starts_with("axme_at_"));
    admin.run(&["invites", "accept", &token, "--nick", "someone_else"]).await.expect(1);
    assert_eq!(admin.run(&["invites", "get", &token, "--json"]).await.expect(0).json()["status"], "accepted");

    // `login --token`: the person's context, checked against the server.
    let carol = Shell::new();
    let login = carol
        .run(&["login", "--base-url", &server.url, "--token", &actor_token, "--context", "carol", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(login["agent_address"], owner.as_str());
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(carol.config_file()).unwrap()).unwrap();
    assert_eq!(saved["contexts"]["carol"]["actor_token"], actor_token.as_str());
    assert_eq!(saved["contexts"]["carol"].get("api_key"), None, "no key was given");
    let list = carol.run(&["context", "list", "--json"]).await.expect(0).json();
    assert_eq!(
        (list[0]["has_actor_token"].as_bool(), list[0]["has_api_key"].as_bool()),
        (Some(true), Some(false))
    );

    let me = carol.run(&["whoami", "--json"]).await.expect(0).json();
    assert_eq!(
        (me["actor"]["type"].as_str(), me["actor"]["owner_agent"].as_str()),
        (Some("user"), Some(owner.as_str()))
    );
    assert_eq!(
        (me["user"]["nick"].as_str(), &me["actor"]["roles"]),
        (Some(format!("@{nick}").as_str()), &serde_json::json!([]))
    );
    assert_eq!(me["service_account"], serde_json::Value::Null);
    let table = carol.run(&["whoami"]).await.expect(0);
    assert!(table.stdout.contains(&owner) && table.stdout.contains("acts as itself"), "{table}");
    let status = carol.run(&["status", "--json"]).await.expect(0).json();
    assert_eq!(status["auth"]["agent_address"], owner.as_str());

    // Acting as themselves: their own profile by default; not someone else's.
    let renamed =
        carol.run(&["users", "rename", &format!("carol_b_{}", tag()), "--json"]).await.expect(0).json();
    assert_eq!(renamed["owner_agent"], owner.as_str());
    let bob = admin.run(&["users", "register", &format!("bob_{}", tag()), "--json"]).await.expect(0).json();
    let denied = carol
        .run(&[
            "users",
            "profile",
            "--owner",
            bob["owner_agent"].as_str().unwrap(),
            "--display-name",
            "Hacked",
        ])
        .await
        .expect(1);
    assert!(denied.stderr.contains("403"), "{denied}");
    let invite = carol.run(&["invites", "create", "--json"]).await.expect(0).json();
    assert_eq!(invite["owner_agent"], owner.as_str(), "a person invites as themselves by default");

    // Tokens the server refuses, and API keys, are not saved as a person's token.
    let bogus = Shell::new();
    let refused = bogus.run(&["login", "--base-url", &server.url, "--token", "axme_at_nope"]).await.expect(2);
    assert!(refused.stderr.contains("does not accept this token"), "{refused}");
    let key = bogus.run(&["login", "--base-url", &server.url, "--token", &server.admin_key]).await.expect(2);
    assert!(key.stderr.contains("not a person's actor token"), "{key}");
    assert!(!bogus.config_file().exists());
}
