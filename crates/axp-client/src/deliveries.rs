//! Push deliveries and dead letters (contract §5.5): every POST the server made to an `http`
//! agent or a webhook, with its attempts; dead-lettered ones can be replayed.

use axp_core::DeliveryId;
use axp_core::api::{DeliveryResponse, ListDeliveriesResponse};
use axp_core::delivery::{Delivery, DeliveryStatus};

use crate::client::Client;
use crate::error::Result;
use crate::request::strip_empty_query;

impl Client {
    /// `GET /v1/deliveries?status=…&limit=…`: the workspace's push deliveries, newest first
    /// (server default limit 50, at most 500), optionally only those in `status`.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::DeliveryStatus;
    ///
    /// for dead in client.list_deliveries(Some(DeliveryStatus::DeadLettered), None).await? {
    ///     println!("{} to {}: {:?}", dead.delivery_id, dead.url, dead.error_detail);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: Option<u32>,
    ) -> Result<Vec<Delivery>> {
        let mut url = self.url(["v1", "deliveries"]);
        {
            let mut query = url.query_pairs_mut();
            if let Some(status) = status {
                query.append_pair("status", status.as_str());
            }
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
        }
        strip_empty_query(&mut url);
        let response: ListDeliveriesResponse = self.get_json(url).await?;
        Ok(response.deliveries)
    }

    /// `GET /v1/deliveries/{id}`: one delivery with every attempt.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::DeliveryId) -> axp_client::Result<()> {
    /// let delivery = client.get_delivery(id).await?;
    /// for attempt in &delivery.attempts {
    ///     println!("#{} {:?} {:?}", attempt.attempt, attempt.status_code, attempt.error);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_delivery(&self, id: DeliveryId) -> Result<Delivery> {
        let response: DeliveryResponse =
            self.get_json(self.url(["v1", "deliveries", &id.to_string()])).await?;
        Ok(response.delivery)
    }

    /// `POST /v1/deliveries/{id}/replay`: a new delivery of the same body (same `webhook-id`),
    /// linked by `replay_of_delivery_id`, due now. 409 while the original is still pending or
    /// delivering, or when its intent has ended. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::DeliveryId) -> axp_client::Result<()> {
    /// let replay = client.replay_delivery(id).await?;
    /// assert_eq!(replay.replay_of_delivery_id, Some(id));
    /// # Ok(()) }
    /// ```
    pub async fn replay_delivery(&self, id: DeliveryId) -> Result<Delivery> {
        let url = self.url(["v1", "deliveries", &id.to_string(), "replay"]);
        let response: DeliveryResponse = self.post_json(url, &serde_json::json!({}), None).await?;
        Ok(response.delivery)
    }
}
