//! Organizations, workspaces, the owner an organization keeps, the directory of principals and
//! aliases, and access requests (contract §6).

use axp_core::access::Role;
use axp_core::ids::{AccessRequestId, AliasId, MemberId, OrgId, PrincipalId, ServiceAccountId, WorkspaceId};
use axp_core::tenancy::{
    AccessRequestState, AccessRequestType, AliasStatus, AliasType, Environment, OrgStatus, PrincipalStatus,
    PrincipalType, ReviewDecision, WorkspaceStatus,
};
use serde_json::{Map, json};

use super::{T0, account, after_ms, obj, tenant};
use crate::{
    ALREADY_REVIEWED, AccessRequestFilter, Error, LAST_ORG_OWNER, MemberUpdate, NewAccessRequest, NewAlias,
    NewOrganization, NewPrincipal, NewWorkspace, OrganizationUpdate, Review, Store, Tenant, WorkspaceUpdate,
};

fn new_org(name: &str) -> NewOrganization {
    NewOrganization {
        name: name.into(),
        legal_name: None,
        primary_domain: None,
        metadata: obj(json!({"tier": "gold"})),
    }
}

fn new_workspace(name: &str) -> NewWorkspace {
    NewWorkspace { name: name.into(), environment: Environment::Sandbox, region: Some("eu-west".into()) }
}

fn is_conflict(result: Result<impl std::fmt::Debug, Error>, constraint: &str) -> bool {
    matches!(result, Err(Error::Conflict { constraint: c }) if c == constraint)
}

