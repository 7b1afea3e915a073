//! Memberships and address grants: the roles and addresses a key's principal carries follow
//! every change at once, and count only in their own organization and workspace.

use axp_core::access::{Role, Roles};
use axp_core::ids::{MemberId, WorkspaceId};

use super::{T0, account, by, sa, tenant};
use crate::{Error, KeyHash, MemberUpdate, Principal, Store, generate_api_key};

/// A new service account of `p`'s workspace with a key; its token.
async fn keyed(store: &dyn Store, p: &Principal, name: &str) -> (crate::ServiceAccountRecord, String) {
    let sa = store.create_service_account(&p.tenant, account(p, name, name), &by()).await.unwrap();
    let (token, key) = generate_api_key(sa.service_account_id, T0, None);
    store.create_api_key(&p.tenant, sa.service_account_id, key, &by()).await.unwrap();
    (sa, token)
}

async fn roles(store: &dyn Store, token: &str) -> Roles {
    store.authenticate(&KeyHash::of(token), T0).await.unwrap().expect("a live key").roles
}

/// Adding, changing, suspending and removing a membership changes the key's roles at once; a
/// membership of the whole organization counts in its workspaces; duplicates conflict; another
/// organization's memberships count for nothing.
pub async fn memberships(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let (worker, token) = keyed(store, &p, "worker").await;
    let actor = worker.service_account_id.to_string();
    let (org, ws) = (p.tenant.org_id, p.tenant.workspace_id);
    assert_eq!(roles(store, &token).await, Roles::NONE, "agent-scoped until a membership");

    let member = store.add_member(org, Some(ws), &actor, Role::Member, T0, &by()).await.unwrap();
    assert_eq!((member.org_id, member.workspace_id, member.status.as_str()), (org, Some(ws), "active"));
    assert_eq!(roles(store, &token).await, Roles::of(Role::Member));
    let again = store.add_member(org, Some(ws), &actor, Role::OrgAdmin, T0, &by()).await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "one membership per actor and scope");
    let org_wide = store.add_member(org, None, &actor, Role::SecurityAuditor, T0, &by()).await.unwrap();
    assert_eq!(roles(store, &token).await, Roles::of(Role::Member).with(Role::SecurityAuditor));

    let promoted = MemberUpdate { role: Some(Role::WorkspaceAdmin), status: None };
    let changed =
        store.update_member(org, member.member_id, promoted, T0.plus_seconds(1), &by()).await.unwrap();
    assert_eq!((changed.role, changed.updated_at), (Role::WorkspaceAdmin, T0.plus_seconds(1)));
    assert!(roles(store, &token).await.administers_workspace(), "the new role applies at once");
    let suspended = MemberUpdate { role: None, status: Some("suspended".into()) };
    store.update_member(org, member.member_id, suspended, T0, &by()).await.unwrap();
    assert_eq!(roles(store, &token).await, Roles::of(Role::SecurityAuditor), "a suspended one gives nothing");
    assert_eq!(store.get_member(org, member.member_id).await.unwrap().status, "suspended");

    let listed = store.list_members(org, Some(ws), 100).await.unwrap();
    let ids: Vec<MemberId> = listed.iter().map(|m| m.member_id).collect();
    assert!(ids.contains(&member.member_id) && ids.contains(&org_wide.member_id));
    let elsewhere = store.list_members(org, Some(WorkspaceId::new()), 100).await.unwrap();
    assert!(elsewhere.iter().all(|m| m.workspace_id.is_none()), "another workspace sees only org-wide ones");
    assert!(
        store
            .list_members(q.tenant.org_id, None, 100)
            .await
            .unwrap()
            .iter()
            .all(|m| m.org_id == q.tenant.org_id)
    );

    assert_eq!(
        store.remove_member(org, org_wide.member_id, T0, &by()).await.unwrap().member_id,
        org_wide.member_id
    );
    assert!(matches!(store.remove_member(org, org_wide.member_id, T0, &by()).await, Err(Error::NotFound)));
    assert!(matches!(store.get_member(q.tenant.org_id, member.member_id).await, Err(Error::NotFound)));
    assert_eq!(roles(store, &token).await, Roles::NONE);

    // A membership in another organization, or a workspace of another organization, is no role.
    store.add_member(q.tenant.org_id, None, &actor, Role::OrgOwner, T0, &by()).await.unwrap();
    assert_eq!(roles(store, &token).await, Roles::NONE);
    let foreign_ws =
        store.add_member(org, Some(q.tenant.workspace_id), &actor, Role::OrgOwner, T0, &by()).await;
    assert!(matches!(foreign_ws, Err(Error::NotFound)), "a workspace of another organization");
}

/// Grants add addresses to a key's principal at once and are withdrawn at once; they belong to
/// one account of one workspace.
pub async fn grants(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let (dispatcher, token) = keyed(store, &p, "dispatcher").await;
    let id = dispatcher.service_account_id;
    let granted = store.set_grant(&p.tenant, id, "agent://o/w/billing", true, T0, &by()).await.unwrap();
    assert_eq!(granted, ["agent://o/w/billing"]);
    let twice = store.set_grant(&p.tenant, id, "agent://o/w/billing", true, T0, &by()).await.unwrap();
    assert_eq!(twice, granted, "granting again changes nothing");
    store.set_grant(&p.tenant, id, "agent://o/w/accounting", true, T0, &by()).await.unwrap();
    let principal = store.authenticate(&KeyHash::of(&token), T0).await.unwrap().unwrap();
    assert_eq!(principal.grants, ["agent://o/w/accounting", "agent://o/w/billing"]);
    assert!(principal.acts_as("agent://o/w/billing") && !principal.acts_as("agent://o/w/payroll"));

    let left = store.set_grant(&p.tenant, id, "agent://o/w/billing", false, T0, &by()).await.unwrap();
    assert_eq!(left, ["agent://o/w/accounting"]);
    let principal = store.authenticate(&KeyHash::of(&token), T0).await.unwrap().unwrap();
    assert_eq!(principal.grants, ["agent://o/w/accounting"], "withdrawn at once");

    let foreign = store.set_grant(&q.tenant, id, "agent://o/w/billing", true, T0, &by()).await;
    assert!(matches!(foreign, Err(Error::NotFound)), "another workspace's account");
    let admin = store.set_grant(&p.tenant, sa(&p), "agent://o/w/x", true, T0, &by()).await.unwrap();
    assert_eq!(admin, ["agent://o/w/x"], "each account has its own grants");
}
