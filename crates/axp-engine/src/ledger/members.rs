//! Memberships (roles) and address grants, and the access they give an authenticated caller
//! (`docs/access.md`). Every change drops the cached principals, so a new role or a removed one
//! applies to the very next request. An organization always keeps an active owner: removing,
//! demoting or deactivating its last one is refused ([`LAST_ORG_OWNER`]).

use axp_core::Timestamp;
use axp_core::access::Role;
use axp_core::api::{AuditTarget, Member, actions};
use axp_core::ids::{MemberId, OrgId, ServiceAccountId, WorkspaceId};
use axp_store::{Actor, Audit, Error, LAST_ORG_OWNER, MemberUpdate, Principal, Result, Tenant, Transaction};
use serde_json::Value;

use super::Ledger;
use super::audit::{At, details, record};

/// Records that `by` did `action` to `member`, with its state afterwards (and `before`, the
/// role and status it had, for an update).
pub(super) async fn audit_member(
    tx: &mut dyn Transaction,
    by: &Audit,
    action: &str,
    member: &Member,
    before: Option<&Member>,
    now: Timestamp,
) -> Result<()> {
    let mut details = details([
        ("actor_id", Value::String(member.actor_id.clone())),
        ("role", Value::String(member.role.as_str().to_owned())),
        ("status", Value::String(member.status.clone())),
    ]);
    if let Some(before) = before {
        details.insert("previous_role".into(), Value::String(before.role.as_str().to_owned()));
        details.insert("previous_status".into(), Value::String(before.status.clone()));
    }
    let at = At::org(member.org_id, member.workspace_id, now);
    record(tx, by, at, action, AuditTarget::new("member", member.member_id), details).await
}

/// `principal` with the roles its memberships give it in its workspace and, for a service
/// account, the addresses granted to it.
pub(super) async fn with_access(tx: &mut dyn Transaction, mut principal: Principal) -> Result<Principal> {
    let tenant = &principal.tenant;
    principal.roles =
        tx.roles_of(tenant.org_id, tenant.workspace_id, &principal.actor.id().to_string()).await?;
    if let Actor::ServiceAccount { id, .. } = principal.actor {
        principal.grants = tx.grants_of(tenant.workspace_id, id).await?;
    }
    Ok(principal)
}

/// Adds an active membership of `actor_id` with `role` in organization `org`, or only in its
/// workspace `ws` when given.
pub(super) async fn add(
    tx: &mut dyn Transaction,
    org: OrgId,
    ws: Option<WorkspaceId>,
    actor_id: &str,
    role: Role,
    now: Timestamp,
) -> Result<Member> {
    let member = Member {
        member_id: MemberId::new(),
        org_id: org,
        workspace_id: ws,
        actor_id: actor_id.to_owned(),
        role,
        status: "active".into(),
        created_at: now,
        updated_at: now,
    };
    tx.insert_member(&member).await?;
    tx.principals_changed();
    Ok(member)
}

/// Whether `member` is an active organization-wide `org_owner`: one of those an organization
/// must always keep one of.
fn owns(member: &Member) -> bool {
    member.role == Role::OrgOwner && member.status == "active" && member.workspace_id.is_none()
}

/// Errors with [`LAST_ORG_OWNER`] when `before` owns its organization, `after` (the same
/// membership changed, or `None`: removed) does not, and no other active owner is left. Run
/// after [`lock_owners`] in the same transaction.
fn keep_an_owner(owners: &[MemberId], before: &Member, after: Option<&Member>) -> Result<()> {
    let demoted = owns(before) && !after.is_some_and(owns);
    if demoted && owners.iter().all(|id| *id == before.member_id) {
        return Err(Error::Conflict { constraint: LAST_ORG_OWNER.into() });
    }
    Ok(())
}

/// The active owners of `org`, locked until the transaction ends. Taken before any membership
/// of `org` is locked, so concurrent changes lock in one order and the last owner is never
/// removed twice over.
async fn lock_owners(tx: &mut dyn Transaction, org: OrgId) -> Result<Vec<MemberId>> {
    tx.active_owners_for_update(org).await
}

