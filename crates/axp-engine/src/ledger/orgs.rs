//! Organizations and their workspaces (contract §6 "Organizations"): slugs derived once from
//! names, the creator's ownership, and the lookups access checks in other workspaces need.

use axp_core::Timestamp;
use axp_core::access::Role;
use axp_core::api::{AuditTarget, Member, Organization, OrganizationDetail, Workspace, actions};
use axp_core::ids::{OrgId, ServiceAccountId, WorkspaceId};
use axp_core::tenancy::{OrgStatus, WorkspaceStatus, slug, slug_with_suffix};
use axp_store::{
    Audit, Error, NewOrganization, NewWorkspace, OrganizationUpdate, Result, ServiceAccountRecord, Tenant,
    WorkspaceUpdate,
};

use serde_json::{Value, json};

use super::Ledger;
use super::audit::{At, details, record};
use super::members::audit_member;

/// How many suffixes (`-2` … ) are tried for a taken slug before giving up with a conflict.
const SLUG_ATTEMPTS: u32 = 1000;

/// The conflict of a name whose slug and every suffix tried are taken.
fn slug_exhausted(what: &str) -> Error {
    Error::Conflict { constraint: format!("{what}.slug") }
}

impl Ledger {
    pub(super) async fn create_organization(
        &self,
        owner: &str,
        org: NewOrganization,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Organization> {
        self.write((owner.to_owned(), org, now, by.clone()), |(owner, new, now, by), tx| {
            Box::pin(async move {
                let base = slug(&new.name, "org");
                let mut candidate = base.clone();
                let mut n = 1;
                while tx.org_slug_taken(&candidate).await? {
                    n += 1;
                    if n > SLUG_ATTEMPTS {
                        return Err(slug_exhausted("orgs"));
                    }
                    candidate = slug_with_suffix(&base, n);
                }
                let org = Organization {
                    org_id: OrgId::new(),
                    name: new.name.clone(),
                    legal_name: new.legal_name.clone(),
                    primary_domain: new.primary_domain.clone(),
                    status: OrgStatus::Active,
                    metadata: new.metadata.clone(),
                    created_at: *now,
                    updated_at: *now,
                };
                tx.insert_org(&org, &candidate).await?;
                let fields =
                    details([("name", Value::String(org.name.clone())), ("slug", Value::String(candidate))]);
                let (at, target) =
                    (At::org(org.org_id, None, *now), AuditTarget::new("organization", org.org_id));
                record(tx, by, at, actions::ORGANIZATION_CREATED, target, fields).await?;
                let member = super::members::add(tx, org.org_id, None, owner, Role::OrgOwner, *now).await?;
                audit_member(tx, by, actions::MEMBER_ADDED, &member, None, *now).await?;
                Ok(org)
            })
        })
        .await
    }

    pub(super) async fn get_organization(&self, org: OrgId) -> Result<OrganizationDetail> {
        self.read(org, |org, tx| {
            Box::pin(async move {
                let organization = tx.org(*org, false).await?.ok_or(Error::NotFound)?;
                let (workspaces_count, members_count) = tx.org_counts(*org).await?;
                Ok(OrganizationDetail { organization, workspaces_count, members_count })
            })
        })
        .await
    }

    pub(super) async fn update_organization(
        &self,
        org: OrgId,
        update: OrganizationUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Organization> {
        self.write((org, update, now, by.clone()), |(org, update, now, by), tx| {
            Box::pin(async move {
                let mut o = tx.org(*org, true).await?.ok_or(Error::NotFound)?;
                let u = update.clone();
                o.name = u.name.unwrap_or(o.name);
                o.legal_name = u.legal_name.or(o.legal_name);
                o.primary_domain = u.primary_domain.or(o.primary_domain);
                o.status = u.status.unwrap_or(o.status);
                o.metadata = u.metadata.unwrap_or(o.metadata);
                o.updated_at = *now;
                tx.update_org(&o).await?;
                let fields = details([("name", Value::String(o.name.clone())), ("status", json!(o.status))]);
                let target = AuditTarget::new("organization", o.org_id);
                record(tx, by, At::org(o.org_id, None, *now), actions::ORGANIZATION_UPDATED, target, fields)
                    .await?;
                Ok(o)
            })
        })
        .await
    }

    pub(super) async fn create_workspace(
        &self,
        org: OrgId,
        workspace: NewWorkspace,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Workspace> {
        self.write((org, workspace, now, by.clone()), |(org, new, now, by), tx| {
            Box::pin(async move {
                tx.org(*org, false).await?.ok_or(Error::NotFound)?;
                let base = slug(&new.name, "ws");
                let mut candidate = base.clone();
                let mut n = 1;
                while tx.workspace_slug_taken(*org, &candidate).await? {
                    n += 1;
                    if n > SLUG_ATTEMPTS {
                        return Err(slug_exhausted("workspaces"));
                    }
                    candidate = slug_with_suffix(&base, n);
                }
                let ws = Workspace {
                    workspace_id: WorkspaceId::new(),
                    org_id: *org,
                    name: new.name.clone(),
                    environment: new.environment,
                    status: WorkspaceStatus::Active,
                    region: new.region.clone(),
                    created_at: *now,
                    updated_at: *now,
                };
                tx.create_workspace(&ws, &candidate).await?;
                let fields =
                    details([("name", Value::String(ws.name.clone())), ("slug", Value::String(candidate))]);
                let (at, target) = (
                    At::org(*org, Some(ws.workspace_id), *now),
                    AuditTarget::new("workspace", ws.workspace_id),
                );
                record(tx, by, at, actions::WORKSPACE_CREATED, target, fields).await?;
                Ok(ws)
            })
        })
        .await
    }

    pub(super) async fn list_workspaces(&self, org: OrgId) -> Result<Vec<Workspace>> {
        self.read(org, |org, tx| Box::pin(tx.list_workspaces(*org))).await
    }

    pub(super) async fn update_workspace(
        &self,
        org: OrgId,
        ws: WorkspaceId,
        update: WorkspaceUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Workspace> {
        self.write((org, ws, update, now, by.clone()), |(org, ws, update, now, by), tx| {
            Box::pin(async move {
                let mut w = tx.workspace(*org, *ws, true).await?.ok_or(Error::NotFound)?;
                let u = update.clone();
                w.name = u.name.unwrap_or(w.name);
                w.status = u.status.unwrap_or(w.status);
                w.region = u.region.or(w.region);
                w.updated_at = *now;
                tx.update_workspace(&w).await?;
                let fields = details([("name", Value::String(w.name.clone())), ("status", json!(w.status))]);
                let (at, target) = (
                    At::org(*org, Some(w.workspace_id), *now),
                    AuditTarget::new("workspace", w.workspace_id),
                );
                record(tx, by, at, actions::WORKSPACE_UPDATED, target, fields).await?;
                Ok(w)
            })
        })
        .await
    }

    pub(super) async fn workspace_tenant(&self, ws: WorkspaceId) -> Result<Tenant> {
        self.read(ws, |ws, tx| Box::pin(async move { tx.tenant_of(*ws).await?.ok_or(Error::NotFound) })).await
    }

    pub(super) async fn find_service_account(&self, id: ServiceAccountId) -> Result<ServiceAccountRecord> {
        self.read(id, |id, tx| {
            Box::pin(async move {
                let ws = tx.workspace_of_service_account(*id).await?.ok_or(Error::NotFound)?;
                let tenant = tx.tenant_of(ws).await?.ok_or(Error::NotFound)?;
                tx.service_account(&tenant, *id, false).await?.ok_or(Error::NotFound)
            })
        })
        .await
    }

    pub(super) async fn memberships_of(&self, org: OrgId, actor_id: &str) -> Result<Vec<Member>> {
        self.read((org, actor_id.to_owned()), |(org, actor), tx| Box::pin(tx.memberships_of(*org, actor)))
            .await
    }
}
