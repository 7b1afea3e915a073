//! Memberships (roles) and address grants, and the access they give an authenticated caller
//! (`docs/access.md`). Every change drops the cached principals, so a new role or a removed one
//! applies to the very next request.

use axp_core::Timestamp;
use axp_core::access::Role;
use axp_core::api::Member;
use axp_core::ids::{MemberId, OrgId, ServiceAccountId, WorkspaceId};
use axp_store::{Actor, Error, MemberUpdate, Principal, Result, Tenant, Transaction};

use super::Ledger;

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

impl Ledger {
    pub(super) async fn add_member(
        &self,
        org: OrgId,
        ws: Option<WorkspaceId>,
        actor_id: &str,
        role: Role,
        now: Timestamp,
    ) -> Result<Member> {
        self.write((org, ws, actor_id.to_owned(), role, now), |(org, ws, actor_id, role, now), tx| {
            Box::pin(async move {
                if let Some(ws) = ws
                    && tx.org_of(*ws).await? != *org
                {
                    return Err(Error::NotFound);
                }
                add(tx, *org, *ws, actor_id, *role, *now).await
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
    ) -> Result<Member> {
        self.write((org, id, update, now), |(org, id, update, now), tx| {
            Box::pin(async move {
                let mut member = tx.member(*org, *id, true).await?.ok_or(Error::NotFound)?;
                if let Some(role) = update.role {
                    member.role = role;
                }
                if let Some(status) = &update.status {
                    member.status.clone_from(status);
                }
                member.updated_at = *now;
                tx.update_member(&member).await?;
                tx.principals_changed();
                Ok(member)
            })
        })
        .await
    }

    pub(super) async fn remove_member(&self, org: OrgId, id: MemberId) -> Result<Member> {
        self.write((org, id), |(org, id), tx| {
            Box::pin(async move {
                let member = tx.member(*org, *id, true).await?.ok_or(Error::NotFound)?;
                tx.delete_member(*org, *id).await?;
                tx.principals_changed();
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
    ) -> Result<Vec<String>> {
        let args = (tenant.clone(), account, address.to_owned(), granted);
        self.write(args, |(tenant, account, address, granted), tx| {
            Box::pin(async move {
                tx.service_account(tenant, *account, false).await?.ok_or(Error::NotFound)?;
                let ws = tenant.workspace_id;
                if *granted {
                    tx.insert_grant(ws, *account, address).await?;
                } else {
                    tx.delete_grant(ws, *account, address).await?;
                }
                tx.principals_changed();
                tx.grants_of(ws, *account).await
            })
        })
        .await
    }
}
