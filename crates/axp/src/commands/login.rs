//! `axp login [--base-url URL] [--api-key KEY] [--context NAME]`: saves a context and makes it
//! active, after checking the key against the server (`--no-verify` skips the check).
//!
//! `axp login --token <actor token>` saves a person's actor token instead (from `axp invites
//! accept`, or issued by an admin), checked with `GET /v1/me`: later commands send it as
//! `Authorization: Bearer` and act as that person, with their roles. A key given by flag or
//! environment is saved beside it.

use axp_client::axp_core::api::ActorKind;

use crate::cli::Global;
use crate::config::{Config, Context, DEFAULT_CONTEXT, hint};
use crate::connect::{self, Source, Target};
use crate::exit::{Exit, usage};
use crate::output::Output;

/// `login` options; the URL, key and context name are the global `--base-url`, `--api-key` and
/// `--context` (or their environment variables).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Save without asking the server whether the key (or token) works.
    #[arg(long)]
    no_verify: bool,
    /// A person's actor token (`axme_at_…`) to save instead of an API key.
    #[arg(long, value_name = "ACTOR_TOKEN")]
    token: Option<String>,
}

/// Saves the context.
pub async fn run(global: &Global, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let mut config = Config::load()?;
    let name = connect::selected_context(global, &connect::env).unwrap_or_else(|| DEFAULT_CONTEXT.to_owned());
    // Resolve as if no context were saved, so login never just re-reads the one it replaces.
    let target = connect::resolve(&Global { context: None, ..global.clone() }, &Config::default())?;
    let (context, identity) = match args.token.as_deref().map(str::trim) {
        Some(token) => person(&target, token, args.no_verify).await?,
        None => machine(&target, args.no_verify).await?,
    };
    config.contexts.insert(name.clone(), context.clone());
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
        let mut pairs =
            vec![("context".to_owned(), name.clone()), ("base_url".to_owned(), target.base_url.clone())];
        if let Some(key) = &context.api_key {
            pairs.push(("api_key".into(), hint(key)));
        }
        if let Some(token) = &context.actor_token {
            pairs.push(("actor_token".into(), hint(token)));
        }
        if let Some(address) = &identity {
            pairs.push(("agent_address".into(), address.clone()));
        }
        pairs
    });
    if context.actor_token.is_none()
        && let Some(Source::AdminKey(p)) = &target.key_source
    {
        out.tip(&format!("used the admin key from {}", p.display()));
    }
    out.tip(&format!("saved to {} and made active", path.display()));
    Ok(Exit::Ok)
}

/// The context for an API key, and the key's agent address once checked.
async fn machine(target: &Target, no_verify: bool) -> anyhow::Result<(Context, Option<String>)> {
    let key = target.require_key()?.to_owned();
    let identity = if no_verify {
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
    Ok((Context { base_url: target.base_url.clone(), api_key: Some(key), actor_token: None }, identity))
}

/// The context for a person's actor token (with a key given by flag or environment, if any),
/// and the person's owner address once checked.
async fn person(target: &Target, token: &str, no_verify: bool) -> anyhow::Result<(Context, Option<String>)> {
    if token.is_empty() {
        return Err(usage("--token needs a person's actor token (axme_at_…)"));
    }
    let api_key = match target.key_source {
        Some(Source::Flag | Source::Env(_)) => target.api_key.clone(),
        _ => None,
    };
    let context = Context { base_url: target.base_url.clone(), api_key, actor_token: Some(token.to_owned()) };
    if no_verify {
        return Ok((context, None));
    }
    let client = target.client_as(context.api_key.as_deref().unwrap_or_default(), Some(token))?;
    client
        .health()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("reaching {}", target.base_url)))?;
    let me = match client.me().await {
        Ok(me) => me,
        Err(e) if e.is_auth() => {
            return Err(usage(format!("{} does not accept this token: {e}", target.base_url)));
        }
        Err(e) => return Err(e.into()),
    };
    if me.kind != ActorKind::User {
        return Err(usage("this is an API key, not a person's actor token: use --api-key"));
    }
    Ok((context, Some(me.owner_agent)))
}
