//! Principals and aliases, and access requests, through the SDK (contract §6 "Principals,
//! aliases", "Access requests").

use axp_client::axp_core::access::Role;
use axp_client::axp_core::api::{
    AddMemberRequest, BindAliasRequest, CreateAccessRequest, CreatePrincipalRequest, ReviewAccessRequest,
};
use axp_client::axp_core::tenancy::{
    AccessRequestState, AccessRequestType, AliasStatus, AliasType, PrincipalStatus, PrincipalType,
    ReviewDecision,
};
use axp_core::ids::{AccessRequestId, AliasId, OrgId, PrincipalId, WorkspaceId};
use axp_test_util::TestServer;
use serde_json::json;

use crate::helpers::{http, obj};

fn status<T: std::fmt::Debug>(result: axp_client::Result<T>) -> u16 {
    result.expect_err("the call must fail").status().expect("an HTTP error")
}

fn bind(principal: PrincipalId, alias: &str) -> BindAliasRequest {
    BindAliasRequest {
        principal_id: principal,
        alias: alias.into(),
        alias_type: AliasType::Communication,
        metadata: None,
    }
}

fn review(decision: ReviewDecision) -> ReviewAccessRequest {
    ReviewAccessRequest {
        decision,
        reviewer_actor_id: "reviewer-1".into(),
        review_comment: Some("noted".into()),
    }
}