/// A name unique to this run, so the suite can share a database.
fn unique_name(prefix: &str) -> String {
    format!("{prefix} {}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// An organization's slug is derived from its name and never reused (a suffix when taken); its
/// creator owns it; a workspace's slug is unique in its organization; updates change only what
/// they name; lookups across workspaces find service accounts and tenants by id.
pub async fn organizations(store: &dyn Store) {
    let name = unique_name("Acme Corp");
    let owner = ServiceAccountId::new().to_string();
    let org = store.create_organization(&owner, new_org(&name), T0, &super::by()).await.unwrap();
    assert_eq!(
        (org.name.as_str(), org.status, org.created_at, org.updated_at),
        (name.as_str(), OrgStatus::Active, T0, T0)
    );
    assert_eq!(org.metadata, obj(json!({"tier": "gold"})));
    let twin = store.create_organization(&owner, new_org(&name), T0, &super::by()).await.unwrap();
    assert_ne!(twin.org_id, org.org_id, "the same name is another organization");

    let detail = store.get_organization(org.org_id).await.unwrap();
    assert_eq!((detail.workspaces_count, detail.members_count), (0, 1));
    assert_eq!(detail.organization, org);
    let members = store.memberships_of(org.org_id, &owner).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].role, members[0].workspace_id, members[0].status.as_str()),
        (Role::OrgOwner, None, "active")
    );
    assert!(store.memberships_of(org.org_id, "someone-else").await.unwrap().is_empty());
    assert!(matches!(store.get_organization(OrgId::new()).await, Err(Error::NotFound)));

    let ws = store
        .create_workspace(org.org_id, new_workspace("Main Ops"), after_ms(1), &super::by())
        .await
        .unwrap();
    assert_eq!(
        (ws.org_id, ws.environment, ws.status, ws.region.as_deref()),
        (org.org_id, Environment::Sandbox, WorkspaceStatus::Active, Some("eu-west"))
    );
    let ws2 = store
        .create_workspace(org.org_id, new_workspace("Main Ops"), after_ms(2), &super::by())
        .await
        .unwrap();
    let twin_ws = store
        .create_workspace(twin.org_id, new_workspace("Main Ops"), after_ms(3), &super::by())
        .await
        .unwrap();
    let slugs = |t: Tenant| (t.org_slug, t.workspace_slug);
    let (org_slug, ws_slug) = slugs(store.workspace_tenant(ws.workspace_id).await.unwrap());
    let expected = axp_core::tenancy::slug(&name, "org");
    assert_eq!((org_slug.as_str(), ws_slug.as_str()), (expected.as_str(), "main-ops"));
    let (_, ws2_slug) = slugs(store.workspace_tenant(ws2.workspace_id).await.unwrap());
    assert_eq!(ws2_slug, "main-ops-2", "a taken slug gets a suffix");
    let (twin_slug, twin_ws_slug) = slugs(store.workspace_tenant(twin_ws.workspace_id).await.unwrap());
    assert_eq!((twin_slug, twin_ws_slug), (format!("{expected}-2"), "main-ops".to_owned()));
    assert!(matches!(store.workspace_tenant(WorkspaceId::new()).await, Err(Error::NotFound)));
    assert!(matches!(
        store.create_workspace(OrgId::new(), new_workspace("Nowhere"), T0, &super::by()).await,
        Err(Error::NotFound)
    ));

    let listed = store.list_workspaces(org.org_id).await.unwrap();
    assert_eq!(listed, vec![ws.clone(), ws2.clone()], "oldest first, this organization's only");
    assert_eq!(store.get_organization(org.org_id).await.unwrap().workspaces_count, 2);

    let update = WorkspaceUpdate { status: Some(WorkspaceStatus::Suspended), ..Default::default() };
    let changed = store
        .update_workspace(org.org_id, ws.workspace_id, update, after_ms(10), &super::by())
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.status, changed.updated_at),
        ("Main Ops", WorkspaceStatus::Suspended, after_ms(10))
    );
    assert_eq!(changed.region, ws.region, "unnamed fields stay");
    let elsewhere = store
        .update_workspace(twin.org_id, ws.workspace_id, WorkspaceUpdate::default(), T0, &super::by())
        .await;
    assert!(matches!(elsewhere, Err(Error::NotFound)), "a workspace is changed through its own organization");

    let update = OrganizationUpdate {
        legal_name: Some("Acme Corporation Ltd".into()),
        status: Some(OrgStatus::Suspended),
        ..Default::default()
    };
    let changed = store.update_organization(org.org_id, update, after_ms(20), &super::by()).await.unwrap();
    assert_eq!(changed.legal_name.as_deref(), Some("Acme Corporation Ltd"));
    assert_eq!(
        (changed.name.as_str(), changed.status, changed.updated_at),
        (name.as_str(), OrgStatus::Suspended, after_ms(20))
    );
    assert_eq!(store.get_organization(org.org_id).await.unwrap().organization, changed);
    assert!(matches!(
        store.update_organization(OrgId::new(), OrganizationUpdate::default(), T0, &super::by()).await,
        Err(Error::NotFound)
    ));

    // A service account created in the new workspace is found by id alone.
    let tenant = store.workspace_tenant(ws2.workspace_id).await.unwrap();
    let (p, _) = super::tenant(store).await;
    let mut sa = account(&p, "first", "first");
    sa.agent_address = axp_core::AgentAddress::for_service_account(&tenant.scope(), "first").unwrap();
    let created = store.create_service_account(&tenant, sa, &super::by()).await.unwrap();
    assert_eq!(created.workspace_id, ws2.workspace_id);
    assert_eq!(created.agent_address, format!("agent://{}/main-ops-2/first", tenant.org_slug));
    assert_eq!(store.find_service_account(created.service_account_id).await.unwrap(), created);
    assert!(matches!(store.find_service_account(ServiceAccountId::new()).await, Err(Error::NotFound)));
}

