//! `axp status`: is the server up (`GET /health`), and does the key (or actor token) work
//! (`GET /v1/me`)?

use serde_json::json;

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// `status` has no options of its own.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Prints the server's health; exit code 1 when it cannot be reached or rejects the key.
pub async fn run(global: &Global, out: &Output, _args: Args) -> anyhow::Result<Exit> {
    let target = super::target(global)?;
    let configured = target.api_key.is_some() || target.actor_token.is_some();
    // Health needs no valid key; use a placeholder when none is configured.
    let client = if configured { target.client()? } else { target.client_with("none")? };
    let health = client.health().await?;
    let auth = if configured {
        match client.me().await {
            Ok(me) => json!({"ok": true, "agent_address": me.owner_agent}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        }
    } else {
        json!({"ok": false, "error": "no API key configured"})
    };
    let auth_ok = auth["ok"] == true;
    let value = json!({
        "ok": health.ok && auth_ok,
        "base_url": target.base_url,
        "service": health.service,
        "version": health.version,
        "deployment_profile": health.deployment_profile,
        "auth": auth,
    });
    out.object(&value, || {
        vec![
            ("base_url".into(), target.base_url.clone()),
            (
                "server".into(),
                format!("{} {} ({}) up", health.service, health.version, health.deployment_profile),
            ),
            (
                "auth".into(),
                match (auth_ok, auth.get("agent_address"), auth.get("error")) {
                    (true, Some(a), _) => format!("ok as {}", a.as_str().unwrap_or_default()),
                    (_, _, Some(e)) => format!("failed: {}", e.as_str().unwrap_or_default()),
                    _ => "failed".into(),
                },
            ),
        ]
    });
    Ok(if auth_ok { Exit::Ok } else { Exit::Error })
}
