//! Signing pushes twice over the same raw body (contract §5.4):
//!
//! - `X-AXME-Signature: sha256=<lowercase hex HMAC-SHA256(secret, body)>`, keyed with the secret
//!   string as given (what AXME example receivers verify);
//! - Standard Webhooks: `webhook-id`, `webhook-timestamp` (Unix seconds) and
//!   `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, where `key` is
//!   the base64-decoded part after `whsec_` (or the raw secret when it has no such prefix).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of generated secrets (Standard Webhooks convention).
pub const SECRET_PREFIX: &str = "whsec_";

/// A new random secret, `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The Standard Webhooks key bytes of `secret`.
fn standard_key(secret: &str) -> Vec<u8> {
    match secret.strip_prefix(SECRET_PREFIX).map(|b64| STANDARD.decode(b64)) {
        Some(Ok(bytes)) => bytes,
        _ => secret.as_bytes().to_vec(),
    }
}

/// The signature headers of one push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signatures {
    /// `X-AXME-Signature` value: `sha256=<hex>`.
    pub axme: String,
    /// `webhook-signature` value: `v1,<base64>`.
    pub standard: String,
}

/// Signs `body` sent as message `id` at `timestamp` (Unix seconds).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Signatures {
    let axme = format!("sha256={}", hex::encode(hmac(secret.as_bytes(), &[body])));
    let ts = timestamp.to_string();
    let digest = hmac(&standard_key(secret), &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    Signatures { axme, standard: format!("v1,{}", STANDARD.encode(digest)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // From the Standard Webhooks specification's test vectors.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig.standard, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn axme_signature_is_hex_hmac_of_the_body() {
        let sig = sign("shared-secret", "id", 0, b"{}");
        assert!(sig.axme.starts_with("sha256="));
        assert_eq!(sig.axme.len(), "sha256=".len() + 64);
        assert_eq!(sig.axme, sign("shared-secret", "other-id", 99, b"{}").axme, "no id or timestamp in it");
    }

    #[test]
    fn generated_secrets_decode_to_32_bytes() {
        let s = generate_secret();
        assert!(s.starts_with(SECRET_PREFIX));
        assert_eq!(standard_key(&s).len(), 32);
    }
}
