//! `axp agents show <address>`.

use axp_client::{Agent, Client};

use crate::commands::brief;
use crate::exit::Exit;
use crate::output::Output;

/// `agents show` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// `agent://org/workspace/name`, `org/workspace/name`, or a bare name in your workspace.
    address: String,
}

/// Prints the agent.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let agent = client.get_agent(&args.address).await?;
    let value = serde_json::to_value(&agent)?;
    out.object(&value, || agent_pairs(&agent));
    Ok(Exit::Ok)
}

/// Key/value pairs for an agent.
pub fn agent_pairs(agent: &Agent) -> Vec<(String, String)> {
    let mut pairs = vec![("address".to_owned(), agent.address.clone())];
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            pairs.push((k.to_owned(), v));
        }
    };
    push("service_account", agent.service_account_id.map(|id| id.to_string()));
    push("name", agent.service_account_name.clone());
    push("display_name", agent.display_name.clone());
    push("status", agent.status.clone());
    push("delivery_mode", agent.delivery_mode.map(|m| m.to_string()));
    push("delivery_url", agent.delivery_config.as_ref().and_then(|c| c.get("url")).map(|u| brief(u, 100)));
    push(
        "delivery_secret",
        agent.delivery_config.as_ref().and_then(|c| c.get("secret")).map(|u| brief(u, 200)),
    );
    push("lease_seconds", agent.lease_seconds.map(|s| s.to_string()));
    push(
        "connection",
        agent.connection_state.clone().map(|s| match agent.connected_streams {
            Some(n) if n > 0 => format!("{s} ({n} stream{})", if n == 1 { "" } else { "s" }),
            _ => s,
        }),
    );
    push("created_at", agent.created_at.map(|t| t.to_string()));
    for (k, v) in &agent.extra {
        if !v.is_null() {
            pairs.push((k.clone(), brief(v, 80)));
        }
    }
    pairs
}
