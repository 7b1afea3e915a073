//! The agents registry and the agent side of delivery (contract §4.11, §4.12): list, register
//! with a delivery binding, change the binding, and claim work on the `poll` binding.

use axp_core::api::{
    Agent, AgentDelivery, AgentResponse, ClaimIntentsResponse, CreateServiceAccountRequest, DeliveryBinding,
    ListAgentsResponse, ServiceAccount, ServiceAccountResponse,
};

use crate::client::Client;
use crate::error::Result;
use crate::request::agent_path;

impl Client {
    /// `GET /v1/agents?limit=N`: the agents of the caller's workspace (the server's default limit
    /// is 100, at most 1000).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// for agent in client.list_agents(None).await? {
    ///     println!("{} ({})", agent.address, agent.connection_state.as_deref().unwrap_or("?"));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_agents(&self, limit: Option<u32>) -> Result<Vec<Agent>> {
        let mut url = self.url(["v1", "agents"]);
        if let Some(limit) = limit {
            url.query_pairs_mut().append_pair("limit", &limit.to_string());
        }
        let response: ListAgentsResponse = self.get_json(url).await?;
        Ok(response.agents)
    }

    /// `GET /v1/agents/{address}`: the registry record of one agent (contract §4.12). `address`
    /// may be `agent://org/ws/name`, `org/ws/name` or a bare name (normalised in the caller's
    /// workspace). 404 when no service account has that address.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let agent = client.get_agent("report-api-demo").await?;
    /// println!("{} listens on the {} binding", agent.address, agent.delivery_mode.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn get_agent(&self, address: &str) -> Result<Agent> {
        let mut segments = vec!["v1", "agents"];
        segments.extend(agent_path(address));
        let response: AgentResponse = self.get_json(self.url(segments)).await?;
        Ok(response.agent)
    }

    /// `POST /v1/service-accounts` with a delivery binding: registers an agent and chooses how
    /// intents reach it. For `http`, the response's `delivery_config.secret` is the signing
    /// secret, shown only here. Not retried (no idempotency key); 409 when the name or address
    /// is taken.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::{DeliveryBinding, RegisterAgentRequest};
    ///
    /// let request = RegisterAgentRequest {
    ///     name: "billing-worker".into(),
    ///     binding: Some(DeliveryBinding::poll()),
    ///     ..Default::default()
    /// };
    /// let account = client.register_agent(&request).await?;
    /// println!("registered {}", account.agent_address);
    /// # Ok(()) }
    /// ```
    pub async fn register_agent(&self, request: &CreateServiceAccountRequest) -> Result<ServiceAccount> {
        let response: ServiceAccountResponse =
            self.post_json(self.url(["v1", "service-accounts"]), request, None).await?;
        Ok(response.service_account)
    }

    /// `PUT /v1/agents/{address}/delivery`: changes how intents reach the agent. Returns the
    /// agent; for `http` with a new secret, `delivery_config.secret` shows it this once. Not
    /// retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::{Binding, DeliveryBinding};
    ///
    /// let binding = DeliveryBinding::http("https://agents.example.com/axp");
    /// let agent = client.set_agent_delivery("billing-worker", &binding).await?;
    /// assert_eq!(agent.delivery_mode, Some(Binding::Http));
    /// # Ok(()) }
    /// ```
    pub async fn set_agent_delivery(&self, address: &str, binding: &DeliveryBinding) -> Result<Agent> {
        let mut segments = vec!["v1", "agents"];
        segments.extend(agent_path(address));
        segments.push("delivery");
        let response: AgentResponse = self.put_json(self.url(segments), binding).await?;
        Ok(response.agent)
    }

    /// `POST /v1/agents/{address}/intents/claim`: the `poll` binding's pull. Leases up to `limit`
    /// (1 to 100) queued intents, each moved to DELIVERED; workers sharing the address never get
    /// the same intent while its lease runs. With `wait_seconds` (0 to 60) the server holds the
    /// request until something is queued or the time is up (then the list is empty). Not retried:
    /// a lost answer's intents come back when their lease expires.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use serde_json::json;
    ///
    /// loop {
    ///     for work in client.claim_intents("billing-worker", 10, 30).await? {
    ///         client.resume(work.intent_id, &json!({"action": "complete"})).await?;
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn claim_intents(
        &self,
        address: &str,
        limit: u32,
        wait_seconds: u32,
    ) -> Result<Vec<AgentDelivery>> {
        let mut segments = vec!["v1", "agents"];
        segments.extend(agent_path(address));
        segments.extend(["intents", "claim"]);
        let body = serde_json::json!({"limit": limit, "wait_seconds": wait_seconds});
        // A long poll may legitimately take `wait_seconds`: give the request that much more time.
        let response: ClaimIntentsResponse =
            self.post_json_with_extra_time(self.url(segments), &body, u64::from(wait_seconds)).await?;
        Ok(response.intents)
    }
}
