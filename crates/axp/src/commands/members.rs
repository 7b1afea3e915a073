//! `axp members list|add|update|remove`: an organization's memberships (contract §6
//! "Members"): who holds which role, in the whole organization or one workspace.

use axp_client::axp_core::access::Role;
use axp_client::axp_core::api::{AddMemberRequest, Member, UpdateMemberRequest};
use axp_client::axp_core::tenancy::MemberStatus;
use axp_client::axp_core::{MemberId, WorkspaceId};

use super::orgs::org_or_own;
use crate::cli::Global;
use crate::exit::{Exit, usage};
use crate::output::{Output, Table};

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List an organization's memberships, oldest first.
    #[command(visible_alias = "ls")]
    List {
        /// The organization (default: the key's own).
        #[arg(long, value_name = "ID")]
        org_id: Option<String>,
        /// Only this workspace's (and the organization-wide ones).
        #[arg(long, value_name = "ID")]
        workspace_id: Option<String>,
    },
    /// Give an actor (a service account id, a user id, …) a role; prints the membership's id.
    Add {
        /// The organization (default: the key's own).
        #[arg(long, value_name = "ID")]
        org_id: Option<String>,
        /// Who: a service account id, a user id or another actor string.
        #[arg(long, value_name = "ACTOR")]
        actor_id: String,
        /// org_owner, org_admin, workspace_admin, member, billing_viewer or security_auditor.
        #[arg(long)]
        role: Role,
        /// Only in this workspace (not with org_owner or org_admin).
        #[arg(long, value_name = "ID")]
        workspace_id: Option<String>,
    },
    /// Change a membership's role or status.
    Update {
        /// The membership's id.
        member_id: String,
        /// The organization (default: the key's own).
        #[arg(long, value_name = "ID")]
        org_id: Option<String>,
        /// The new role.
        #[arg(long)]
        role: Option<Role>,
        /// The new status: active, invited, suspended or removed.
        #[arg(long)]
        status: Option<MemberStatus>,
    },
    /// Remove a membership (an organization keeps its last owner).
    #[command(visible_alias = "rm")]
    Remove {
        /// The membership's id.
        member_id: String,
        /// The organization (default: the key's own).
        #[arg(long, value_name = "ID")]
        org_id: Option<String>,
    },
}

fn member_id(raw: &str) -> anyhow::Result<MemberId> {
    raw.trim().parse().map_err(|_| usage(format!("{raw:?} is not a member id (a UUID)")))
}

fn workspace_id(raw: Option<&str>) -> anyhow::Result<Option<WorkspaceId>> {
    raw.map(|r| r.trim().parse().map_err(|_| usage(format!("{r:?} is not a workspace id (a UUID)"))))
        .transpose()
}

fn member_pairs(m: &Member) -> Vec<(String, String)> {
    vec![
        ("member_id".into(), m.member_id.to_string()),
        ("org_id".into(), m.org_id.to_string()),
        ("workspace_id".into(), m.workspace_id.map(|w| w.to_string()).unwrap_or_else(|| "(all)".into())),
        ("actor_id".into(), m.actor_id.clone()),
        ("role".into(), m.role.to_string()),
        ("status".into(), m.status.clone()),
        ("updated_at".into(), m.updated_at.to_string()),
    ]
}

/// Runs one `members` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::List { org_id, workspace_id: ws } => {
            let ws = workspace_id(ws.as_deref())?;
            let org = org_or_own(&client, org_id.as_deref()).await?;
            let members = client.list_members(org, ws).await?;
            let items = members.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?;
            out.list(&items, || {
                let mut table =
                    Table::new(&["MEMBER_ID", "ACTOR_ID", "ROLE", "WORKSPACE", "STATUS", "CREATED_AT"]);
                for m in &members {
                    table.row(vec![
                        m.member_id.to_string(),
                        m.actor_id.clone(),
                        m.role.to_string(),
                        m.workspace_id.map(|w| w.to_string()).unwrap_or_else(|| "(all)".into()),
                        m.status.clone(),
                        m.created_at.to_string(),
                    ]);
                }
                table
            });
        }
        Command::Add { org_id, actor_id, role, workspace_id: ws } => {
            let ws = workspace_id(ws.as_deref())?;
            let org = org_or_own(&client, org_id.as_deref()).await?;
            let request = AddMemberRequest {
                org_id: None,
                workspace_id: ws,
                actor_id,
                role,
                invited_by_actor_id: None,
            };
            let member = client.add_member(org, &request).await?;
            if out.is_machine() {
                out.json(&serde_json::to_value(&member)?);
            } else {
                out.line(&member.member_id.to_string());
            }
        }
        Command::Update { member_id: raw, org_id, role, status } => {
            let id = member_id(&raw)?;
            if role.is_none() && status.is_none() {
                return Err(usage("give --role, --status or both"));
            }
            let org = org_or_own(&client, org_id.as_deref()).await?;
            let request = UpdateMemberRequest { org_id: None, member_id: None, role, status };
            let member = client.update_member(org, id, &request).await?;
            out.object(&serde_json::to_value(&member)?, || member_pairs(&member));
        }
        Command::Remove { member_id: raw, org_id } => {
            let id = member_id(&raw)?;
            let org = org_or_own(&client, org_id.as_deref()).await?;
            let removed = client.remove_member(org, id).await?;
            out.object(&serde_json::to_value(&removed)?, || {
                vec![
                    ("member_id".into(), removed.member_id.to_string()),
                    ("removed_at".into(), removed.removed_at.to_string()),
                ]
            });
        }
    }
    Ok(Exit::Ok)
}