#[tokio::test]
async fn principals_and_aliases_bind_resolve_and_revoke() {
    let server = TestServer::spawn().await;
    let admin = server.client();
    let (org, ws) = (server.admin.tenant.org_id, server.admin.tenant.workspace_id);
    let request = CreatePrincipalRequest {
        org_id: org,
        workspace_id: ws,
        principal_type: PrincipalType::ServiceAgent,
        display_name: Some("Billing".into()),
        metadata: Some(obj(json!({"team": "finance"}))),
    };
    let principal = admin.create_principal(&request).await.unwrap();
    assert_eq!(
        (principal.org_id, principal.workspace_id, principal.status),
        (org, ws, PrincipalStatus::Active)
    );
    assert_eq!(admin.get_principal(principal.principal_id).await.unwrap(), principal);
    assert_eq!(status(admin.get_principal(PrincipalId::new()).await), 404);

    let alias = admin.bind_alias(&bind(principal.principal_id, "billing@finance")).await.unwrap();
    assert_eq!((alias.status, alias.revoked_at, alias.workspace_id), (AliasStatus::Active, None, ws));
    assert_eq!(status(admin.bind_alias(&bind(principal.principal_id, "billing@finance")).await), 409);
    assert_eq!(status(admin.bind_alias(&bind(PrincipalId::new(), "nobody-here")).await), 404);
    let found = admin.resolve_alias(org, ws, "billing@finance").await.unwrap();
    assert_eq!((found.alias, found.principal.principal_id), (alias.clone(), principal.principal_id));
    assert_eq!(found.principal.display_name.as_deref(), Some("Billing"));

    let revoked = admin.revoke_alias(alias.alias_id).await.unwrap();
    assert_eq!(revoked.status, AliasStatus::Revoked);
    assert!(revoked.revoked_at.is_some());
    assert_eq!(
        status(admin.resolve_alias(org, ws, "billing@finance").await),
        404,
        "a revoked alias resolves no more"
    );
    assert_eq!(status(admin.revoke_alias(AliasId::new()).await), 404);
    let rebound =
        admin.bind_alias(&bind(principal.principal_id, "billing@finance")).await.expect("the name is free");
    let listed = admin.list_aliases(org, ws).await.unwrap();
    assert_eq!(listed.iter().map(|a| a.alias_id).collect::<Vec<_>>(), [alias.alias_id, rebound.alias_id]);

    // Query and body checks.
    let base = &server.base_url;
    for path in [
        "/v1/aliases".to_owned(),
        format!("/v1/aliases?org_id={org}"),
        format!("/v1/aliases?org_id=nope&workspace_id={ws}"),
        format!("/v1/aliases/resolve?org_id={org}&workspace_id={ws}"),
    ] {
        let response =
            http().get(format!("{base}{path}")).header("x-api-key", &server.admin_key).send().await.unwrap();
        assert_eq!(response.status(), 422, "{path}");
    }
    let other_ws = format!("{base}/v1/aliases?org_id={org}&workspace_id={}", WorkspaceId::new());
    let response = http().get(other_ws).header("x-api-key", &server.admin_key).send().await.unwrap();
    assert_eq!(response.status(), 404, "a workspace that is not the organization's");
    for body in [
        json!({"workspace_id": ws, "principal_type": "user"}),
        json!({"org_id": org, "workspace_id": ws, "principal_type": "robot"}),
        json!({"org_id": org, "workspace_id": ws, "principal_type": "user", "display_name": ""}),
    ] {
        let response = http()
            .post(format!("{base}/v1/principals"))
            .header("x-api-key", &server.admin_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
    }
    let response = http()
        .post(format!("{base}/v1/aliases"))
        .header("x-api-key", &server.admin_key)
        .json(&json!({"principal_id": principal.principal_id, "alias": "ab", "alias_type": "service"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "an alias is 3 characters at least");
}

#[tokio::test]
async fn an_approved_join_request_gives_its_requester_the_role() {
    let server = TestServer::spawn().await;
    let admin = server.client();
    let org = server.admin.tenant.org_id;
    let (sa, key) = server.agent("newcomer", None).await;
    let newcomer = server.client_with_key(&key);
    assert_eq!(status(newcomer.list_members(org, None).await), 403, "no role yet");

    let mut ask =
        CreateAccessRequest::new(AccessRequestType::JoinOrganization, sa.service_account_id.to_string());
    ask.org_id = Some(org);
    ask.requested_role = Some(Role::SecurityAuditor);
    ask.justification = Some("audits".into());
    let pending = newcomer.create_access_request(&ask).await.unwrap();
    assert_eq!((pending.state, pending.org_id), (AccessRequestState::Pending, Some(org)));
    assert_eq!(
        newcomer.get_access_request(pending.access_request_id).await.unwrap(),
        pending,
        "the requester reads it"
    );
    assert_eq!(
        status(
            newcomer.review_access_request(pending.access_request_id, &review(ReviewDecision::Approve)).await
        ),
        403
    );

    let listed =
        admin.list_access_requests(Some(org), None, Some(AccessRequestState::Pending)).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.access_request_id).collect::<Vec<_>>(), [pending.access_request_id]);
    let approved = admin
        .review_access_request(pending.access_request_id, &review(ReviewDecision::Approve))
        .await
        .unwrap();
    assert_eq!(approved.state, AccessRequestState::Approved);
    assert_eq!(
        (approved.reviewer_actor_id.as_deref(), approved.review_comment.as_deref()),
        (Some("reviewer-1"), Some("noted"))
    );
    assert!(approved.reviewed_at.is_some());
    let again = admin
        .review_access_request(pending.access_request_id, &review(ReviewDecision::Reject))
        .await
        .unwrap_err();
    assert_eq!(again.status(), Some(409));
    assert_eq!(
        admin.get_access_request(pending.access_request_id).await.unwrap(),
        approved,
        "nothing changed"
    );

    // The role applies to the very next request.
    let members = newcomer.list_members(org, None).await.expect("a security_auditor reads the members");
    let mine = members.iter().find(|m| m.actor_id == sa.service_account_id.to_string()).unwrap();
    assert_eq!((mine.role, mine.workspace_id), (Role::SecurityAuditor, None));
    assert!(
        admin
            .list_access_requests(Some(org), None, Some(AccessRequestState::Pending))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn access_requests_are_validated_listed_per_caller_and_org_owner_needs_an_owner() {
    let server = TestServer::spawn().await;
    let admin = server.client();
    let org = server.admin.tenant.org_id;
    let (asker_sa, key) = server.agent("asker", None).await;
    let asker = server.client_with_key(&key);

    let mut no_org = CreateAccessRequest::new(AccessRequestType::JoinOrganization, "x");
    assert_eq!(status(asker.create_access_request(&no_org).await), 422, "join names its organization");
    no_org.org_id = Some(OrgId::new());
    assert_eq!(status(asker.create_access_request(&no_org).await), 404);
    let mut founding = CreateAccessRequest::new(AccessRequestType::CreateOrganization, "founder-1");
    founding.company_name = Some("Newco".into());
    let founding = asker.create_access_request(&founding).await.unwrap();
    assert_eq!(founding.org_id, None);
    let mut own =
        CreateAccessRequest::new(AccessRequestType::ElevatedRole, asker_sa.service_account_id.to_string());
    own.org_id = Some(org);
    let mine = asker.create_access_request(&own).await.unwrap();

    // The asker sees its own requests only; the admin its organization's, and the org-less ones.
    let seen = asker.list_access_requests(Some(org), None, None).await.unwrap();
    assert_eq!(seen.iter().map(|r| r.access_request_id).collect::<Vec<_>>(), [mine.access_request_id]);
    let all = admin.list_access_requests(None, None, None).await.unwrap();
    assert!(all.iter().any(|r| r.access_request_id == founding.access_request_id));
    assert_eq!(status(asker.get_access_request(founding.access_request_id).await), 404, "not its own");
    assert_eq!(status(admin.get_access_request(AccessRequestId::new()).await), 404);
    let waitlisted = admin
        .review_access_request(founding.access_request_id, &review(ReviewDecision::Waitlist))
        .await
        .unwrap();
    assert_eq!(waitlisted.state, AccessRequestState::Waitlisted);

    // Granting org_owner needs an owner, not an org_admin.
    let (admin_sa, admin_key) = server.agent("second-admin", None).await;
    let add = AddMemberRequest {
        org_id: None,
        workspace_id: None,
        actor_id: admin_sa.service_account_id.to_string(),
        role: Role::OrgAdmin,
        invited_by_actor_id: None,
    };
    admin.add_member(org, &add).await.unwrap();
    let org_admin = server.client_with_key(&admin_key);
    let mut crown = CreateAccessRequest::new(AccessRequestType::ElevatedRole, "heir");
    crown.org_id = Some(org);
    crown.requested_role = Some(Role::OrgOwner);
    let crown = asker.create_access_request(&crown).await.unwrap();
    assert_eq!(
        status(
            org_admin.review_access_request(crown.access_request_id, &review(ReviewDecision::Approve)).await
        ),
        403
    );
    org_admin
        .review_access_request(crown.access_request_id, &review(ReviewDecision::Reject))
        .await
        .expect("rejecting is fine");
    assert!(admin.list_members(org, None).await.unwrap().iter().all(|m| m.actor_id != "heir"));
}