/// An organization always keeps an active owner: its last one cannot be removed, demoted or
/// deactivated, while one of two can.
pub async fn last_owner(store: &dyn Store) {
    let org = store
        .create_organization("owner-a", new_org(&unique_name("Owned")), T0, &super::by())
        .await
        .unwrap()
        .org_id;
    let a = store.memberships_of(org, "owner-a").await.unwrap()[0].member_id;
    assert!(is_conflict(store.remove_member(org, a, T0, &super::by()).await, LAST_ORG_OWNER));
    let demote = MemberUpdate { role: Some(Role::OrgAdmin), status: None };
    assert!(is_conflict(store.update_member(org, a, demote.clone(), T0, &super::by()).await, LAST_ORG_OWNER));
    let suspend = MemberUpdate { role: None, status: Some("suspended".into()) };
    assert!(is_conflict(store.update_member(org, a, suspend, T0, &super::by()).await, LAST_ORG_OWNER));
    let same = MemberUpdate { role: Some(Role::OrgOwner), status: Some("active".into()) };
    store.update_member(org, a, same, after_ms(1), &super::by()).await.expect("staying an owner is fine");

    let b = store.add_member(org, None, "owner-b", Role::OrgOwner, T0, &super::by()).await.unwrap().member_id;
    let demoted = store.update_member(org, a, demote.clone(), after_ms(2), &super::by()).await.unwrap();
    assert_eq!(demoted.role, Role::OrgAdmin);
    assert!(
        is_conflict(store.remove_member(org, b, T0, &super::by()).await, LAST_ORG_OWNER),
        "b is the last owner now"
    );
    store
        .update_member(
            org,
            a,
            MemberUpdate { role: Some(Role::OrgOwner), status: None },
            after_ms(3),
            &super::by(),
        )
        .await
        .unwrap();
    let removed = store.remove_member(org, b, T0, &super::by()).await.unwrap();
    assert_eq!(removed.member_id, b);
    assert!(matches!(store.remove_member(org, b, T0, &super::by()).await, Err(Error::NotFound)));
    assert!(matches!(
        store.remove_member(org, MemberId::new(), T0, &super::by()).await,
        Err(Error::NotFound)
    ));
    assert_eq!(store.list_members(org, None, 10).await.unwrap().len(), 1);
}

/// Principals live in one workspace; an alias name is bound once among a workspace's active
/// aliases; a revoked alias resolves no more and frees its name.
pub async fn directory(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let new = NewPrincipal {
        principal_type: PrincipalType::User,
        display_name: Some("Ada".into()),
        metadata: obj(json!({"team": "ops"})),
    };
    let ada = store.create_principal(&p.tenant, new.clone(), T0).await.unwrap();
    assert_eq!((ada.org_id, ada.workspace_id), (p.tenant.org_id, p.tenant.workspace_id));
    assert_eq!((ada.status, ada.display_name.as_deref()), (PrincipalStatus::Active, Some("Ada")));
    assert_eq!(store.get_principal(ada.principal_id).await.unwrap(), ada);
    assert!(matches!(store.get_principal(PrincipalId::new()).await, Err(Error::NotFound)));
    let theirs = store.create_principal(&q.tenant, new, T0).await.unwrap();

    let alias = |name: &str| NewAlias {
        alias: name.into(),
        alias_type: AliasType::Communication,
        metadata: Map::new(),
    };
    let bound = store.bind_alias(ada.principal_id, alias("ada@ops"), after_ms(1)).await.unwrap();
    assert_eq!((bound.workspace_id, bound.principal_id), (p.tenant.workspace_id, ada.principal_id));
    assert_eq!((bound.status, bound.revoked_at), (AliasStatus::Active, None));
    assert!(matches!(
        store.bind_alias(ada.principal_id, alias("ada@ops"), T0).await,
        Err(Error::Conflict { .. })
    ));
    store.bind_alias(theirs.principal_id, alias("ada@ops"), T0).await.expect("another workspace's name");
    assert!(matches!(store.bind_alias(PrincipalId::new(), alias("x-y-z"), T0).await, Err(Error::NotFound)));

    let resolved = store.resolve_alias(p.tenant.workspace_id, "ada@ops").await.unwrap();
    assert_eq!(
        (resolved.alias.alias_id, resolved.principal.principal_id),
        (bound.alias_id, ada.principal_id)
    );
    assert!(matches!(store.resolve_alias(p.tenant.workspace_id, "nobody").await, Err(Error::NotFound)));
    assert_eq!(store.get_alias(bound.alias_id).await.unwrap(), bound);
    assert!(matches!(store.get_alias(AliasId::new()).await, Err(Error::NotFound)));

    let revoked = store.revoke_alias(bound.alias_id, after_ms(5)).await.unwrap();
    assert_eq!(
        (revoked.status, revoked.revoked_at, revoked.updated_at),
        (AliasStatus::Revoked, Some(after_ms(5)), after_ms(5))
    );
    let again = store.revoke_alias(bound.alias_id, after_ms(9)).await.unwrap();
    assert_eq!(again.revoked_at, Some(after_ms(5)), "revoking twice keeps the first time");
    assert!(matches!(store.resolve_alias(p.tenant.workspace_id, "ada@ops").await, Err(Error::NotFound)));
    let rebound = store
        .bind_alias(ada.principal_id, alias("ada@ops"), after_ms(10))
        .await
        .expect("the name is free again");
    assert_eq!(
        store.resolve_alias(p.tenant.workspace_id, "ada@ops").await.unwrap().alias.alias_id,
        rebound.alias_id
    );

    let listed = store.list_aliases(p.tenant.workspace_id, 10).await.unwrap();
    assert_eq!(listed.iter().map(|a| a.alias_id).collect::<Vec<_>>(), [bound.alias_id, rebound.alias_id]);
    assert_eq!(listed[0].status, AliasStatus::Revoked, "revoked ones are listed too");
    assert_eq!(store.list_aliases(p.tenant.workspace_id, 1).await.unwrap().len(), 1);
    assert_eq!(store.list_aliases(q.tenant.workspace_id, 10).await.unwrap().len(), 1);
}

