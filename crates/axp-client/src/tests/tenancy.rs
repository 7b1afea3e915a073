//! The tenancy calls' methods, paths, queries and bodies: organizations, workspaces, members,
//! principals and aliases, access requests.

use std::sync::{Arc, Mutex};

use axp_core::access::Role;
use axp_core::api::{
    AddMemberRequest, BindAliasRequest, CreateAccessRequest, CreateOrganizationRequest,
    CreatePrincipalRequest, CreateWorkspaceRequest, ReviewAccessRequest, UpdateMemberRequest,
    UpdateOrganizationRequest, UpdateWorkspaceRequest,
};
use axp_core::ids::{AccessRequestId, AliasId, MemberId, OrgId, PrincipalId, WorkspaceId};
use axp_core::tenancy::{
    AccessRequestState, AccessRequestType, AliasType, Environment, PrincipalType, ReviewDecision,
};
use axum::Router;
use serde_json::{Value, json};

use super::spawn;

const AT: &str = "2026-02-28T00:00:10.000Z";

/// An answer of the right shape for each path.
fn answer(
    path: &str,
    org: OrgId,
    ws: WorkspaceId,
    member: MemberId,
    principal: PrincipalId,
    alias: AliasId,
) -> Value {
    let organization = json!({"org_id": org, "name": "Acme", "legal_name": null, "primary_domain": null,
        "status": "active", "metadata": {}, "created_at": AT, "updated_at": AT});
    let workspace = json!({"workspace_id": ws, "org_id": org, "name": "Prod", "environment": "production",
        "status": "active", "region": null, "created_at": AT, "updated_at": AT});
    let m = json!({"member_id": member, "org_id": org, "workspace_id": null, "actor_id": "user-1",
        "role": "member", "status": "active", "created_at": AT, "updated_at": AT});
    let pr = json!({"principal_id": principal, "org_id": org, "workspace_id": ws, "principal_type": "user",
        "display_name": null, "status": "active", "metadata": {}, "created_at": AT, "updated_at": AT});
    let a = json!({"alias_id": alias, "principal_id": principal, "org_id": org, "workspace_id": ws, "alias": "ada",
        "alias_type": "communication", "status": "active", "metadata": {}, "created_at": AT, "updated_at": AT,
        "revoked_at": null});
    let r = json!({"access_request_id": AccessRequestId::new(), "request_type": "join_organization",
        "state": "pending", "requester_actor_id": "user-1", "org_id": org, "workspace_id": null,
        "requested_role": null, "company_name": null, "justification": null, "reviewer_actor_id": null,
        "review_comment": null, "reviewed_at": null, "created_at": AT, "updated_at": AT});
    match path {
        p if p.contains("/members/") => {
            json!({"ok": true, "member": m, "removed": true, "org_id": org, "member_id": member, "removed_at": AT})
        }
        p if p.ends_with("/members") => json!({"ok": true, "member": m, "members": [m]}),
        p if p.contains("/workspaces") => {
            json!({"ok": true, "workspace": workspace, "workspaces": [workspace]})
        }
        p if p.starts_with("/v1/organizations") => {
            let mut detail = organization;
            detail["workspaces_count"] = json!(1);
            detail["members_count"] = json!(2);
            json!({"ok": true, "organization": detail})
        }
        p if p.starts_with("/v1/principals") => json!({"ok": true, "principal": pr}),
        "/v1/aliases/resolve" => json!({"ok": true, "resolution": {"alias": a,
            "principal": {"principal_id": principal, "principal_type": "user", "display_name": null, "status": "active"}}}),
        p if p.starts_with("/v1/aliases") => json!({"ok": true, "alias": a, "aliases": [a]}),
        _ => json!({"ok": true, "access_request": r, "access_requests": [r]}),
    }
}

