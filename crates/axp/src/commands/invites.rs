//! `axp invites <verb>` (contract §6 "Invites"): `create` an invite for an owner (default: your
//! own address), `get` one by its token, `accept` one with a nick, which makes you a user of the
//! inviting workspace and prints your actor token (save it with `axp login --token`).

use axp_client::axp_core::api::{AcceptInviteRequest, CreateInviteRequest};

use super::users::print;
use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Invite a person; prints the token and URL to send them (shown once).
    Create {
        /// The inviting owner's agent address [default: your own].
        #[arg(long)]
        owner: Option<String>,
        /// Who it is for (free text, 1 to 255 characters).
        #[arg(long)]
        hint: Option<String>,
        /// How long it stays acceptable, 60 to 1209600 [server default: 604800, 7 days].
        #[arg(long)]
        ttl_seconds: Option<u32>,
    },
    /// Show an invite and its status (pending, accepted, expired).
    Get {
        /// The invite's token.
        token: String,
    },
    /// Accept an invite: become a user with a nick; prints your actor token (shown once).
    Accept {
        /// The invite's token.
        token: String,
        /// Your nick, with or without `@`.
        #[arg(long)]
        nick: String,
        /// Your display name.
        #[arg(long)]
        display_name: Option<String>,
    },
}

/// Runs one `invites` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::Create { owner, hint, ttl_seconds } => {
            let owner_agent = match owner {
                Some(owner) => owner,
                None => client.me().await?.owner_agent,
            };
            let request = CreateInviteRequest { owner_agent, recipient_hint: hint, ttl_seconds };
            print(out, &client.create_invite(&request).await?)?;
        }
        Command::Get { token } => print(out, &client.get_invite(&token).await?)?,
        Command::Accept { token, nick, display_name } => {
            let accepted = client.accept_invite(&token, &AcceptInviteRequest { nick, display_name }).await?;
            print(out, &accepted)?;
            out.tip(&format!("sign in as {}: axp login --token <actor_token>", accepted.nick));
        }
    }
    Ok(Exit::Ok)
}
