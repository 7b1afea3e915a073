//! `agents register|show|keys create|keys revoke`, and the new key in use.

use crate::helpers::{Server, Shell, assert_snapshot};

#[tokio::test]
async fn register_show_and_keys() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);

    let registered = sh
        .run(&["agents", "register", "--name", "billing-bot", "--display-name", "Billing bot", "--json"])
        .await
        .expect(0);
    assert_snapshot("agents_register", &registered.json());
    let id = registered.json()["service_account_id"].as_str().unwrap().to_owned();

    let shown = sh.run(&["agents", "show", "billing-bot", "--json"]).await.expect(0);
    assert_snapshot("agents_show", &shown.json());
    let same = sh.run(&["agents", "show", "agent://default/default/billing-bot"]).await.expect(0);
    assert!(same.stdout.contains("Billing bot"), "{same}");
    sh.run(&["agents", "show", "nobody-here"]).await.expect(1);
    sh.run(&["agents", "register", "--name", "billing-bot"]).await.expect(1);

    let created = sh.run(&["agents", "keys", "create", "--agent-id", &id, "--json"]).await.expect(0);
    assert_snapshot("agents_keys_create", &created.json());
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let key_id = created.json()["key_id"].as_str().unwrap().to_owned();

    // The new key is the agent's identity.
    let as_bot = Shell::new().env("AXP_URL", &server.url).env("AXP_API_KEY", &token);
    let me = as_bot.run(&["whoami", "--json"]).await.expect(0).json();
    assert_eq!(me["service_account"]["agent_address"], "agent://default/default/billing-bot");

    let expiring = sh
        .run(&[
            "agents",
            "keys",
            "create",
            "--agent-id",
            &id,
            "--expires-at",
            "2099-01-01T00:00:00Z",
            "--json",
        ])
        .await
        .expect(0);
    assert_eq!(expiring.json()["expires_at"], "2099-01-01T00:00:00.000Z");
    sh.run(&["agents", "keys", "create", "--agent-id", &id, "--expires-at", "tomorrow"]).await.expect(2);

    let revoked = sh
        .run(&["agents", "keys", "revoke", "--agent-id", &id, "--key-id", &key_id, "--json"])
        .await
        .expect(0);
    assert_eq!(revoked.json()["status"], "revoked");
    as_bot.run(&["whoami"]).await.expect(1);
    sh.run(&["agents", "keys", "revoke", "--agent-id", "x", "--key-id", &key_id]).await.expect(2);
}

#[tokio::test]
async fn list_and_delivery_bindings() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    sh.run(&["agents", "register", "--name", "worker", "--delivery-mode", "poll", "--lease-seconds", "30"])
        .await
        .expect(0);

    let listed = sh.run(&["agents", "list", "--json"]).await.expect(0).json();
    let names: Vec<&str> =
        listed.as_array().unwrap().iter().map(|a| a["service_account_name"].as_str().unwrap()).collect();
    assert!(names.contains(&"admin") && names.contains(&"worker"), "{listed}");
    let worker = listed.as_array().unwrap().iter().find(|a| a["service_account_name"] == "worker").unwrap();
    assert_eq!(
        (worker["delivery_mode"].as_str(), worker["lease_seconds"].as_u64()),
        (Some("poll"), Some(30))
    );
    let table = sh.run(&["agents", "ls"]).await.expect(0);
    assert!(
        table.stdout.starts_with("ADDRESS") && table.stdout.contains("agent://default/default/worker"),
        "{table}"
    );
    assert!(table.stdout.contains("disconnected"), "{table}");

    // A poll agent claims its work with the SDK; the CLI shows the intent delivered to it.
    let id = sh.run(&["intents", "send", "--to", "worker", "--json"]).await.expect(0).json()["intent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let claimed = server.client().claim_intents("worker", 10, 0).await.unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.intent_id.to_string()).collect::<Vec<_>>(),
        std::slice::from_ref(&id)
    );
    assert!(
        server.client().claim_intents("worker", 10, 0).await.unwrap().is_empty(),
        "leased: not claimed twice"
    );
    let got = sh.run(&["intents", "get", &id, "--json"]).await.expect(0).json();
    assert_eq!(got["status"], "DELIVERED");

    let moved = sh
        .run(&["agents", "set-delivery", "worker", "--delivery-mode", "stream", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(moved["delivery_mode"], "stream");
    sh.run(&["agents", "set-delivery", "worker"]).await.expect(2);
    sh.run(&["agents", "set-delivery", "worker", "--delivery-mode", "poll", "--delivery-url", "http://x"])
        .await
        .expect(2);
    let refused = sh
        .run(&["agents", "set-delivery", "worker", "--delivery-url", "http://10.0.0.1/hook"])
        .await
        .expect(1);
    assert!(
        refused.stderr.contains("422") || refused.stderr.contains("400"),
        "private addresses are refused\n{refused}"
    );
}