/// Gives `actor_id` the `role` in `org` (or only in its workspace `ws`), active: changes the
/// membership it holds there, or adds one (an approved access request).
pub(super) async fn grant(
    tx: &mut dyn Transaction,
    org: OrgId,
    ws: Option<WorkspaceId>,
    actor_id: &str,
    role: Role,
    now: Timestamp,
    by: &Audit,
) -> Result<Member> {
    if let Some(ws) = ws {
        tx.workspace(org, ws, false).await?.ok_or(Error::NotFound)?;
    }
    let owners = lock_owners(tx, org).await?;
    let held = tx.memberships_of(org, actor_id).await?.into_iter().find(|m| m.workspace_id == ws);
    let Some(before) = held else {
        let member = add(tx, org, ws, actor_id, role, now).await?;
        audit_member(tx, by, actions::MEMBER_ADDED, &member, None, now).await?;
        return Ok(member);
    };
    let mut member = tx.member(org, before.member_id, true).await?.ok_or(Error::NotFound)?;
    member.role = role;
    member.status = "active".into();
    member.updated_at = now;
    keep_an_owner(&owners, &before, Some(&member))?;
    tx.update_member(&member).await?;
    tx.principals_changed();
    audit_member(tx, by, actions::MEMBER_UPDATED, &member, Some(&before), now).await?;
    Ok(member)
}

impl Ledger {
    pub(super) async fn add_member(
        &self,
        org: OrgId,
        ws: Option<WorkspaceId>,
        actor_id: &str,
        role: Role,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Member> {
        let args = (org, ws, actor_id.to_owned(), role, now, by.clone());
        self.write(args, |(org, ws, actor_id, role, now, by), tx| {
            Box::pin(async move {
                if let Some(ws) = ws
                    && tx.org_of(*ws).await? != *org
                {
                    return Err(Error::NotFound);
                }
                let member = add(tx, *org, *ws, actor_id, *role, *now).await?;
                audit_member(tx, by, actions::MEMBER_ADDED, &member, None, *now).await?;
                Ok(member)
            })
        })
        .await
    }

    pub(super) async fn update_member(
        &self,
        org: OrgId,
        id: MemberId,
        update: MemberUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Member> {
        self.write((org, id, update, now, by.clone()), |(org, id, update, now, by), tx| {
            Box::pin(async move {
                let owners = lock_owners(tx, *org).await?;
                let before = tx.member(*org, *id, true).await?.ok_or(Error::NotFound)?;
                let mut member = before.clone();
                if let Some(role) = update.role {
                    member.role = role;
                }
                if let Some(status) = &update.status {
                    member.status.clone_from(status);
                }
                member.updated_at = *now;
                keep_an_owner(&owners, &before, Some(&member))?;
                tx.update_member(&member).await?;
                tx.principals_changed();
                audit_member(tx, by, actions::MEMBER_UPDATED, &member, Some(&before), *now).await?;
                Ok(member)
            })
        })
        .await
    }

    pub(super) async fn remove_member(
        &self,
        org: OrgId,
        id: MemberId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Member> {
        self.write((org, id, now, by.clone()), |(org, id, now, by), tx| {
            Box::pin(async move {
                let owners = lock_owners(tx, *org).await?;
                let member = tx.member(*org, *id, true).await?.ok_or(Error::NotFound)?;
                keep_an_owner(&owners, &member, None)?;
                tx.delete_member(*org, *id).await?;
                tx.principals_changed();
                audit_member(tx, by, actions::MEMBER_REMOVED, &member, None, *now).await?;
                Ok(member)
            })
        })
        .await
    }

    pub(super) async fn get_member(&self, org: OrgId, id: MemberId) -> Result<Member> {
        self.read((org, id), |(org, id), tx| {
            Box::pin(async move { tx.member(*org, *id, false).await?.ok_or(Error::NotFound) })
        })
        .await
    }

    pub(super) async fn list_members(
        &self,
        org: OrgId,
        ws: Option<WorkspaceId>,
        limit: u32,
    ) -> Result<Vec<Member>> {
        self.read((org, ws, limit), |(org, ws, limit), tx| Box::pin(tx.list_members(*org, *ws, *limit))).await
    }

    pub(super) async fn set_grant(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        address: &str,
        granted: bool,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Vec<String>> {
        let args = (tenant.clone(), account, address.to_owned(), granted, now, by.clone());
        self.write(args, |(tenant, account, address, granted, now, by), tx| {
            Box::pin(async move {
                tx.service_account(tenant, *account, false).await?.ok_or(Error::NotFound)?;
                let ws = tenant.workspace_id;
                let had = tx.grants_of(ws, *account).await?.contains(address);
                if *granted {
                    tx.insert_grant(ws, *account, address).await?;
                } else {
                    tx.delete_grant(ws, *account, address).await?;
                }
                tx.principals_changed();
                // Only a change is an action: granting twice records one entry.
                if had != *granted {
                    let action = if *granted { actions::GRANT_ADDED } else { actions::GRANT_REMOVED };
                    let details = details([("agent_address", Value::String(address.clone()))]);
                    let target = AuditTarget::new("service_account", account);
                    record(tx, by, At::tenant(tenant, *now), action, target, details).await?;
                }
                tx.grants_of(ws, *account).await
            })
        })
        .await
    }
}
