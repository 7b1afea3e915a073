//! Routes and transport bindings.

use async_trait::async_trait;
use axp_core::ids::{DeliveryId, IntentId, PrincipalId, RouteId, TransportBindingId};
use axp_core::routed::RoutedDelivery;
use axp_core::routing::{Route, TransportBinding, TransportType};
use axp_store::tables::RoutingTable;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

impl SqliteTx<'_> {
    /// The JSON bodies `sql` selects with `args`.
    fn bodies<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let rows = stmt.query_map(args, |r| r.get::<_, String>(0)).map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    /// The JSON body `sql` selects with `args`, if any.
    fn body<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Option<T>> {
        let body: Option<String> = self
            .conn
            .prepare_cached(sql)
            .map_err(db)?
            .query_row(args, |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }
}

#[async_trait]
impl RoutingTable for SqliteTx<'_> {
    async fn insert_route(&mut self, r: &Route) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO routes (workspace_id, route_id, principal_id, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![
                r.workspace_id.to_string(),
                r.route_id.to_string(),
                r.principal_id.to_string(),
                r.created_at.as_millis(),
                to_json(r)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn route(&mut self, id: RouteId, _for_update: bool) -> Result<Option<Route>> {
        self.body("SELECT body FROM routes WHERE route_id = ?1", params![id.to_string()])
    }

    async fn update_route(&mut self, r: &Route) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE routes SET body = ?3 WHERE workspace_id = ?1 AND route_id = ?2")
            .map_err(db)?
            .execute(params![r.workspace_id.to_string(), r.route_id.to_string(), to_json(r)?])
            .map_err(db)?;
        Ok(())
    }

    async fn delete_route(&mut self, ws: WorkspaceId, id: RouteId) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM routes WHERE workspace_id = ?1 AND route_id = ?2")
            .map_err(db)?
            .execute(params![ws.to_string(), id.to_string()])
            .map_err(db)?;
        Ok(n > 0)
    }

    async fn list_routes(
        &mut self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<Route>> {
        self.bodies(
            "SELECT body FROM routes WHERE workspace_id = ?1 AND (?2 IS NULL OR principal_id = ?2)
             ORDER BY created_at, route_id LIMIT ?3",
            params![ws.to_string(), principal.map(|p| p.to_string()), limit],
        )
    }

    async fn insert_transport_binding(&mut self, b: &TransportBinding) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO transport_bindings
                 (workspace_id, binding_id, principal_id, transport_type, transport_handle, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(db)?
            .execute(params![
                b.workspace_id.to_string(),
                b.binding_id.to_string(),
                b.principal_id.to_string(),
                b.transport_type.as_str(),
                b.transport_handle,
                b.created_at.as_millis(),
                to_json(b)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn transport_binding_by_key(
        &mut self,
        principal: PrincipalId,
        transport_type: TransportType,
        handle: &str,
        _for_update: bool,
    ) -> Result<Option<TransportBinding>> {
        self.body(
            "SELECT body FROM transport_bindings
             WHERE principal_id = ?1 AND transport_type = ?2 AND transport_handle = ?3",
            params![principal.to_string(), transport_type.as_str(), handle],
        )
    }

    async fn transport_binding(&mut self, id: TransportBindingId) -> Result<Option<TransportBinding>> {
        self.body("SELECT body FROM transport_bindings WHERE binding_id = ?1", params![id.to_string()])
    }

    async fn update_transport_binding(&mut self, b: &TransportBinding) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE transport_bindings SET body = ?3 WHERE workspace_id = ?1 AND binding_id = ?2",
            )
            .map_err(db)?
            .execute(params![b.workspace_id.to_string(), b.binding_id.to_string(), to_json(b)?])
            .map_err(db)?;
        Ok(())
    }

    async fn delete_transport_binding(&mut self, ws: WorkspaceId, id: TransportBindingId) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM transport_bindings WHERE workspace_id = ?1 AND binding_id = ?2")
            .map_err(db)?
            .execute(params![ws.to_string(), id.to_string()])
            .map_err(db)?;
        Ok(n > 0)
    }

    async fn list_transport_bindings(
        &mut self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<TransportBinding>> {
        self.bodies(
            "SELECT body FROM transport_bindings WHERE workspace_id = ?1 AND (?2 IS NULL OR principal_id = ?2)
             ORDER BY created_at, binding_id LIMIT ?3",
            params![ws.to_string(), principal.map(|p| p.to_string()), limit],
        )
    }

    async fn insert_routed_delivery(&mut self, d: &RoutedDelivery) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO routed_deliveries (workspace_id, delivery_id, principal_id, intent_id, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db)?
            .execute(params![
                d.workspace_id.to_string(),
                d.delivery_id.to_string(),
                d.principal_id.to_string(),
                d.intent_id.to_string(),
                d.created_at.as_millis(),
                to_json(d)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn routed_delivery(&mut self, ws: WorkspaceId, id: DeliveryId) -> Result<Option<RoutedDelivery>> {
        self.body(
            "SELECT body FROM routed_deliveries WHERE workspace_id = ?1 AND delivery_id = ?2",
            params![ws.to_string(), id.to_string()],
        )
    }

    async fn routed_delivery_for_intent(
        &mut self,
        ws: WorkspaceId,
        intent: IntentId,
    ) -> Result<Option<RoutedDelivery>> {
        self.body(
            "SELECT body FROM routed_deliveries WHERE workspace_id = ?1 AND intent_id = ?2",
            params![ws.to_string(), intent.to_string()],
        )
    }

    async fn list_routed_deliveries(
        &mut self,
        ws: WorkspaceId,
        principal: PrincipalId,
        limit: u32,
    ) -> Result<Vec<RoutedDelivery>> {
        self.bodies(
            "SELECT body FROM routed_deliveries WHERE workspace_id = ?1 AND principal_id = ?2
             ORDER BY created_at DESC, delivery_id DESC LIMIT ?3",
            params![ws.to_string(), principal.to_string(), limit],
        )
    }
}
