//! Organizations, workspaces and members through the SDK (contract §6 "Organizations"), and the
//! first key of a new workspace: created by an org admin, working, and seeing only its workspace.

use axp_client::CreateServiceAccountRequest;
use axp_client::axp_core::access::Role;
use axp_client::axp_core::api::{
    AddMemberRequest, CreateOrganizationRequest, CreateWorkspaceRequest, UpdateMemberRequest,
    UpdateOrganizationRequest, UpdateWorkspaceRequest,
};
use axp_client::axp_core::tenancy::{Environment, MemberStatus, OrgStatus, WorkspaceStatus};
use axp_core::ids::{OrgId, WorkspaceId};
use axp_test_util::TestServer;
use serde_json::json;

use crate::helpers::{http, notify, obj};

fn org_request(name: &str) -> CreateOrganizationRequest {
    CreateOrganizationRequest { name: name.into(), ..Default::default() }
}

fn workspace_request(name: &str) -> CreateWorkspaceRequest {
    CreateWorkspaceRequest {
        org_id: None,
        name: name.into(),
        environment: Environment::Production,
        region: None,
    }
}

fn member_request(actor: &str, role: Role, ws: Option<WorkspaceId>) -> AddMemberRequest {
    AddMemberRequest {
        org_id: None,
        workspace_id: ws,
        actor_id: actor.into(),
        role,
        invited_by_actor_id: None,
    }
}

/// The status of a failed SDK call.
fn status<T: std::fmt::Debug>(result: axp_client::Result<T>) -> u16 {
    result.expect_err("the call must fail").status().expect("an HTTP error")
}

/// A raw `method path` with `key` and a JSON body; its status and body.
async fn raw(
    server: &TestServer,
    key: &str,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = http()
        .request(method.parse().unwrap(), format!("{}{path}", server.base_url))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn organizations_and_workspaces_are_created_read_and_changed() {
    let server = TestServer::spawn().await;
    let admin = server.client();
    let mut request = org_request("Acme Corp");
    request.legal_name = Some("Acme Corporation".into());
    request.metadata = Some(obj(json!({"tier": "gold"})));
    let org = admin.create_organization(&request).await.unwrap();
    assert_eq!((org.name.as_str(), org.status), ("Acme Corp", OrgStatus::Active));
    assert_eq!(org.legal_name.as_deref(), Some("Acme Corporation"));

    let detail = admin.get_organization(org.org_id).await.unwrap();
    assert_eq!((detail.workspaces_count, detail.members_count), (0, 1), "the creator owns it");
    let members = admin.list_members(org.org_id, None).await.unwrap();
    assert_eq!(members[0].actor_id, server.admin.actor.id().to_string());
    assert_eq!((members[0].role, members[0].workspace_id), (Role::OrgOwner, None));

    let ws = admin.create_workspace(org.org_id, &workspace_request("Prod EU")).await.unwrap();
    assert_eq!(
        (ws.org_id, ws.environment, ws.status),
        (org.org_id, Environment::Production, WorkspaceStatus::Active)
    );
    let again = admin.create_workspace(org.org_id, &workspace_request("Prod EU")).await.unwrap();
    assert_eq!(admin.list_workspaces(org.org_id).await.unwrap().len(), 2);
    assert_eq!(admin.get_organization(org.org_id).await.unwrap().workspaces_count, 2);

    // Slugs come from names; a taken one gets a suffix (seen in agent addresses).
    let twin = admin.create_organization(&org_request("Acme Corp")).await.unwrap();
    let twin_ws = admin.create_workspace(twin.org_id, &workspace_request("Prod EU")).await.unwrap();
    for (ws, address) in [
        (ws.workspace_id, "agent://acme-corp/prod-eu/ops"),
        (again.workspace_id, "agent://acme-corp/prod-eu-2/ops"),
        (twin_ws.workspace_id, "agent://acme-corp-2/prod-eu/ops"),
    ] {
        let sa = admin
            .create_service_account(&CreateServiceAccountRequest {
                workspace_id: Some(ws),
                name: "ops".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(sa.agent_address, address);
    }

    let update = UpdateOrganizationRequest {
        primary_domain: Some("acme.example".into()),
        status: Some(OrgStatus::Suspended),
        ..Default::default()
    };
    let changed = admin.update_organization(org.org_id, &update).await.unwrap();
    assert_eq!(
        (changed.primary_domain.as_deref(), changed.status),
        (Some("acme.example"), OrgStatus::Suspended)
    );
    assert_eq!(changed.name, "Acme Corp", "unnamed fields stay");
    let update = UpdateWorkspaceRequest {
        name: Some("Prod Europe".into()),
        region: Some("eu-west-1".into()),
        ..Default::default()
    };
    let renamed = admin.update_workspace(org.org_id, ws.workspace_id, &update).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.region.as_deref()), ("Prod Europe", Some("eu-west-1")));
    let moved = admin.update_workspace(twin.org_id, ws.workspace_id, &update).await;
    assert_eq!(status(moved), 404, "a workspace is reached through its own organization");

    // The wire shapes: exactly the schemas' fields.
    let key = &server.admin_key;
    let path = format!("/v1/organizations/{}", org.org_id);
    let (code, body) = raw(&server, key, "GET", &path, json!({})).await;
    assert_eq!(code, 200);
    let mut fields: Vec<_> = body["organization"].as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "created_at",
            "legal_name",
            "members_count",
            "metadata",
            "name",
            "org_id",
            "primary_domain",
            "status",
            "updated_at",
            "workspaces_count"
        ]
    );
    assert_eq!(body["ok"], true);
}

