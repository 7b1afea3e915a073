//! `axp orgs create|show|update`: organizations (contract §6 "Organizations"). The key's service
//! account owns the organizations it creates.

use axp_client::Client;
use axp_client::axp_core::OrgId;
use axp_client::axp_core::api::{
    CreateOrganizationRequest, Organization, OrganizationDetail, UpdateOrganizationRequest,
};
use axp_client::axp_core::tenancy::OrgStatus;

use crate::cli::Global;
use crate::exit::{Exit, usage};
use crate::output::Output;

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create an organization (its slug, the first segment of its agents' addresses, comes from
    /// the name); prints its id.
    Create {
        /// Its name (2 to 120 characters).
        #[arg(long)]
        name: String,
        /// Its legal name.
        #[arg(long)]
        legal_name: Option<String>,
        /// Its primary domain.
        #[arg(long)]
        primary_domain: Option<String>,
        /// Metadata, a JSON object.
        #[arg(long, value_name = "JSON")]
        metadata_json: Option<String>,
    },
    /// Show an organization with its workspace and member counts (default: the key's own).
    Show {
        /// The organization's id.
        org_id: Option<String>,
    },
    /// Change an organization's name, legal name, domain or status.
    Update {
        /// The organization's id.
        org_id: String,
        /// New name (the slug stays).
        #[arg(long)]
        name: Option<String>,
        /// New legal name.
        #[arg(long)]
        legal_name: Option<String>,
        /// New primary domain.
        #[arg(long)]
        primary_domain: Option<String>,
        /// New status: pending, active, suspended or archived.
        #[arg(long)]
        status: Option<OrgStatus>,
    },
}

/// Parses an organization id argument.
pub fn org_id(raw: &str) -> anyhow::Result<OrgId> {
    raw.trim().parse().map_err(|_| usage(format!("{raw:?} is not an organization id (a UUID)")))
}

/// `raw` as an organization id, or the organization of the key's own service account.
pub async fn org_or_own(client: &Client, raw: Option<&str>) -> anyhow::Result<OrgId> {
    match raw {
        Some(raw) => org_id(raw),
        None => Ok(client.whoami().await?.org_id),
    }
}

fn org_pairs(org: &Organization) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("org_id".to_owned(), org.org_id.to_string()),
        ("name".to_owned(), org.name.clone()),
        ("status".to_owned(), org.status.to_string()),
    ];
    pairs.extend(org.legal_name.clone().map(|v| ("legal_name".to_owned(), v)));
    pairs.extend(org.primary_domain.clone().map(|v| ("primary_domain".to_owned(), v)));
    if !org.metadata.is_empty() {
        pairs.push(("metadata".into(), serde_json::Value::Object(org.metadata.clone()).to_string()));
    }
    pairs.push(("created_at".into(), org.created_at.to_string()));
    pairs.push(("updated_at".into(), org.updated_at.to_string()));
    pairs
}

fn detail_pairs(detail: &OrganizationDetail) -> Vec<(String, String)> {
    let mut pairs = org_pairs(&detail.organization);
    pairs.insert(3, ("workspaces".into(), detail.workspaces_count.to_string()));
    pairs.insert(4, ("members".into(), detail.members_count.to_string()));
    pairs
}

/// Runs one `orgs` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::Create { name, legal_name, primary_domain, metadata_json } => {
            let metadata = metadata_json.map(|m| super::json_object("--metadata-json", &m)).transpose()?;
            let request = CreateOrganizationRequest {
                name,
                legal_name,
                primary_domain,
                requested_by_actor_id: None,
                metadata,
            };
            let org = client.create_organization(&request).await?;
            if out.is_machine() {
                out.json(&serde_json::to_value(&org)?);
            } else {
                out.line(&org.org_id.to_string());
            }
            out.tip(&format!(
                "next: axp workspaces create --org-id {} --name … --environment production",
                org.org_id
            ));
        }
        Command::Show { org_id } => {
            let org = org_or_own(&client, org_id.as_deref()).await?;
            let detail = client.get_organization(org).await?;
            out.object(&serde_json::to_value(&detail)?, || detail_pairs(&detail));
        }
        Command::Update { org_id: raw, name, legal_name, primary_domain, status } => {
            let org = org_id(&raw)?;
            let request = UpdateOrganizationRequest {
                org_id: None,
                name,
                legal_name,
                primary_domain,
                status,
                metadata: None,
            };
            let changed = client.update_organization(org, &request).await?;
            out.object(&serde_json::to_value(&changed)?, || org_pairs(&changed));
        }
    }
    Ok(Exit::Ok)
}
