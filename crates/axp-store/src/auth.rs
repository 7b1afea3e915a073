//! API key material: generation and hashing. Keys are shown once and stored as SHA-256 hashes.

use axp_core::Timestamp;
use axp_core::ids::{ApiKeyId, ServiceAccountId};
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
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("axme_sa_{}_{}", account, hex::encode(secret));
    let hint = format!("****{}", &token[token.len() - 4..]);
    let key =
        NewApiKey { key_id: ApiKeyId::new(), hash: KeyHash::of(&token), hint, created_at: now, expires_at };
    (token, key)
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
}
