//! Dashboard login links and sessions (`docs/dashboard.md`).

use async_trait::async_trait;
use axp_store::tables::UiSessionTable;
use axp_store::{KeyHash, UiSecret, UiSecretKind};
use r2d2_sqlite::rusqlite::{OptionalExtension, Row};

use super::*;

const COLUMNS: &str = "secret_hash, credential_hash, created_at, expires_at";

/// A 32-byte hash column.
fn hash_at(row: &Row<'_>, i: usize) -> rusqlite::Result<KeyHash> {
    let bytes: Vec<u8> = row.get(i)?;
    let hash = bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, "not a 32-byte hash".into())
    })?;
    Ok(KeyHash(hash))
}

fn secret(kind: UiSecretKind) -> impl Fn(&Row<'_>) -> rusqlite::Result<UiSecret> {
    move |r| {
        Ok(UiSecret {
            hash: hash_at(r, 0)?,
            kind,
            credential: hash_at(r, 1)?,
            created_at: Timestamp::from_millis(r.get(2)?),
            expires_at: Timestamp::from_millis(r.get(3)?),
        })
    }
}

#[async_trait]
impl UiSessionTable for SqliteTx<'_> {
    async fn insert_ui_secret(&mut self, s: &UiSecret) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO ui_sessions (secret_hash, kind, credential_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![
                s.hash.0.as_slice(),
                s.kind.as_str(),
                s.credential.0.as_slice(),
                s.created_at.as_millis(),
                s.expires_at.as_millis()
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn ui_secret(&mut self, hash: &[u8; 32], kind: UiSecretKind) -> Result<Option<UiSecret>> {
        let sql = format!("SELECT {COLUMNS} FROM ui_sessions WHERE secret_hash = ?1 AND kind = ?2");
        self.conn
            .prepare_cached(&sql)
            .map_err(db)?
            .query_row(params![hash.as_slice(), kind.as_str()], secret(kind))
            .optional()
            .map_err(db)
    }

    async fn take_ui_secret(&mut self, hash: &[u8; 32], kind: UiSecretKind) -> Result<Option<UiSecret>> {
        let sql = format!("DELETE FROM ui_sessions WHERE secret_hash = ?1 AND kind = ?2 RETURNING {COLUMNS}");
        self.conn
            .prepare_cached(&sql)
            .map_err(db)?
            .query_row(params![hash.as_slice(), kind.as_str()], secret(kind))
            .optional()
            .map_err(db)
    }

    async fn delete_expired_ui_secrets(&mut self, now: Timestamp) -> Result<u64> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM ui_sessions WHERE expires_at <= ?1")
            .map_err(db)?
            .execute(params![now.as_millis()])
            .map_err(db)?;
        Ok(n as u64)
    }
}
