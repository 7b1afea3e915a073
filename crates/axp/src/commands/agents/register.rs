//! `axp agents register --name NAME [--display-name …] [--description …] [--address …]
//! [--workspace-id …]`.

use axp_client::{Client, RegisterAgentRequest};

use super::binding::BindingFlags;
use crate::exit::{Exit, usage};
use crate::output::{Output, Style};

/// `agents register` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The agent's name, unique in the workspace (`[A-Za-z0-9._@-]`); its address becomes
    /// `agent://<org>/<workspace>/<name>`.
    #[arg(long)]
    name: String,
    /// A name for people.
    #[arg(long)]
    display_name: Option<String>,
    /// Free text.
    #[arg(long)]
    description: Option<String>,
    /// An explicit address instead of the derived one (any valid `agent://` form).
    #[arg(long, value_name = "ADDRESS")]
    address: Option<String>,
    /// Register it in this workspace of your organization instead of the key's own (needs
    /// org_admin or org_owner): how a new workspace gets its first agent and key.
    #[arg(long, value_name = "ID")]
    workspace_id: Option<String>,
    #[command(flatten)]
    binding: BindingFlags,
}

/// Registers the agent.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let workspace_id = args
        .workspace_id
        .map(|raw| raw.trim().parse().map_err(|_| usage(format!("{raw:?} is not a workspace id (a UUID)"))))
        .transpose()?;
    let request = RegisterAgentRequest {
        org_id: None,
        workspace_id,
        binding: args.binding.binding()?,
        name: args.name,
        description: args.description,
        agent_address: args.address,
        display_name: args.display_name,
    };
    let account = client.register_agent(&request).await?;
    let value = serde_json::to_value(&account)?;
    out.object(&value, || {
        vec![
            ("agent_address".into(), account.agent_address.clone()),
            ("service_account".into(), account.service_account_id.to_string()),
            ("name".into(), account.name.clone()),
            ("display_name".into(), account.display_name.clone()),
            ("delivery_mode".into(), account.delivery_mode.to_string()),
        ]
        .into_iter()
        .chain(account.delivery_config.iter().flat_map(|c| {
            c.iter().map(|(k, v)| {
                (format!("delivery_{k}"), v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            })
        }))
        .collect()
    });
    if account.delivery_config.as_ref().is_some_and(|c| c.contains_key("secret")) {
        out.note(&format!(
            "{} delivery_secret signs every push to the agent; it is shown once",
            out.paint("note:", Style::Yellow)
        ));
    }
    out.tip(&format!(
        "next: axp agents keys create --agent-id {}  ·  send it work: axp intents send --to {} --intent-type …",
        account.service_account_id, account.agent_address
    ));
    Ok(Exit::Ok)
}
