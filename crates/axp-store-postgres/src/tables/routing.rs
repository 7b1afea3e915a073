//! Routes and transport bindings.

use async_trait::async_trait;
use axp_core::ids::{DeliveryId, IntentId, PrincipalId, RouteId, TransportBindingId};
use axp_core::routed::RoutedDelivery;
use axp_core::routing::{Route, TransportBinding, TransportType};

use super::*;

#[async_trait]
impl RoutingTable for PgTx {
    async fn insert_route(&mut self, r: &Route) -> Result<()> {
        q("INSERT INTO routes (workspace_id, route_id, principal_id, created_at, body) VALUES ($1, $2, $3, $4, $5)")
            .bind(r.workspace_id.0)
            .bind(r.route_id.0)
            .bind(r.principal_id.0)
            .bind(r.created_at.as_millis())
            .bind(to_json(r)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn route(&mut self, id: RouteId, for_update: bool) -> Result<Option<Route>> {
        let sql = if for_update {
            "SELECT body FROM routes WHERE route_id = $1 FOR UPDATE"
        } else {
            "SELECT body FROM routes WHERE route_id = $1"
        };
        body(q(sql).bind(id.0).fetch_optional(self.conn()).await.map_err(db)?)
    }

    async fn update_route(&mut self, r: &Route) -> Result<()> {
        q("UPDATE routes SET body = $3 WHERE workspace_id = $1 AND route_id = $2")
            .bind(r.workspace_id.0)
            .bind(r.route_id.0)
            .bind(to_json(r)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn delete_route(&mut self, ws: WorkspaceId, id: RouteId) -> Result<bool> {
        let done = q("DELETE FROM routes WHERE workspace_id = $1 AND route_id = $2")
            .bind(ws.0)
            .bind(id.0)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_routes(
        &mut self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<Route>> {
        bodies(
            q("SELECT body FROM routes WHERE workspace_id = $1 AND ($2::uuid IS NULL OR principal_id = $2)
               ORDER BY created_at, route_id LIMIT $3")
            .bind(ws.0)
            .bind(principal.map(|p| p.0))
            .bind(i64::from(limit))
            .fetch_all(self.conn())
            .await
            .map_err(db)?,
        )
    }

    async fn insert_transport_binding(&mut self, b: &TransportBinding) -> Result<()> {
        q("INSERT INTO transport_bindings
           (workspace_id, binding_id, principal_id, transport_type, transport_handle, created_at, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(b.workspace_id.0)
        .bind(b.binding_id.0)
        .bind(b.principal_id.0)
        .bind(b.transport_type.as_str())
        .bind(&b.transport_handle)
        .bind(b.created_at.as_millis())
        .bind(to_json(b)?)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn transport_binding_by_key(
        &mut self,
        principal: PrincipalId,
        transport_type: TransportType,
        handle: &str,
        for_update: bool,
    ) -> Result<Option<TransportBinding>> {
        let sql = if for_update {
            "SELECT body FROM transport_bindings
             WHERE principal_id = $1 AND transport_type = $2 AND transport_handle = $3 FOR UPDATE"
        } else {
            "SELECT body FROM transport_bindings
             WHERE principal_id = $1 AND transport_type = $2 AND transport_handle = $3"
        };
        body(
            q(sql)
                .bind(principal.0)
                .bind(transport_type.as_str())
                .bind(handle)
                .fetch_optional(self.conn())
                .await
                .map_err(db)?,
        )
    }

    async fn transport_binding(&mut self, id: TransportBindingId) -> Result<Option<TransportBinding>> {
        body(
            q("SELECT body FROM transport_bindings WHERE binding_id = $1")
                .bind(id.0)
                .fetch_optional(self.conn())
                .await
                .map_err(db)?,
        )
    }

    async fn update_transport_binding(&mut self, b: &TransportBinding) -> Result<()> {
        q("UPDATE transport_bindings SET body = $3 WHERE workspace_id = $1 AND binding_id = $2")
            .bind(b.workspace_id.0)
            .bind(b.binding_id.0)
            .bind(to_json(b)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn delete_transport_binding(&mut self, ws: WorkspaceId, id: TransportBindingId) -> Result<bool> {
        let done = q("DELETE FROM transport_bindings WHERE workspace_id = $1 AND binding_id = $2")
            .bind(ws.0)
            .bind(id.0)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_transport_bindings(
        &mut self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<TransportBinding>> {
        bodies(
            q("SELECT body FROM transport_bindings WHERE workspace_id = $1 AND ($2::uuid IS NULL OR principal_id = $2)
               ORDER BY created_at, binding_id LIMIT $3")
            .bind(ws.0)
            .bind(principal.map(|p| p.0))
            .bind(i64::from(limit))
            .fetch_all(self.conn())
            .await
            .map_err(db)?,
        )
    }

    async fn insert_routed_delivery(&mut self, d: &RoutedDelivery) -> Result<()> {
        q("INSERT INTO routed_deliveries (workspace_id, delivery_id, principal_id, intent_id, created_at, body)
           VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(d.workspace_id.0)
        .bind(d.delivery_id.0)
        .bind(d.principal_id.0)
        .bind(d.intent_id.0)
        .bind(d.created_at.as_millis())
        .bind(to_json(d)?)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn routed_delivery(&mut self, ws: WorkspaceId, id: DeliveryId) -> Result<Option<RoutedDelivery>> {
        body(
            q("SELECT body FROM routed_deliveries WHERE workspace_id = $1 AND delivery_id = $2")
                .bind(ws.0)
                .bind(id.0)
                .fetch_optional(self.conn())
                .await
                .map_err(db)?,
        )
    }

    async fn routed_delivery_for_intent(
        &mut self,
        ws: WorkspaceId,
        intent: IntentId,
    ) -> Result<Option<RoutedDelivery>> {
        body(
            q("SELECT body FROM routed_deliveries WHERE workspace_id = $1 AND intent_id = $2")
                .bind(ws.0)
                .bind(intent.0)
                .fetch_optional(self.conn())
                .await
                .map_err(db)?,
        )
    }

    async fn list_routed_deliveries(
        &mut self,
        ws: WorkspaceId,
        principal: PrincipalId,
        limit: u32,
    ) -> Result<Vec<RoutedDelivery>> {
        bodies(
            q("SELECT body FROM routed_deliveries WHERE workspace_id = $1 AND principal_id = $2
               ORDER BY created_at DESC, delivery_id DESC LIMIT $3")
            .bind(ws.0)
            .bind(principal.0)
            .bind(i64::from(limit))
            .fetch_all(self.conn())
            .await
            .map_err(db)?,
        )
    }
}
