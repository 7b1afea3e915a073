//! Dashboard login links and sessions (`docs/dashboard.md`). The rules kept here, once: a link
//! works once and only before it expires; a session only before it expires; expired rows go
//! whenever a new secret is stored.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_store::{KeyHash, Result, UiSecret, UiSecretKind, UiSessionStore};

use super::Ledger;

#[async_trait]
impl UiSessionStore for Ledger {
    async fn create_ui_secret(&self, secret: UiSecret) -> Result<()> {
        self.write(secret, |secret, tx| {
            Box::pin(async move {
                tx.delete_expired_ui_secrets(secret.created_at).await?;
                tx.insert_ui_secret(secret).await
            })
        })
        .await
    }

    async fn take_ui_login_link(&self, hash: &KeyHash, now: Timestamp) -> Result<Option<UiSecret>> {
        self.write((hash.0, now), |(hash, now), tx| {
            Box::pin(async move {
                let link = tx.take_ui_secret(hash, UiSecretKind::LoginLink).await?;
                Ok(link.filter(|l| l.expires_at > *now))
            })
        })
        .await
    }

    async fn ui_session(&self, hash: &KeyHash, now: Timestamp) -> Result<Option<UiSecret>> {
        self.read((hash.0, now), |(hash, now), tx| {
            Box::pin(async move {
                let session = tx.ui_secret(hash, UiSecretKind::Session).await?;
                Ok(session.filter(|s| s.expires_at > *now))
            })
        })
        .await
    }

    async fn delete_ui_session(&self, hash: &KeyHash) -> Result<()> {
        self.write(hash.0, |hash, tx| {
            Box::pin(async move { tx.take_ui_secret(hash, UiSecretKind::Session).await.map(drop) })
        })
        .await
    }
}
