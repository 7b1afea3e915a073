//! `orgs create|show|update`, `workspaces create|list|update`, `members list|add|update|remove`,
//! and a new workspace's first agent and key (`agents register --workspace-id`).

use crate::helpers::{Server, Shell, assert_snapshot};

#[tokio::test]
async fn an_organization_with_a_workspace_its_first_key_and_members() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);

    // People get the new id alone on stdout.
    let created =
        sh.run(&["orgs", "create", "--name", "Acme Corp", "--legal-name", "Acme Ltd"]).await.expect(0);
    let org = created.stdout.trim().to_owned();
    assert!(uuid::Uuid::parse_str(&org).is_ok(), "{created}");
    let shown = sh.run(&["orgs", "show", &org, "--json"]).await.expect(0);
    assert_snapshot("orgs_show", &shown.json());
    let table = sh.run(&["orgs", "show", &org]).await.expect(0);
    assert!(table.stdout.contains("Acme Corp") && table.stdout.contains("workspaces"), "{table}");
    let own = sh.run(&["orgs", "show", "--json"]).await.expect(0).json();
    assert_eq!(own["name"], "default", "without an id: the key's own organization");
    let updated = sh.run(&["orgs", "update", &org, "--status", "suspended", "--json"]).await.expect(0).json();
    assert_eq!(
        (updated["status"].as_str(), updated["name"].as_str()),
        (Some("suspended"), Some("Acme Corp"))
    );
    sh.run(&["orgs", "update", &org, "--status", "gone"]).await.expect(2);
    sh.run(&["orgs", "show", "not-an-id"]).await.expect(2);
    sh.run(&["orgs", "show", &uuid::Uuid::new_v4().to_string()]).await.expect(1);

    let ws = sh
        .run(&["workspaces", "create", "--org-id", &org, "--name", "Prod", "--environment", "production"])
        .await
        .expect(0);
    let ws = ws.stdout.trim().to_owned();
    let listed = sh.run(&["workspaces", "list", "--org-id", &org, "--json"]).await.expect(0);
    assert_snapshot("workspaces_list", &listed.json());
    let table = sh.run(&["workspaces", "ls", "--org-id", &org]).await.expect(0);
    assert!(table.stdout.starts_with("WORKSPACE_ID") && table.stdout.contains("production"), "{table}");
    let changed = sh
        .run(&["workspaces", "update", &ws, "--org-id", &org, "--region", "eu-west-1", "--json"])
        .await
        .expect(0);
    assert_eq!(changed.json()["region"], "eu-west-1");
    sh.run(&["workspaces", "create", "--org-id", &org, "--name", "Qa", "--environment", "qa"])
        .await
        .expect(2);

    // The new workspace's first agent and key.
    let agent = sh
        .run(&["agents", "register", "--workspace-id", &ws, "--name", "ops", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(agent["agent_address"], "agent://acme-corp/prod/ops");
    let id = agent["service_account_id"].as_str().unwrap();
    let key = sh.run(&["agents", "keys", "create", "--agent-id", id, "--json"]).await.expect(0).json();
    let as_ops = Shell::new().env("AXP_URL", &server.url).env("AXP_API_KEY", key["token"].as_str().unwrap());
    let me = as_ops.run(&["whoami", "--json"]).await.expect(0).json();
    assert_eq!(me["service_account"]["agent_address"], "agent://acme-corp/prod/ops");
    as_ops.run(&["workspaces", "list"]).await.expect(1);

    // Members.
    let member = sh
        .run(&[
            "members",
            "add",
            "--org-id",
            &org,
            "--actor-id",
            "user-1",
            "--role",
            "member",
            "--workspace-id",
            &ws,
        ])
        .await
        .expect(0);
    let member = member.stdout.trim().to_owned();
    let members = sh.run(&["members", "list", "--org-id", &org, "--json"]).await.expect(0).json();
    let roles: Vec<&str> = members.as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["org_owner", "member"]);
    let table = sh.run(&["members", "ls", "--org-id", &org]).await.expect(0);
    assert!(table.stdout.starts_with("MEMBER_ID") && table.stdout.contains("user-1"), "{table}");
    let promoted = sh
        .run(&["members", "update", &member, "--org-id", &org, "--role", "workspace_admin", "--json"])
        .await
        .expect(0);
    assert_snapshot("members_update", &promoted.json());
    sh.run(&["members", "update", &member, "--org-id", &org]).await.expect(2);
    sh.run(&["members", "add", "--org-id", &org, "--actor-id", "x", "--role", "boss"]).await.expect(2);
    let removed = sh.run(&["members", "remove", &member, "--org-id", &org, "--json"]).await.expect(0).json();
    assert_eq!(removed["removed"], true);
    let owner = members[0]["member_id"].as_str().unwrap();
    let last = sh.run(&["members", "remove", owner, "--org-id", &org]).await.expect(1);
    assert!(last.stderr.contains("409"), "{last}");
}
