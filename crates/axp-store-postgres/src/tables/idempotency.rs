//! Idempotency records.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl IdempotencyTable for PgTx {
    /// The stored response for a live record of this claim: `Ok(Some(body))` on a fingerprint
    /// match, [`Error::IdempotencyConflict`] on a mismatch, `Ok(None)` when there is none (an
    /// expired record is deleted). Takes an advisory lock on the key first, so a concurrent request
    /// with the same key on any replica waits for this one's commit and then replays it.
    async fn idempotent_replay(
        &mut self,
        ws: WorkspaceId,
        claim: &IdempotencyClaim,
    ) -> Result<Option<(IntentId, String)>> {
        let conn = self.conn();
        lock_key(
            &mut *conn,
            &format!("idem\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}", ws, claim.caller, claim.route, claim.key),
        )
        .await?;
        let row = q("SELECT fingerprint, intent_id, body, expires_at FROM idempotency
                      WHERE workspace_id = $1 AND caller = $2 AND route = $3 AND key = $4")
        .bind(ws.0)
        .bind(claim.caller)
        .bind(&claim.route)
        .bind(&claim.key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        let (fingerprint, intent_id, body, expires_at): (String, Uuid, String, i64) =
            (get(&r, 0)?, get(&r, 1)?, get(&r, 2)?, get(&r, 3)?);
        if expires_at <= claim.now.as_millis() {
            q("DELETE FROM idempotency WHERE workspace_id = $1 AND caller = $2 AND route = $3 AND key = $4")
                .bind(ws.0)
                .bind(claim.caller)
                .bind(&claim.route)
                .bind(&claim.key)
                .execute(conn)
                .await
                .map_err(db)?;
            return Ok(None);
        }
        if fingerprint != claim.fingerprint {
            return Err(Error::IdempotencyConflict);
        }
        Ok(Some((IntentId(intent_id), body)))
    }

    async fn record_idempotency(
        &mut self,
        ws: WorkspaceId,
        claim: &IdempotencyClaim,
        intent_id: IntentId,
        body: &str,
    ) -> Result<()> {
        let conn = self.conn();
        q("INSERT INTO idempotency (workspace_id, caller, route, key, fingerprint, intent_id, body, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(ws.0)
        .bind(claim.caller)
        .bind(&claim.route)
        .bind(&claim.key)
        .bind(&claim.fingerprint)
        .bind(intent_id.0)
        .bind(body)
        .bind(claim.expires_at.as_millis())
        .execute(conn)
        .await
        .map_err(db)?;
        Ok(())
    }
}
