//! `axp workspaces create|list|update`: an organization's workspaces (contract §6
//! "Organizations"). A new workspace's first key: `axp agents register --workspace-id <id>`
//! makes its first agent, and `axp agents keys create --agent-id <its id>` the key.

use axp_client::axp_core::WorkspaceId;
use axp_client::axp_core::api::{CreateWorkspaceRequest, UpdateWorkspaceRequest, Workspace};
use axp_client::axp_core::tenancy::{Environment, WorkspaceStatus};

use super::orgs::{org_id, org_or_own};
use crate::cli::Global;
use crate::exit::{Exit, usage};
use crate::output::{Output, Table};

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create a workspace (its slug, the second segment of its agents' addresses, comes from the
    /// name); prints its id.
    Create {
        /// The organization (default: the key's own).
        #[arg(long, value_name = "ID")]
        org_id: Option<String>,
        /// Its name (2 to 120 characters).
        #[arg(long)]
        name: String,
        /// sandbox, staging or production.
        #[arg(long)]
        environment: Environment,
        /// Its region.
        #[arg(long)]
        region: Option<String>,
    },
    /// List an organization's workspaces, oldest first.
    #[command(visible_alias = "ls")]
    List {
        /// The organization (default: the key's own).
        #[arg(long, value_name = "ID")]
        org_id: Option<String>,
    },
    /// Change a workspace's name, status or region.
    Update {
        /// The workspace's id.
        workspace_id: String,
        /// Its organization (default: the key's own).
        #[arg(long, value_name = "ID")]
        org_id: Option<String>,
        /// New name (the slug stays).
        #[arg(long)]
        name: Option<String>,
        /// New status: active, suspended or archived.
        #[arg(long)]
        status: Option<WorkspaceStatus>,
        /// New region.
        #[arg(long)]
        region: Option<String>,
    },
}

fn workspace_pairs(ws: &Workspace) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("workspace_id".to_owned(), ws.workspace_id.to_string()),
        ("org_id".to_owned(), ws.org_id.to_string()),
        ("name".to_owned(), ws.name.clone()),
        ("environment".to_owned(), ws.environment.to_string()),
        ("status".to_owned(), ws.status.to_string()),
    ];
    pairs.extend(ws.region.clone().map(|r| ("region".to_owned(), r)));
    pairs.push(("created_at".into(), ws.created_at.to_string()));
    pairs.push(("updated_at".into(), ws.updated_at.to_string()));
    pairs
}

/// Runs one `workspaces` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::Create { org_id, name, environment, region } => {
            let org = org_or_own(&client, org_id.as_deref()).await?;
            let request = CreateWorkspaceRequest { org_id: None, name, environment, region };
            let ws = client.create_workspace(org, &request).await?;
            if out.is_machine() {
                out.json(&serde_json::to_value(&ws)?);
            } else {
                out.line(&ws.workspace_id.to_string());
            }
            out.tip(&format!(
                "its first agent and key: axp agents register --workspace-id {} --name …, then axp agents keys create --agent-id …",
                ws.workspace_id
            ));
        }
        Command::List { org_id } => {
            let org = org_or_own(&client, org_id.as_deref()).await?;
            let workspaces = client.list_workspaces(org).await?;
            let items = workspaces.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?;
            out.list(&items, || {
                let mut table =
                    Table::new(&["WORKSPACE_ID", "NAME", "ENVIRONMENT", "STATUS", "REGION", "CREATED_AT"]);
                for w in &workspaces {
                    table.row(vec![
                        w.workspace_id.to_string(),
                        w.name.clone(),
                        w.environment.to_string(),
                        w.status.to_string(),
                        w.region.clone().unwrap_or_default(),
                        w.created_at.to_string(),
                    ]);
                }
                table
            });
        }
        Command::Update { workspace_id, org_id: org, name, status, region } => {
            let ws: WorkspaceId = workspace_id
                .trim()
                .parse()
                .map_err(|_| usage(format!("{workspace_id:?} is not a workspace id (a UUID)")))?;
            let org = match org {
                Some(raw) => org_id(&raw)?,
                None => org_or_own(&client, None).await?,
            };
            let request = UpdateWorkspaceRequest { org_id: None, workspace_id: None, name, status, region };
            let changed = client.update_workspace(org, ws, &request).await?;
            out.object(&serde_json::to_value(&changed)?, || workspace_pairs(&changed));
        }
    }
    Ok(Exit::Ok)
}