#[tokio::test]
async fn bodies_are_validated_and_unknown_organizations_are_404() {
    let server = TestServer::spawn().await;
    let admin = server.client();
    let key = &server.admin_key;
    let org = admin.create_organization(&org_request("Checked")).await.unwrap().org_id;
    for (method, path, body) in [
        ("POST", "/v1/organizations".to_owned(), json!({"name": "x"})),
        ("POST", "/v1/organizations".to_owned(), json!({"legal_name": "No Name"})),
        ("PATCH", format!("/v1/organizations/{org}"), json!({"status": "gone"})),
        ("PATCH", format!("/v1/organizations/{org}"), json!({"org_id": OrgId::new()})),
        (
            "POST",
            format!("/v1/organizations/{org}/workspaces"),
            json!({"name": "ok name", "environment": "qa"}),
        ),
        ("POST", format!("/v1/organizations/{org}/workspaces"), json!({"environment": "sandbox"})),
        ("POST", format!("/v1/organizations/{org}/members"), json!({"actor_id": "a", "role": "boss"})),
        (
            "POST",
            format!("/v1/organizations/{org}/members"),
            json!({"actor_id": "a", "role": "org_admin", "workspace_id": WorkspaceId::new()}),
        ),
        (
            "POST",
            format!("/v1/organizations/{org}/members"),
            json!({"org_id": OrgId::new(), "actor_id": "a", "role": "member"}),
        ),
    ] {
        let (code, body) = raw(&server, key, method, &path, body.clone()).await;
        assert_eq!(code, 422, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "validation_error");
    }
    for path in [format!("/v1/organizations/{}", OrgId::new()), "/v1/organizations/not-a-uuid".into()] {
        assert_eq!(raw(&server, key, "GET", &path, json!({})).await.0, 404);
    }
    let ws_path = format!("/v1/organizations/{org}/workspaces/{}", WorkspaceId::new());
    assert_eq!(raw(&server, key, "PATCH", &ws_path, json!({"name": "nope"})).await.0, 404);
    let foreign_ws =
        json!({"actor_id": "a", "role": "member", "workspace_id": server.admin.tenant.workspace_id});
    let (code, _) = raw(&server, key, "POST", &format!("/v1/organizations/{org}/members"), foreign_ws).await;
    assert_eq!(code, 404, "a workspace of another organization");
    let unknown_ws = json!({"actor_id": "a", "role": "member", "workspace_id": WorkspaceId::new()});
    let (code, _) = raw(&server, key, "POST", &format!("/v1/organizations/{org}/members"), unknown_ws).await;
    assert_eq!(code, 404, "an unknown workspace");
    assert_eq!(admin.list_members(org, None).await.unwrap().len(), 1, "nothing was added");
}

