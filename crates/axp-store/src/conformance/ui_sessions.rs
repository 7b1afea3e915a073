//! Dashboard sign-in secrets: a login link works once and only before it expires; a session
//! reads back until it expires or is deleted; expired rows go when a new secret is stored.

use axp_core::Timestamp;

use super::{T0, after_ms};
use crate::{Error, KeyHash, Store, UiSecret, UiSecretKind};

fn secret(kind: UiSecretKind, credential: KeyHash, created_at: Timestamp, ttl_ms: i64) -> UiSecret {
    let raw = uuid::Uuid::new_v4().to_string();
    UiSecret {
        hash: KeyHash::of(&raw),
        kind,
        credential,
        created_at,
        expires_at: Timestamp::from_millis(created_at.as_millis() + ttl_ms),
    }
}

pub(super) async fn links_and_sessions(store: &dyn Store) {
    let credential = KeyHash::of(&uuid::Uuid::new_v4().to_string());
    let link = secret(UiSecretKind::LoginLink, credential, T0, 300_000);
    store.create_ui_secret(link).await.unwrap();
    assert!(
        matches!(store.create_ui_secret(link).await, Err(Error::Conflict { .. })),
        "a secret's hash is stored once"
    );
    // A link is no session, and a session's lookup does not take a link.
    assert_eq!(store.ui_session(&link.hash, after_ms(1)).await.unwrap(), None);
    assert_eq!(store.take_ui_login_link(&link.hash, after_ms(1)).await.unwrap(), Some(link));
    assert_eq!(store.take_ui_login_link(&link.hash, after_ms(2)).await.unwrap(), None, "used once");

    // An expired link is refused, and gone.
    let old = secret(UiSecretKind::LoginLink, credential, T0, 1_000);
    store.create_ui_secret(old).await.unwrap();
    assert_eq!(store.take_ui_login_link(&old.hash, after_ms(1_000)).await.unwrap(), None);
    assert_eq!(store.take_ui_login_link(&old.hash, after_ms(1)).await.unwrap(), None);

    let session = secret(UiSecretKind::Session, credential, T0, 10_000);
    store.create_ui_secret(session).await.unwrap();
    assert_eq!(store.ui_session(&session.hash, after_ms(9_999)).await.unwrap(), Some(session));
    assert_eq!(store.ui_session(&session.hash, after_ms(10_000)).await.unwrap(), None, "expired");
    assert_eq!(store.take_ui_login_link(&session.hash, after_ms(1)).await.unwrap(), None, "no link");
    assert_eq!(store.ui_session(&session.hash, after_ms(1)).await.unwrap(), Some(session));
    store.delete_ui_session(&session.hash).await.unwrap();
    store.delete_ui_session(&session.hash).await.unwrap();
    assert_eq!(store.ui_session(&session.hash, after_ms(1)).await.unwrap(), None, "signed out");

    // Storing a secret drops the ones expired by then.
    let short = secret(UiSecretKind::Session, credential, T0, 1_000);
    store.create_ui_secret(short).await.unwrap();
    store.create_ui_secret(secret(UiSecretKind::Session, credential, after_ms(2_000), 1_000)).await.unwrap();
    assert_eq!(store.ui_session(&short.hash, after_ms(1)).await.unwrap(), None, "pruned");
}
