//! What the dashboard asks of storage (`docs/dashboard.md`): one-time login links and sessions,
//! shared by every replica on the database. A part of [`crate::Store`] (its supertrait),
//! implemented by `axp_engine::Ledger` like the rest.
//!
//! Only the SHA-256 of a link's or session's secret is stored, with the hash of the credential
//! (API key or actor token) it acts as: the caller authenticates that credential again on every
//! use, so a session never has more rights than its credential has now, and dies with it.

use async_trait::async_trait;
use axp_core::Timestamp;

use crate::{KeyHash, Result};

/// What a dashboard secret is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UiSecretKind {
    /// A one-time login link (`/ui/login/{token}`): taken by its first use.
    LoginLink,
    /// A signed-in browser's session cookie.
    Session,
}

impl UiSecretKind {
    /// As stored: `login_link` or `session`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginLink => "login_link",
            Self::Session => "session",
        }
    }
}

/// A dashboard secret as stored (never the secret itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UiSecret {
    /// SHA-256 of the secret.
    pub hash: KeyHash,
    /// Link or session.
    pub kind: UiSecretKind,
    /// SHA-256 of the API key or actor token whose principal it acts as.
    pub credential: KeyHash,
    /// When it was made (ms since the epoch).
    pub created_at: Timestamp,
    /// When it stops working (ms since the epoch).
    pub expires_at: Timestamp,
}

/// Dashboard sign-in storage; see [`crate::Store`] for the conventions (every call one
/// transaction or one read).
#[async_trait]
pub trait UiSessionStore {
    /// Stores `secret`, dropping every secret expired at its `created_at` in the same
    /// transaction (so expired rows never pile up). Errors: [`crate::Error::Conflict`] when its
    /// hash is taken.
    async fn create_ui_secret(&self, secret: UiSecret) -> Result<()>;

    /// Uses up the login link with hash `hash`: deletes it and returns it when it had not
    /// expired at `now`. `None` for an unknown, used or expired link; of two concurrent uses,
    /// one gets it.
    async fn take_ui_login_link(&self, hash: &KeyHash, now: Timestamp) -> Result<Option<UiSecret>>;

    /// The session with hash `hash`, when it has not expired at `now`.
    async fn ui_session(&self, hash: &KeyHash, now: Timestamp) -> Result<Option<UiSecret>>;

    /// Ends the session with hash `hash` (signing out); idempotent.
    async fn delete_ui_session(&self, hash: &KeyHash) -> Result<()>;
}