#[tokio::test]
async fn an_org_admin_gives_a_new_workspace_its_first_key_which_sees_only_that_workspace() {
    let server = TestServer::spawn().await;
    let admin = server.client();
    let mine = admin.create_intent(&notify("agent://default/default/worker"), None).await.unwrap().intent_id;
    let org = admin.create_organization(&org_request("Globex")).await.unwrap().org_id;
    let ws = admin.create_workspace(org, &workspace_request("Main")).await.unwrap().workspace_id;

    let account = admin
        .create_service_account(&CreateServiceAccountRequest {
            org_id: Some(org),
            workspace_id: Some(ws),
            name: "ops".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((account.org_id, account.workspace_id), (org, ws));
    assert_eq!(account.agent_address, "agent://globex/main/ops");
    assert_eq!(admin.get_service_account(account.service_account_id).await.unwrap(), account);
    let key = admin.create_api_key(account.service_account_id).await.unwrap();
    let token = key.token.clone().expect("shown once");
    let second = admin.create_api_key(account.service_account_id).await.unwrap();
    let revoked = admin.revoke_api_key(account.service_account_id, second.key_id).await.unwrap();
    assert_eq!(revoked.status, "revoked");

    let ops = server.client_with_key(&token);
    assert_eq!(ops.whoami().await.unwrap().agent_address, "agent://globex/main/ops");
    let theirs = ops.create_intent(&notify("worker"), None).await.unwrap();
    let intent = ops.get_intent(theirs.intent_id).await.unwrap();
    assert_eq!(
        (intent.from_agent.as_str(), intent.to_agent.as_str()),
        ("agent://globex/main/ops", "agent://globex/main/worker")
    );
    assert_eq!(status(ops.get_intent(mine).await), 404, "the default workspace's intent is not its");
    assert_eq!(
        status(admin.get_intent(theirs.intent_id).await),
        404,
        "nor is its intent the default workspace's"
    );
    let listed = ops.list_intents(&[], None, None).await.unwrap();
    assert_eq!(listed.iter().map(|i| i.intent_id).collect::<Vec<_>>(), [theirs.intent_id]);
    assert_eq!(status(ops.get_service_account(server.admin.actor.service_account().unwrap()).await), 404);
    // An agent key reads nothing of its organization, and another one is unknown to it.
    assert_eq!(status(ops.get_organization(org).await), 403);
    assert_eq!(status(ops.get_organization(server.admin.tenant.org_id).await), 404);
    assert_eq!(status(ops.create_workspace(org, &workspace_request("Mine")).await), 403);

    // Another workspace is not reachable by a key without org admin there.
    let (member_sa, member_key) = server.agent("member-bot", None).await;
    let as_member = member_request(&member_sa.service_account_id.to_string(), Role::Member, None);
    admin.add_member(server.admin.tenant.org_id, &as_member).await.unwrap();
    let member = server.client_with_key(&member_key);
    let foreign =
        CreateServiceAccountRequest { workspace_id: Some(ws), name: "sneaky".into(), ..Default::default() };
    assert_eq!(status(member.create_service_account(&foreign).await), 404);
    assert_eq!(status(member.create_api_key(account.service_account_id).await), 404);
    let other_org =
        CreateServiceAccountRequest { org_id: Some(org), name: "no-ws".into(), ..Default::default() };
    assert_eq!(
        status(admin.create_service_account(&other_org).await),
        422,
        "another organization needs a workspace"
    );
    let listed = admin.list_members(org, None).await.unwrap();
    assert_eq!(listed.len(), 1, "nothing changed in Globex");
}

#[tokio::test]
async fn members_follow_the_role_rules_and_an_organization_keeps_its_owner() {
    let server = TestServer::spawn().await;
    let admin = server.client();
    let org = admin.create_organization(&org_request("Initech")).await.unwrap().org_id;
    let ws = admin.create_workspace(org, &workspace_request("Dev")).await.unwrap().workspace_id;
    let other_ws = admin.create_workspace(org, &workspace_request("Ops")).await.unwrap().workspace_id;
    let owner_member = admin.list_members(org, None).await.unwrap()[0].clone();

    let added = admin.add_member(org, &member_request("user-1", Role::Member, Some(ws))).await.unwrap();
    assert_eq!((added.role, added.workspace_id, added.status.as_str()), (Role::Member, Some(ws), "active"));
    assert_eq!(status(admin.add_member(org, &member_request("user-1", Role::Member, Some(ws))).await), 409);
    admin.add_member(org, &member_request("user-2", Role::BillingViewer, Some(other_ws))).await.unwrap();
    let in_ws: Vec<_> =
        admin.list_members(org, Some(ws)).await.unwrap().into_iter().map(|m| m.actor_id).collect();
    assert_eq!(
        in_ws,
        [owner_member.actor_id.clone(), "user-1".to_owned()],
        "the workspace's and the organization-wide"
    );

    // A workspace_admin manages its own workspace's memberships only, below the org roles.
    let (sa, key) = server.agent("ws-admin", None).await;
    admin
        .add_member(org, &member_request(&sa.service_account_id.to_string(), Role::WorkspaceAdmin, Some(ws)))
        .await
        .unwrap();
    let ws_admin = server.client_with_key(&key);
    ws_admin.add_member(org, &member_request("user-3", Role::Member, Some(ws))).await.unwrap();
    let promote = UpdateMemberRequest { role: Some(Role::WorkspaceAdmin), ..Default::default() };
    ws_admin.update_member(org, added.member_id, &promote).await.unwrap();
    assert_eq!(
        status(ws_admin.add_member(org, &member_request("user-4", Role::Member, Some(other_ws))).await),
        403
    );
    assert_eq!(status(ws_admin.add_member(org, &member_request("user-4", Role::Member, None)).await), 403);
    assert_eq!(status(ws_admin.add_member(org, &member_request("user-4", Role::OrgAdmin, None)).await), 403);
    let to_org_admin = UpdateMemberRequest { role: Some(Role::OrgAdmin), ..Default::default() };
    assert_eq!(
        status(ws_admin.update_member(org, added.member_id, &to_org_admin).await),
        422,
        "org roles are organization-wide"
    );
    assert_eq!(status(ws_admin.remove_member(org, owner_member.member_id).await), 403);
    ws_admin.get_organization(org).await.expect("any role reads the organization");

    // Only an owner grants or takes away org_owner; an org_admin does everything else.
    let (sa2, key2) = server.agent("org-admin", None).await;
    admin
        .add_member(org, &member_request(&sa2.service_account_id.to_string(), Role::OrgAdmin, None))
        .await
        .unwrap();
    let org_admin = server.client_with_key(&key2);
    assert_eq!(status(org_admin.add_member(org, &member_request("user-5", Role::OrgOwner, None)).await), 403);
    assert_eq!(status(org_admin.remove_member(org, owner_member.member_id).await), 403);
    org_admin.add_member(org, &member_request("user-5", Role::OrgAdmin, None)).await.unwrap();
    let co_owner = admin.add_member(org, &member_request("user-6", Role::OrgOwner, None)).await.unwrap();

    // The last active owner stays.
    let demote = UpdateMemberRequest { role: Some(Role::OrgAdmin), ..Default::default() };
    admin.update_member(org, co_owner.member_id, &demote).await.unwrap();
    assert_eq!(status(admin.update_member(org, owner_member.member_id, &demote).await), 409);
    let suspend = UpdateMemberRequest { status: Some(MemberStatus::Suspended), ..Default::default() };
    assert_eq!(status(admin.update_member(org, owner_member.member_id, &suspend).await), 409);
    let error = admin.remove_member(org, owner_member.member_id).await.unwrap_err();
    assert_eq!(
        (error.status(), error.code().map(|c| c.as_str())),
        (Some(409), Some("invalid_state_transition"))
    );

    let removed = admin.remove_member(org, added.member_id).await.unwrap();
    assert_eq!((removed.removed, removed.org_id, removed.member_id), (true, org, added.member_id));
    assert_eq!(status(admin.remove_member(org, added.member_id).await), 404);
    let members = admin.list_members(org, None).await.unwrap();
    assert!(members.iter().all(|m| m.member_id != added.member_id));
    let owner = members.iter().find(|m| m.member_id == owner_member.member_id).unwrap();
    assert_eq!((owner.role, owner.status.as_str()), (Role::OrgOwner, "active"));
}