/// Access requests are recorded pending and reviewed once; approving a membership request
/// grants it (or changes the membership held there); lists filter by organization, state and
/// requester.
pub async fn access_requests(store: &dyn Store) {
    let org = store
        .create_organization("ar-owner", new_org(&unique_name("Reviewed")), T0, &super::by())
        .await
        .unwrap()
        .org_id;
    let ws = store.create_workspace(org, new_workspace("Team"), T0, &super::by()).await.unwrap().workspace_id;
    let request =
        |t: AccessRequestType, who: &str, org: Option<OrgId>, ws: Option<WorkspaceId>| NewAccessRequest {
            request_type: t,
            requester_actor_id: who.into(),
            org_id: org,
            workspace_id: ws,
            requested_role: None,
            company_name: None,
            justification: Some("please".into()),
        };
    let join = request(AccessRequestType::JoinOrganization, "joiner", Some(org), Some(ws));
    let unknown = request(AccessRequestType::JoinOrganization, "joiner", Some(OrgId::new()), None);
    assert!(matches!(store.create_access_request(unknown, T0).await, Err(Error::NotFound)));
    let foreign_ws =
        request(AccessRequestType::JoinOrganization, "joiner", Some(org), Some(WorkspaceId::new()));
    assert!(matches!(store.create_access_request(foreign_ws, T0).await, Err(Error::NotFound)));

    let joined = store.create_access_request(join, T0).await.unwrap();
    assert_eq!(
        (joined.state, joined.reviewed_at, joined.created_at),
        (AccessRequestState::Pending, None, T0)
    );
    assert_eq!(store.get_access_request(joined.access_request_id).await.unwrap(), joined);
    assert!(matches!(store.get_access_request(AccessRequestId::new()).await, Err(Error::NotFound)));
    let mut elevate = request(AccessRequestType::ElevatedRole, "joiner", Some(org), Some(ws));
    elevate.requested_role = Some(Role::WorkspaceAdmin);
    let elevated = store.create_access_request(elevate, after_ms(1)).await.unwrap();
    let mut company = request(AccessRequestType::CreateOrganization, "founder", None, None);
    company.company_name = Some("Newco".into());
    let founding = store.create_access_request(company, after_ms(2)).await.unwrap();

    let list = |f: AccessRequestFilter| async move {
        store
            .list_access_requests(f)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.access_request_id)
            .collect::<Vec<_>>()
    };
    let all = AccessRequestFilter { org_id: Some(org), limit: 10, ..Default::default() };
    assert_eq!(
        list(all.clone()).await,
        [elevated.access_request_id, joined.access_request_id],
        "newest first"
    );
    let mine = AccessRequestFilter { requester: Some("founder".into()), limit: 10, ..Default::default() };
    assert_eq!(list(mine.clone()).await, [founding.access_request_id]);
    let reviewer = AccessRequestFilter {
        requester: Some("nobody".into()),
        orgless: true,
        limit: 10,
        ..Default::default()
    };
    assert!(list(reviewer).await.contains(&founding.access_request_id), "requests naming no organization");

    let review = |decision, by: &str| Review {
        decision,
        reviewer_actor_id: by.into(),
        review_comment: Some("ok".into()),
    };
    let approved = store
        .review_access_request(
            joined.access_request_id,
            review(ReviewDecision::Approve, "ar-owner"),
            after_ms(5),
            &super::by(),
        )
        .await
        .unwrap();
    assert_eq!((approved.state, approved.reviewed_at), (AccessRequestState::Approved, Some(after_ms(5))));
    assert_eq!(
        (approved.reviewer_actor_id.as_deref(), approved.review_comment.as_deref()),
        (Some("ar-owner"), Some("ok"))
    );
    let held = store.memberships_of(org, "joiner").await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].role, held[0].workspace_id),
        (Role::Member, Some(ws)),
        "the default role, in the workspace asked"
    );
    assert!(is_conflict(
        store
            .review_access_request(
                joined.access_request_id,
                review(ReviewDecision::Reject, "x"),
                T0,
                &super::by()
            )
            .await,
        ALREADY_REVIEWED
    ));
    assert_eq!(
        store.get_access_request(joined.access_request_id).await.unwrap(),
        approved,
        "nothing written"
    );

    store
        .review_access_request(
            elevated.access_request_id,
            review(ReviewDecision::Approve, "ar-owner"),
            after_ms(6),
            &super::by(),
        )
        .await
        .unwrap();
    let held = store.memberships_of(org, "joiner").await.unwrap();
    assert_eq!(held.len(), 1, "the membership held there changes");
    assert_eq!(held[0].role, Role::WorkspaceAdmin);

    let waitlisted = store
        .review_access_request(
            founding.access_request_id,
            review(ReviewDecision::Waitlist, "ar-owner"),
            after_ms(7),
            &super::by(),
        )
        .await
        .unwrap();
    assert_eq!(waitlisted.state, AccessRequestState::Waitlisted);
    let pending = AccessRequestFilter { state: Some(AccessRequestState::Pending), ..all };
    assert!(list(pending).await.is_empty());
    assert!(matches!(
        store
            .review_access_request(
                AccessRequestId::new(),
                review(ReviewDecision::Approve, "x"),
                T0,
                &super::by()
            )
            .await,
        Err(Error::NotFound)
    ));
    let mut rejected = request(AccessRequestType::JoinOrganization, "stranger", Some(org), None);
    rejected.requested_role = Some(Role::OrgAdmin);
    let rejected = store.create_access_request(rejected, T0).await.unwrap();
    store
        .review_access_request(
            rejected.access_request_id,
            review(ReviewDecision::Reject, "ar-owner"),
            T0,
            &super::by(),
        )
        .await
        .unwrap();
    assert!(store.memberships_of(org, "stranger").await.unwrap().is_empty(), "a rejection grants nothing");
}