#[tokio::test]
async fn every_tenancy_call_hits_its_path_with_its_body() {
    let (org, ws, member) = (OrgId::new(), WorkspaceId::new(), MemberId::new());
    let (principal, alias, request) = (PrincipalId::new(), AliasId::new(), AccessRequestId::new());
    let seen = Arc::new(Mutex::new(Vec::<(String, String, Value)>::new()));
    let record = seen.clone();
    let router =
        Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri, body: String| {
            let seen = record.clone();
            async move {
                let parsed: Value =
                    if body.is_empty() { Value::Null } else { serde_json::from_str(&body).unwrap() };
                seen.lock().unwrap().push((method.to_string(), uri.to_string(), parsed));
                axum::Json(answer(uri.path(), org, ws, member, principal, alias))
            }
        });
    let client = spawn(router).await;

    client
        .create_organization(&CreateOrganizationRequest { name: "Acme".into(), ..Default::default() })
        .await
        .unwrap();
    let detail = client.get_organization(org).await.unwrap();
    assert_eq!((detail.workspaces_count, detail.members_count), (1, 2));
    let rename = UpdateOrganizationRequest { name: Some("Acme 2".into()), ..Default::default() };
    client.update_organization(org, &rename).await.unwrap();
    let new_ws = CreateWorkspaceRequest {
        org_id: None,
        name: "Prod".into(),
        environment: Environment::Production,
        region: None,
    };
    client.create_workspace(org, &new_ws).await.unwrap();
    assert_eq!(client.list_workspaces(org).await.unwrap().len(), 1);
    client
        .update_workspace(
            org,
            ws,
            &UpdateWorkspaceRequest { region: Some("eu".into()), ..Default::default() },
        )
        .await
        .unwrap();
    client.list_members(org, Some(ws)).await.unwrap();
    let add = AddMemberRequest {
        org_id: None,
        workspace_id: None,
        actor_id: "user-1".into(),
        role: Role::Member,
        invited_by_actor_id: None,
    };
    client.add_member(org, &add).await.unwrap();
    client
        .update_member(org, member, &UpdateMemberRequest { role: Some(Role::OrgAdmin), ..Default::default() })
        .await
        .unwrap();
    assert!(client.remove_member(org, member).await.unwrap().removed);

    let new_principal = CreatePrincipalRequest {
        org_id: org,
        workspace_id: ws,
        principal_type: PrincipalType::User,
        display_name: None,
        metadata: None,
    };
    client.create_principal(&new_principal).await.unwrap();
    client.get_principal(principal).await.unwrap();
    let bind = BindAliasRequest {
        principal_id: principal,
        alias: "ada".into(),
        alias_type: AliasType::Communication,
        metadata: None,
    };
    client.bind_alias(&bind).await.unwrap();
    client.list_aliases(org, ws).await.unwrap();
    client.revoke_alias(alias).await.unwrap();
    assert_eq!(client.resolve_alias(org, ws, "ada x").await.unwrap().principal.principal_id, principal);

    let mut ask = CreateAccessRequest::new(AccessRequestType::JoinOrganization, "user-1");
    ask.org_id = Some(org);
    client.create_access_request(&ask).await.unwrap();
    client.list_access_requests(Some(org), None, Some(AccessRequestState::Pending)).await.unwrap();
    client.list_access_requests(None, None, None).await.unwrap();
    client.get_access_request(request).await.unwrap();
    let review = ReviewAccessRequest {
        decision: ReviewDecision::Approve,
        reviewer_actor_id: "me".into(),
        review_comment: None,
    };
    client.review_access_request(request, &review).await.unwrap();

    let seen = seen.lock().unwrap();
    let calls: Vec<String> = seen.iter().map(|(m, u, _)| format!("{m} {u}")).collect();
    assert_eq!(
        calls,
        [
            "POST /v1/organizations".to_owned(),
            format!("GET /v1/organizations/{org}"),
            format!("PATCH /v1/organizations/{org}"),
            format!("POST /v1/organizations/{org}/workspaces"),
            format!("GET /v1/organizations/{org}/workspaces"),
            format!("PATCH /v1/organizations/{org}/workspaces/{ws}"),
            format!("GET /v1/organizations/{org}/members?workspace_id={ws}"),
            format!("POST /v1/organizations/{org}/members"),
            format!("PATCH /v1/organizations/{org}/members/{member}"),
            format!("DELETE /v1/organizations/{org}/members/{member}"),
            "POST /v1/principals".to_owned(),
            format!("GET /v1/principals/{principal}"),
            "POST /v1/aliases".to_owned(),
            format!("GET /v1/aliases?org_id={org}&workspace_id={ws}"),
            format!("POST /v1/aliases/{alias}/revoke"),
            format!("GET /v1/aliases/resolve?org_id={org}&workspace_id={ws}&alias=ada+x"),
            "POST /v1/access-requests".to_owned(),
            format!("GET /v1/access-requests?org_id={org}&state=pending"),
            "GET /v1/access-requests".to_owned(),
            format!("GET /v1/access-requests/{request}"),
            format!("POST /v1/access-requests/{request}/review"),
        ]
    );
    // Bodies repeat the path's ids, as the SPEC requests do.
    assert_eq!(seen[0].2, json!({"name": "Acme"}));
    assert_eq!(seen[2].2, json!({"org_id": org, "name": "Acme 2"}));
    assert_eq!(seen[3].2, json!({"org_id": org, "name": "Prod", "environment": "production"}));
    assert_eq!(seen[5].2, json!({"org_id": org, "workspace_id": ws, "region": "eu"}));
    assert_eq!(seen[7].2, json!({"org_id": org, "actor_id": "user-1", "role": "member"}));
    assert_eq!(seen[8].2, json!({"org_id": org, "member_id": member, "role": "org_admin"}));
    assert_eq!(seen[10].2, json!({"org_id": org, "workspace_id": ws, "principal_type": "user"}));
    assert_eq!(seen[12].2, json!({"principal_id": principal, "alias": "ada", "alias_type": "communication"}));
    assert_eq!(
        seen[16].2,
        json!({"request_type": "join_organization", "requester_actor_id": "user-1", "org_id": org})
    );
    assert_eq!(seen[20].2, json!({"decision": "approve", "reviewer_actor_id": "me"}));
}
