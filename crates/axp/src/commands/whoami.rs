//! `axp whoami`: the service account (and so the agent address, `from_agent`) behind the key.

use serde_json::json;

use crate::cli::Global;
use crate::config::hint;
use crate::exit::Exit;
use crate::output::Output;

/// `whoami` has no options of its own.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Prints the identity.
pub async fn run(global: &Global, out: &Output, _args: Args) -> anyhow::Result<Exit> {
    let target = super::target(global)?;
    let client = target.client()?;
    let account = client.whoami().await?;
    let key = target.api_key.as_deref().unwrap_or_default();
    let value = json!({
        "context": target.context,
        "base_url": target.base_url,
        "api_key": hint(key),
        "api_key_from": target.key_source.as_ref().map(ToString::to_string),
        "service_account": account,
    });
    out.object(&value, || {
        vec![
            ("agent_address".into(), account.agent_address.clone()),
            ("service_account".into(), format!("{} ({})", account.name, account.service_account_id)),
            ("display_name".into(), account.display_name.clone()),
            ("status".into(), account.status.clone()),
            ("delivery_mode".into(), account.delivery_mode.to_string()),
            ("base_url".into(), target.base_url.clone()),
            ("context".into(), target.context.clone().unwrap_or_else(|| "(none)".into())),
            (
                "api_key".into(),
                match &target.key_source {
                    Some(source) => format!("{}  (from {source})", hint(key)),
                    None => hint(key),
                },
            ),
        ]
    });
    Ok(Exit::Ok)
}
