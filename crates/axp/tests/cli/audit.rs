//! `axp audit`: the admin's actions are listed newest first, filtered and paged; an agent's
//! key is refused.

use crate::helpers::{Server, Shell};

#[tokio::test]
async fn the_admin_reads_its_actions_and_an_agent_is_refused() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    sh.run(&["audit"]).await.expect(0);

    let bot = sh.run(&["agents", "register", "--name", "audited-bot", "--json"]).await.expect(0).json();
    let id = bot["service_account_id"].as_str().unwrap().to_owned();
    let key = sh.run(&["agents", "keys", "create", "--agent-id", &id, "--json"]).await.expect(0).json();
    let key_id = key["key_id"].as_str().unwrap().to_owned();
    sh.run(&["agents", "keys", "revoke", "--agent-id", &id, "--key-id", &key_id]).await.expect(0);

    let page = sh.run(&["audit", "--json"]).await.expect(0).json();
    let actions: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["api_key.revoked", "api_key.created", "service_account.created"],
        "newest first: {page}"
    );
    assert_eq!(page["next_cursor"], serde_json::Value::Null);
    let created = &page["entries"][1];
    assert_eq!(
        (created["target"]["type"].as_str(), created["target"]["id"].as_str()),
        (Some("api_key"), Some(key_id.as_str()))
    );
    assert_eq!(created["actor"]["type"], "service_account");
    assert!(created["trace_id"].as_str().is_some_and(|t| !t.is_empty()), "the server made up a trace id");

    let keys = sh.run(&["audit", "--action", "api_key.created", "-o", "jsonl"]).await.expect(0).jsonl();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["target"]["id"], key_id.as_str());
    let first = sh.run(&["audit", "--limit", "1", "--json"]).await.expect(0).json();
    let cursor = first["next_cursor"].as_str().expect("more pages").to_owned();
    let rest =
        sh.run(&["audit", "--limit", "1", "--cursor", &cursor, "--all", "--json"]).await.expect(0).json();
    assert_eq!(rest["entries"].as_array().unwrap().len(), 2, "--all follows the cursor: {rest}");
    assert_eq!(rest["entries"][1]["action"], "service_account.created");
    let none = sh.run(&["audit", "--since", "2099-01-01T00:00:00Z", "--json"]).await.expect(0).json();
    assert_eq!(none["entries"], serde_json::json!([]));

    let table = sh.run(&["audit"]).await.expect(0);
    assert!(table.stdout.contains("ACTION") && table.stdout.contains("api_key.revoked"), "{table}");
    assert!(table.stdout.contains(&format!("service_account:{id}")), "{table}");
    let paged = sh.run(&["audit", "--limit", "1"]).await.expect(0);
    assert!(paged.stderr.contains("axp audit --cursor"), "{paged}");

    sh.run(&["audit", "--since", "yesterday"]).await.expect(2);
    sh.run(&["audit", "--workspace", "nope"]).await.expect(2);
    let token = sh.run(&["agents", "keys", "create", "--agent-id", &id, "--json"]).await.expect(0).json();
    let as_bot =
        Shell::new().env("AXP_URL", &server.url).env("AXP_API_KEY", token["token"].as_str().unwrap());
    let refused = as_bot.run(&["audit"]).await.expect(1);
    assert!(refused.stderr.contains("audit log"), "{refused}");
}
