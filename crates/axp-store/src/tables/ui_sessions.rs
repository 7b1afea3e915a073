//! Dashboard sign-in secrets (`docs/dashboard.md`): one-time login links and sessions, stored
//! by hash only.

use async_trait::async_trait;

use crate::Result;
use crate::ui_sessions::{UiSecret, UiSecretKind};

/// Table `ui_sessions`: one row per live login link or session, keyed by the SHA-256 of its
/// secret. Not scoped by workspace: a secret is looked up before anyone is known, like a key.
#[async_trait]
pub trait UiSessionTable {
    /// Stores `secret`. Errors: [`crate::Error::Conflict`] when its hash is taken.
    async fn insert_ui_secret(&mut self, secret: &UiSecret) -> Result<()>;

    /// The secret of `kind` with hash `hash`, whatever its expiry.
    async fn ui_secret(&mut self, hash: &[u8; 32], kind: UiSecretKind) -> Result<Option<UiSecret>>;

    /// Deletes the secret of `kind` with hash `hash` and returns it (whatever its expiry);
    /// `None` when there was none. Two transactions taking the same one: one gets it.
    async fn take_ui_secret(&mut self, hash: &[u8; 32], kind: UiSecretKind) -> Result<Option<UiSecret>>;

    /// Deletes every secret that expired at or before `now` (ms); returns how many.
    async fn delete_expired_ui_secrets(&mut self, now: axp_core::Timestamp) -> Result<u64>;
}
