//! Dashboard login links and sessions (`docs/dashboard.md`).

use async_trait::async_trait;

use super::*;

const COLUMNS: &str = "secret_hash, credential_hash, created_at, expires_at";

/// A 32-byte hash column.
fn hash_at(row: &PgRow, i: usize) -> Result<KeyHash> {
    let bytes: Vec<u8> = get(row, i)?;
    let hash = bytes.try_into().map_err(|_| Error::Internal(format!("column {i} is not a 32-byte hash")))?;
    Ok(KeyHash(hash))
}

fn secret(row: Option<PgRow>, kind: UiSecretKind) -> Result<Option<UiSecret>> {
    let Some(r) = row else { return Ok(None) };
    Ok(Some(UiSecret {
        hash: hash_at(&r, 0)?,
        kind,
        credential: hash_at(&r, 1)?,
        created_at: Timestamp::from_millis(get(&r, 2)?),
        expires_at: Timestamp::from_millis(get(&r, 3)?),
    }))
}

#[async_trait]
impl UiSessionTable for PgTx {
    async fn insert_ui_secret(&mut self, s: &UiSecret) -> Result<()> {
        q("INSERT INTO ui_sessions (secret_hash, kind, credential_hash, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5)")
        .bind(s.hash.0.as_slice())
        .bind(s.kind.as_str())
        .bind(s.credential.0.as_slice())
        .bind(s.created_at.as_millis())
        .bind(s.expires_at.as_millis())
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn ui_secret(&mut self, hash: &[u8; 32], kind: UiSecretKind) -> Result<Option<UiSecret>> {
        let sql = format!("SELECT {COLUMNS} FROM ui_sessions WHERE secret_hash = $1 AND kind = $2");
        let row = q(&sql)
            .bind(hash.as_slice())
            .bind(kind.as_str())
            .fetch_optional(self.conn())
            .await
            .map_err(db)?;
        secret(row, kind)
    }

    async fn take_ui_secret(&mut self, hash: &[u8; 32], kind: UiSecretKind) -> Result<Option<UiSecret>> {
        let sql = format!("DELETE FROM ui_sessions WHERE secret_hash = $1 AND kind = $2 RETURNING {COLUMNS}");
        let row = q(&sql)
            .bind(hash.as_slice())
            .bind(kind.as_str())
            .fetch_optional(self.conn())
            .await
            .map_err(db)?;
        secret(row, kind)
    }

    async fn delete_expired_ui_secrets(&mut self, now: Timestamp) -> Result<u64> {
        let done = q("DELETE FROM ui_sessions WHERE expires_at <= $1")
            .bind(now.as_millis())
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}
