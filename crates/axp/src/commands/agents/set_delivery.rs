//! `axp agents set-delivery <address> --delivery-mode MODE [--delivery-url …] [--secret …] [--lease-seconds N]`.

use axp_client::Client;

use super::binding::BindingFlags;
use super::show::agent_pairs;
use crate::exit::{Exit, usage};
use crate::output::{Output, Style};

/// `agents set-delivery` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The agent's address (or bare name in your workspace).
    address: String,
    #[command(flatten)]
    binding: BindingFlags,
}

/// Changes the agent's binding.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let binding = args
        .binding
        .binding()?
        .ok_or_else(|| usage("say how: --delivery-mode, --delivery-url or --lease-seconds"))?;
    let agent = client.set_agent_delivery(&args.address, &binding).await?;
    out.object(&serde_json::to_value(&agent)?, || agent_pairs(&agent));
    if agent.delivery_config.as_ref().is_some_and(|c| c.contains_key("secret")) {
        out.note(&format!(
            "{} delivery_config.secret signs every push; it is shown once",
            out.paint("note:", Style::Yellow)
        ));
    }
    Ok(Exit::Ok)
}
