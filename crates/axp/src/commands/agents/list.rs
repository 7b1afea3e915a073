//! `axp agents list [--limit N]`.

use axp_client::Client;
use serde_json::Value;

use crate::exit::Exit;
use crate::output::{Output, Table};

/// `agents list` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// Lists the workspace's agents.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let agents = client.list_agents(Some(args.limit)).await?;
    let items = agents.iter().map(serde_json::to_value).collect::<Result<Vec<Value>, _>>()?;
    out.list(&items, || {
        let mut table =
            Table::new(&["ADDRESS", "DISPLAY_NAME", "DELIVERY", "CONNECTION", "STATUS", "CREATED_AT"]);
        for a in &agents {
            table.row(vec![
                a.address.clone(),
                a.display_name.clone().unwrap_or_default(),
                a.delivery_mode.map(|m| m.to_string()).unwrap_or_default(),
                a.connection_state.clone().unwrap_or_default(),
                a.status.clone().unwrap_or_default(),
                a.created_at.map(|t| t.to_string()).unwrap_or_default(),
            ]);
        }
        table
    });
    Ok(Exit::Ok)
}
