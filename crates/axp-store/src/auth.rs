//! Credential material: API keys, actor tokens and invite tokens are generated here, shown once
//! and stored as SHA-256 hashes.

use axp_core::Timestamp;
use axp_core::api::ActorToken;
use axp_core::ids::{ActorTokenId, ApiKeyId, ServiceAccountId, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// SHA-256 of a key's full token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    /// Hashes a presented token.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Lowercase hex, as stored.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A key about to be stored: everything but the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApiKey {
    /// Its id.
    pub key_id: ApiKeyId,
    /// Hash of the token.
    pub hash: KeyHash,
    /// `****` + the token's last four characters.
    pub hint: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Expiry, if any.
    pub expires_at: Option<Timestamp>,
}

impl NewApiKey {
    /// The record stored for this key of service account `account` (active, no token).
    pub fn record(&self, account: ServiceAccountId) -> crate::ApiKeyRecord {
        crate::ApiKeyRecord {
            key_id: self.key_id,
            service_account_id: account,
            key_hint: self.hint.clone(),
            status: "active".into(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: None,
            token: None,
        }
    }
}

/// Generates a token `axme_sa_<service_account_id>_<64 hex chars>` (contract §1.1) and the
/// record to store for it. The token is returned once and never stored.
pub fn generate_api_key(
    account: ServiceAccountId,
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> (String, NewApiKey) {
    let token = format!("axme_sa_{}_{}", account, random_hex::<32>());
    let hint = format!("****{}", &token[token.len() - 4..]);
    let key =
        NewApiKey { key_id: ApiKeyId::new(), hash: KeyHash::of(&token), hint, created_at: now, expires_at };
    (token, key)
}

/// An actor token about to be stored: everything but the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewActorToken {
    /// Its id.
    pub token_id: ActorTokenId,
    /// The person it authenticates.
    pub user_id: UserId,
    /// Hash of the token.
    pub hash: KeyHash,
    /// Issue time.
    pub created_at: Timestamp,
    /// When it stops authenticating.
    pub expires_at: Timestamp,
}

impl NewActorToken {
    /// The record stored for it (active).
    pub fn record(&self) -> ActorToken {
        ActorToken {
            token_id: self.token_id,
            user_id: self.user_id,
            status: "active".into(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: None,
        }
    }
}

/// Generates a person's actor token `axme_at_<64 hex chars>` (contract §1.1: an opaque session
/// token the server issues) for `user`, valid from `now` until `expires_at`, and the record to
/// store for it. The token is returned once and never stored.
pub fn generate_actor_token(user: UserId, now: Timestamp, expires_at: Timestamp) -> (String, NewActorToken) {
    let token = format!("axme_at_{}", random_hex::<32>());
    let new = NewActorToken {
        token_id: ActorTokenId::new(),
        user_id: user,
        hash: KeyHash::of(&token),
        created_at: now,
        expires_at,
    };
    (token, new)
}

/// Generates an invite token `axme_inv_<32 hex chars>` (URL-safe, 41 characters: the schemas
/// ask for 12 to 64) and its hash, the only form stored.
pub fn generate_invite_token() -> (String, KeyHash) {
    let token = format!("axme_inv_{}", random_hex::<16>());
    let hash = KeyHash::of(&token);
    (token, hash)
}

/// Generates a dashboard secret `axp_ui_<64 hex chars>` (a one-time login link's token or a
/// session cookie's value) and its hash, the only form stored.
pub fn generate_ui_secret() -> (String, KeyHash) {
    let secret = format!("axp_ui_{}", random_hex::<32>());
    let hash = KeyHash::of(&secret);
    (secret, hash)
}

/// `N` random bytes, hex-encoded.
fn random_hex<const N: usize>() -> String {
    let mut secret = [0u8; N];
    rand::rng().fill_bytes(&mut secret);
    hex::encode(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashed() {
        let sa = ServiceAccountId::new();
        let (a, ka) = generate_api_key(sa, Timestamp::from_millis(0), None);
        let (b, _) = generate_api_key(sa, Timestamp::from_millis(0), None);
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("axme_sa_{sa}_")));
        assert_eq!(KeyHash::of(&a), ka.hash);
        assert_eq!(ka.hint.len(), 8);
    }

    #[test]
    fn actor_and_invite_tokens_are_unique_and_hashed() {
        let now = Timestamp::from_millis(0);
        let (a, new) = generate_actor_token(UserId::new(), now, now.plus_seconds(60));
        let (b, _) = generate_actor_token(new.user_id, now, now.plus_seconds(60));
        assert_ne!(a, b);
        assert!(a.starts_with("axme_at_") && a.len() == 72, "{a}");
        assert_eq!(KeyHash::of(&a), new.hash);
        assert_eq!(new.record().status, "active");
        let (invite, hash) = generate_invite_token();
        assert!(invite.starts_with("axme_inv_") && (12..=64).contains(&invite.len()), "{invite}");
        assert_eq!(KeyHash::of(&invite), hash);
    }
}
