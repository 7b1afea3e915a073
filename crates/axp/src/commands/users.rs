//! `axp users <verb>`: people's nicks and profiles (contract §6 "Users / nicks"): `check` and
//! `resolve` a nick, `register` a user, `rename` one, show or change a `profile`. A user's owner
//! address is `agent://user/<user_id>`; `--owner` defaults to the caller's own (a person logged
//! in with `axp login --token`).

use axp_client::Client;
use axp_client::axp_core::api::{RegisterNickRequest, UpdateUserRequest};
use serde::Serialize;

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Whether a nick is free, and its normalised form and public address.
    Check {
        /// The nick, with or without `@`.
        nick: String,
    },
    /// Register a new user with a nick.
    Register {
        /// The nick, with or without `@` (3 to 32 of letters, digits, `_`, `.`, `-`).
        nick: String,
        #[command(flatten)]
        profile: ProfileFlags,
    },
    /// Give a user a new nick.
    Rename {
        /// The new nick.
        nick: String,
        /// The user's owner address, `agent://user/<user_id>` [default: your own].
        #[arg(long)]
        owner: Option<String>,
    },
    /// Show a user's profile; with any of the flags, change it.
    Profile {
        /// The user's owner address, `agent://user/<user_id>` [default: your own].
        #[arg(long)]
        owner: Option<String>,
        /// A new nick.
        #[arg(long)]
        nick: Option<String>,
        #[command(flatten)]
        profile: ProfileFlags,
    },
    /// Who has a nick.
    Resolve {
        /// The nick, with or without `@`.
        nick: String,
    },
}

/// Profile fields.
#[derive(clap::Args, Debug, Default)]
pub struct ProfileFlags {
    /// Display name (1 to 120 characters).
    #[arg(long)]
    display_name: Option<String>,
    /// Phone (3 to 32 characters).
    #[arg(long)]
    phone: Option<String>,
    /// Email (3 to 255 characters).
    #[arg(long)]
    email: Option<String>,
}

impl ProfileFlags {
    fn is_empty(&self) -> bool {
        self.display_name.is_none() && self.phone.is_none() && self.email.is_none()
    }
}

/// The owner given, or the caller's own address.
async fn owner_or_me(client: &Client, owner: Option<String>) -> anyhow::Result<String> {
    match owner {
        Some(owner) => Ok(owner),
        None => Ok(client.me().await?.owner_agent),
    }
}

/// Prints `body` without its `ok`: as JSON, or its fields as key/value pairs.
pub(crate) fn print<T: Serialize>(out: &Output, body: &T) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(body)?;
    if let Some(map) = value.as_object_mut() {
        map.remove("ok");
    }
    out.object(&value, || {
        value.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), super::brief(v, 80))).collect()
    });
    Ok(())
}

/// Runs one `users` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    match command {
        Command::Check { nick } => print(out, &client.check_nick(&nick).await?)?,
        Command::Register { nick, profile } => {
            let request = RegisterNickRequest {
                nick,
                display_name: profile.display_name,
                phone: profile.phone,
                email: profile.email,
            };
            print(out, &client.register_nick(&request).await?)?;
        }
        Command::Rename { nick, owner } => {
            let owner_agent = owner_or_me(&client, owner).await?;
            let request = UpdateUserRequest { owner_agent, nick: Some(nick), ..UpdateUserRequest::default() };
            print(out, &client.rename_nick(&request).await?)?;
        }
        Command::Profile { owner, nick, profile } => {
            let owner_agent = owner_or_me(&client, owner).await?;
            if nick.is_none() && profile.is_empty() {
                print(out, &client.get_profile(&owner_agent).await?)?;
            } else {
                let request = UpdateUserRequest {
                    owner_agent,
                    nick,
                    display_name: profile.display_name,
                    phone: profile.phone,
                    email: profile.email,
                };
                print(out, &client.update_profile(&request).await?)?;
            }
        }
        Command::Resolve { nick } => {
            let resolved = client.resolve_nick(&nick).await?;
            print(out, &resolved)?;
            if !resolved.resolved {
                out.tip(&format!("nobody has {} here", resolved.nick));
            }
        }
    }
    Ok(Exit::Ok)
}
