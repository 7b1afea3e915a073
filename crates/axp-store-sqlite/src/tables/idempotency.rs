//! Idempotency records: the workspace by its key, the caller and the intent by their 16 bytes
//! (migration 0025); the route, the client's key, the fingerprint and the body as text.

use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

#[async_trait]
impl IdempotencyTable for SqliteTx<'_> {
    /// The stored response for a live record of this claim: `Ok(Some(body))` on a fingerprint
    /// match, [`Error::IdempotencyConflict`] on a mismatch, `Ok(None)` when there is none (an
    /// expired record is deleted).
    async fn idempotent_replay(
        &mut self,
        ws: WorkspaceId,
        claim: &IdempotencyClaim,
    ) -> Result<Option<(IntentId, String)>> {
        let ws = self.ws_key(ws)?;
        let conn = &*self.conn;
        let row: Option<(i64, String, IntentId, String, i64)> = conn
            .prepare_cached(
                "SELECT rowid, fingerprint, intent_id, body, expires_at FROM idempotency
                  WHERE workspace_id = ?1 AND caller = ?2 AND route = ?3 AND key = ?4",
            )
            .map_err(db)?
            .query_row(params![ws, claim.caller.as_bytes(), claim.route, claim.key], |r| {
                Ok((r.get(0)?, r.get(1)?, blob_id(r, 2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
            .map_err(db)?;
        let Some((rowid, fingerprint, intent_id, body, expires_at)) = row else {
            return Ok(None);
        };
        if expires_at <= claim.now.as_millis() {
            conn.execute("DELETE FROM idempotency WHERE rowid = ?1", params![rowid]).map_err(db)?;
            return Ok(None);
        }
        if fingerprint != claim.fingerprint {
            return Err(Error::IdempotencyConflict);
        }
        Ok(Some((intent_id, body)))
    }

    async fn record_idempotency(
        &mut self,
        ws: WorkspaceId,
        claim: &IdempotencyClaim,
        intent_id: IntentId,
        body: &str,
    ) -> Result<()> {
        let ws = self.key_to_insert(Keyed::Workspace(ws))?;
        self.conn
            .prepare_cached(
                "INSERT INTO idempotency (workspace_id, caller, route, key, fingerprint, intent_id, body, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(db)?
            .execute(params![
                ws,
                claim.caller.as_bytes(),
                claim.route,
                claim.key,
                claim.fingerprint,
                id_blob(&intent_id),
                body,
                claim.expires_at.as_millis()
            ])
            .map_err(db)?;
        Ok(())
    }
}
