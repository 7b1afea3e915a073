//! Access requests.

use async_trait::async_trait;
use axp_core::api::AccessRequest;
use axp_core::ids::AccessRequestId;

use super::*;

#[async_trait]
impl AccessRequestTable for PgTx {
    async fn insert_access_request(&mut self, r: &AccessRequest) -> Result<()> {
        q("INSERT INTO access_requests
                  (access_request_id, org_id, workspace_id, requester_actor_id, state, created_at, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(r.access_request_id.0)
        .bind(r.org_id.map(|o| o.0))
        .bind(r.workspace_id.map(|w| w.0))
        .bind(&r.requester_actor_id)
        .bind(r.state.as_str())
        .bind(r.created_at.as_millis())
        .bind(to_json(r)?)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn access_request(
        &mut self,
        id: AccessRequestId,
        for_update: bool,
    ) -> Result<Option<AccessRequest>> {
        let sql = if for_update {
            "SELECT body FROM access_requests WHERE access_request_id = $1 FOR UPDATE"
        } else {
            "SELECT body FROM access_requests WHERE access_request_id = $1"
        };
        body(q(sql).bind(id.0).fetch_optional(self.conn()).await.map_err(db)?)
    }

    async fn update_access_request(&mut self, r: &AccessRequest) -> Result<()> {
        q("UPDATE access_requests SET state = $2, body = $3 WHERE access_request_id = $1")
            .bind(r.access_request_id.0)
            .bind(r.state.as_str())
            .bind(to_json(r)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn list_access_requests(&mut self, f: &AccessRequestFilter) -> Result<Vec<AccessRequest>> {
        bodies(
            q("SELECT body FROM access_requests
                WHERE ($1::uuid IS NULL OR org_id = $1)
                  AND ($2::uuid IS NULL OR workspace_id = $2)
                  AND ($3::text IS NULL OR state = $3)
                  AND ($4::text IS NULL OR requester_actor_id = $4 OR ($5 AND org_id IS NULL))
                ORDER BY created_at DESC, access_request_id DESC LIMIT $6")
            .bind(f.org_id.map(|o| o.0))
            .bind(f.workspace_id.map(|w| w.0))
            .bind(f.state.map(|s| s.as_str()))
            .bind(&f.requester)
            .bind(f.orgless)
            .bind(i64::from(f.limit))
            .fetch_all(self.conn())
            .await
            .map_err(db)?,
        )
    }
}
