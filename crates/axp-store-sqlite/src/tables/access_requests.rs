//! Access requests.

use async_trait::async_trait;
use axp_core::api::AccessRequest;
use axp_core::ids::AccessRequestId;
use axp_store::AccessRequestFilter;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

#[async_trait]
impl AccessRequestTable for SqliteTx<'_> {
    async fn insert_access_request(&mut self, r: &AccessRequest) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO access_requests
                        (access_request_id, org_id, workspace_id, requester_actor_id, state, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(db)?
            .execute(params![
                r.access_request_id.to_string(),
                r.org_id.map(|o| o.to_string()),
                r.workspace_id.map(|w| w.to_string()),
                r.requester_actor_id,
                r.state.as_str(),
                r.created_at.as_millis(),
                to_json(r)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn access_request(
        &mut self,
        id: AccessRequestId,
        _for_update: bool,
    ) -> Result<Option<AccessRequest>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM access_requests WHERE access_request_id = ?1")
            .map_err(db)?
            .query_row(params![id.to_string()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn update_access_request(&mut self, r: &AccessRequest) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE access_requests SET state = ?2, body = ?3 WHERE access_request_id = ?1")
            .map_err(db)?
            .execute(params![r.access_request_id.to_string(), r.state.as_str(), to_json(r)?])
            .map_err(db)?;
        Ok(())
    }

    async fn list_access_requests(&mut self, f: &AccessRequestFilter) -> Result<Vec<AccessRequest>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT body FROM access_requests
                  WHERE (?1 IS NULL OR org_id = ?1)
                    AND (?2 IS NULL OR workspace_id = ?2)
                    AND (?3 IS NULL OR state = ?3)
                    AND (?4 IS NULL OR requester_actor_id = ?4 OR (?5 AND org_id IS NULL))
                  ORDER BY created_at DESC, access_request_id DESC LIMIT ?6",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(
                params![
                    f.org_id.map(|o| o.to_string()),
                    f.workspace_id.map(|w| w.to_string()),
                    f.state.map(|s| s.as_str()),
                    f.requester,
                    f.orgless,
                    f.limit
                ],
                |r| r.get::<_, String>(0),
            )
            .map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }
}
