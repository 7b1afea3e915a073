//! `axp agents keys create|revoke --agent-id <service_account_id> [--key-id …]`.

use axp_client::axp_core::Timestamp;
use axp_client::{ApiKey, ApiKeyId, Client, ServiceAccountId};

use crate::exit::{Exit, usage};
use crate::output::{Output, Style};

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create an API key; the key is printed once.
    Create {
        /// The agent's service account id (from `agents register` or `agents show`).
        #[arg(long, value_name = "ID")]
        agent_id: String,
        /// When the key stops working (RFC 3339).
        #[arg(long, value_name = "RFC3339")]
        expires_at: Option<String>,
    },
    /// Revoke an API key; it stops working at once.
    Revoke {
        /// The agent's service account id.
        #[arg(long, value_name = "ID")]
        agent_id: String,
        /// The key's id.
        #[arg(long, value_name = "ID")]
        key_id: String,
    },
}

fn account_id(raw: &str) -> anyhow::Result<ServiceAccountId> {
    raw.trim().parse().map_err(|_| usage(format!("{raw:?} is not a service account id (a UUID)")))
}

fn key_pairs(key: &ApiKey) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("key_id".to_owned(), key.key_id.to_string()),
        ("service_account".to_owned(), key.service_account_id.to_string()),
        ("status".to_owned(), key.status.clone()),
        ("key_hint".to_owned(), key.key_hint.clone()),
    ];
    if let Some(t) = key.expires_at {
        pairs.push(("expires_at".into(), t.to_string()));
    }
    if let Some(t) = key.revoked_at {
        pairs.push(("revoked_at".into(), t.to_string()));
    }
    if let Some(token) = &key.token {
        pairs.push(("api_key".into(), token.clone()));
    }
    pairs
}

/// Runs one `agents keys` verb.
pub async fn run(client: &Client, out: &Output, command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Create { agent_id, expires_at } => {
            let id = account_id(&agent_id)?;
            let key = match expires_at {
                None => client.create_api_key(id).await?,
                Some(at) => {
                    let at = Timestamp::parse_rfc3339(&at)
                        .ok_or_else(|| usage(format!("--expires-at {at:?} is not an RFC 3339 date-time")))?;
                    client.create_api_key_expiring(id, at).await?
                }
            };
            out.object(&serde_json::to_value(&key)?, || key_pairs(&key));
            out.note(&format!("{} the key is shown once; store it now", out.paint("note:", Style::Yellow)));
        }
        Command::Revoke { agent_id, key_id } => {
            let id = account_id(&agent_id)?;
            let key_id: ApiKeyId =
                key_id.trim().parse().map_err(|_| usage(format!("{key_id:?} is not a key id (a UUID)")))?;
            let key = client.revoke_api_key(id, key_id).await?;
            out.object(&serde_json::to_value(&key)?, || key_pairs(&key));
        }
    }
    Ok(Exit::Ok)
}
