//! `axp whoami`: who the server takes this CLI for (`GET /v1/me`): the service account behind
//! the key (and so its agent address, `from_agent`), or the person behind a saved actor token,
//! with the roles either holds.

use axp_client::axp_core::api::ActorKind;
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
    let me = client.me().await?;
    let (account, user) = match me.kind {
        ActorKind::ServiceAccount => (Some(client.whoami().await?), None),
        ActorKind::User => (None, Some(client.get_profile(&me.owner_agent).await?)),
    };
    let key = target.api_key.as_deref();
    let value = json!({
        "context": target.context,
        "base_url": target.base_url,
        "api_key": key.map(hint),
        "api_key_from": target.key_source.as_ref().map(ToString::to_string),
        "actor_token": target.actor_token.as_deref().map(hint),
        "actor": me,
        "service_account": account,
        "user": user,
    });
    out.object(&value, || {
        let roles: Vec<&str> = me.roles.iter().map(|r| r.as_str()).collect();
        let mut pairs = vec![("agent_address".into(), me.owner_agent.clone())];
        if let Some(account) = &account {
            pairs.extend([
                ("service_account".into(), format!("{} ({})", account.name, account.service_account_id)),
                ("display_name".into(), account.display_name.clone()),
                ("status".into(), account.status.clone()),
                ("delivery_mode".into(), account.delivery_mode.to_string()),
            ]);
        }
        if let Some(user) = &user {
            pairs.extend([
                ("user".into(), format!("{} ({})", user.nick, user.user_id)),
                ("display_name".into(), user.display_name.clone().unwrap_or_default()),
            ]);
        }
        pairs.extend([
            (
                "roles".into(),
                if roles.is_empty() { "(none: acts as itself)".into() } else { roles.join(", ") },
            ),
            ("base_url".into(), target.base_url.clone()),
            ("context".into(), target.context.clone().unwrap_or_else(|| "(none)".into())),
        ]);
        if let Some(key) = key {
            let from = target.key_source.as_ref().map(|s| format!("  (from {s})")).unwrap_or_default();
            pairs.push(("api_key".into(), format!("{}{from}", hint(key))));
        }
        if let Some(token) = &target.actor_token {
            pairs.push(("actor_token".into(), hint(token)));
        }
        pairs
    });
    Ok(Exit::Ok)
}
