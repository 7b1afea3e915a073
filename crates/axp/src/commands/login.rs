//! `axp login [--base-url URL] [--api-key KEY] [--context NAME]`: saves a context and makes it
//! active, after checking the key against the server (`--no-verify` skips the check).

use crate::cli::Global;
use crate::config::{Config, Context, DEFAULT_CONTEXT, hint};
use crate::connect::{self, Source};
use crate::exit::{Exit, usage};
use crate::output::Output;

/// `login` options; the URL, key and context name are the global `--base-url`, `--api-key` and
/// `--context` (or their environment variables).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Save without asking the server whether the key works.
    #[arg(long)]
    no_verify: bool,
}

/// Saves the context.
pub async fn run(global: &Global, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let mut config = Config::load()?;
    let name = connect::selected_context(global, &connect::env).unwrap_or_else(|| DEFAULT_CONTEXT.to_owned());
    // Resolve as if no context were saved, so login never just re-reads the one it replaces.
    let target = connect::resolve(&Global { context: None, ..global.clone() }, &Config::default())?;
    let key = target.require_key()?.to_owned();
    let identity = if args.no_verify {
        None
    } else {
        let client = target.client_with(&key)?;
        client
            .health()
            .await
            .map_err(|e| anyhow::Error::new(e).context(format!("reaching {}", target.base_url)))?;
        match client.whoami().await {
            Ok(account) => Some(account.agent_address),
            Err(e) if e.is_auth() => {
                return Err(usage(format!("{} does not accept this key: {e}", target.base_url)));
            }
            Err(axp_client::Error::Config(_)) => None,
            Err(e) => return Err(e.into()),
        }
    };
    config
        .contexts
        .insert(name.clone(), Context { base_url: target.base_url.clone(), api_key: Some(key.clone()) });
    config.active_context = Some(name.clone());
    let path = config.save()?;
    let value = serde_json::json!({
        "ok": true,
        "context": name,
        "base_url": target.base_url,
        "agent_address": identity,
        "config_file": path,
    });
    out.object(&value, || {
        let mut pairs = vec![
            ("context".to_owned(), name.clone()),
            ("base_url".to_owned(), target.base_url.clone()),
            ("api_key".to_owned(), hint(&key)),
        ];
        if let Some(address) = &identity {
            pairs.push(("agent_address".into(), address.clone()));
        }
        pairs
    });
    if let Some(Source::AdminKey(p)) = &target.key_source {
        out.tip(&format!("used the admin key from {}", p.display()));
    }
    out.tip(&format!("saved to {} and made active", path.display()));
    Ok(Exit::Ok)
}
