//! People's names (contract §6 "Users / nicks"): nick normalisation, public addresses, and the
//! owner address of a user.
//!
//! A nick is normalised by trimming it, stripping one leading `@` and lowercasing it; the
//! normalised form must match `^[\w.-]{3,32}$` with `\w` in its ASCII sense (letters, digits,
//! `_`), as in the JSON Schemas (`api.users.*.v1.json`, ECMA-262 patterns). A user is known on
//! the wire as `@<nick>`, its public address is `<nick>@ax`, and its owner address (the
//! `owner_agent` of the users API, and its agent address when it calls with an actor token) is
//! `agent://user/<user_id>`.

use std::fmt;

use crate::ids::UserId;

/// The domain of public addresses: `<nick>@ax`.
pub const PUBLIC_DOMAIN: &str = "ax";

/// The prefix of a user's owner address: `agent://user/<user_id>`.
pub const USER_ADDRESS_PREFIX: &str = "agent://user/";

/// A normalised nick (`[A-Za-z0-9_.-]`, lowercase, 3 to 32 characters, no `@`).
///
/// ```
/// use axp_core::users::Nick;
///
/// let nick = Nick::parse("  @Invite.Conformance.User ")?;
/// assert_eq!(nick.as_str(), "invite.conformance.user");
/// assert_eq!(nick.handle(), "@invite.conformance.user");
/// assert_eq!(nick.public_address(), "invite.conformance.user@ax");
/// assert!(Nick::parse("@ab").is_err());
/// assert!(Nick::parse("@has space").is_err());
/// # Ok::<(), axp_core::users::InvalidNick>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nick(String);

/// The error of [`Nick::parse`]: the normalised form is not 3 to 32 of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a nick is 3 to 32 letters, digits, '_', '.' or '-', after an optional '@'")]
pub struct InvalidNick;

impl Nick {
    /// Normalises `raw` (trim, strip one leading `@`, lowercase) and checks the result.
    pub fn parse(raw: &str) -> Result<Self, InvalidNick> {
        let trimmed = raw.trim();
        let nick = trimmed.strip_prefix('@').unwrap_or(trimmed).to_ascii_lowercase();
        let valid = (3..=32).contains(&nick.len())
            && nick.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid { Ok(Self(nick)) } else { Err(InvalidNick) }
    }

    /// The normalised form, e.g. `alice`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The nick as the API shows it: `@alice`.
    pub fn handle(&self) -> String {
        format!("@{}", self.0)
    }

    /// The public address: `alice@ax`.
    pub fn public_address(&self) -> String {
        format!("{}@{PUBLIC_DOMAIN}", self.0)
    }
}

impl fmt::Display for Nick {
    /// The handle, `@alice`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

/// The owner address of a user: `agent://user/<user_id>`.
pub fn owner_agent(user: UserId) -> String {
    format!("{USER_ADDRESS_PREFIX}{user}")
}

/// The user an owner address names, when it is `agent://user/<uuid>`.
///
/// ```
/// use axp_core::users::{owner_agent, user_of};
///
/// let id = axp_core::UserId::new();
/// assert_eq!(user_of(&owner_agent(id)), Some(id));
/// assert_eq!(user_of("agent://acme/main/bot"), None);
/// assert_eq!(user_of("agent://user/not-a-uuid"), None);
/// ```
pub fn user_of(owner_agent: &str) -> Option<UserId> {
    owner_agent.trim().strip_prefix(USER_ADDRESS_PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(Nick::parse("Alice").unwrap().as_str(), "alice");
        assert_eq!(Nick::parse("@a_b-c.d").unwrap().handle(), "@a_b-c.d");
        assert_eq!(Nick::parse(&"x".repeat(32)).unwrap().as_str().len(), 32);
        for bad in ["", "@", "@@alice", "ab", "élan", "a/b", &"x".repeat(33)] {
            assert_eq!(Nick::parse(bad), Err(InvalidNick), "{bad:?}");
        }
    }
}
