//! Service accounts and their API keys (contract §4.10): create and read accounts, find the
//! caller's own account, issue and revoke keys.

use axp_core::api::{
    ApiKey, ApiKeyResponse, CreateServiceAccountRequest, ServiceAccount, ServiceAccountResponse,
};
use axp_core::{ApiKeyId, ServiceAccountId, Timestamp};

use crate::client::Client;
use crate::error::{Error, Result};

impl Client {
    /// `POST /v1/service-accounts`: a new agent identity in the caller's workspace.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::CreateServiceAccountRequest;
    ///
    /// let request = CreateServiceAccountRequest { name: "reporter".into(), ..Default::default() };
    /// let account = client.create_service_account(&request).await?;
    /// println!("{}", account.agent_address);
    /// # Ok(()) }
    /// ```
    pub async fn create_service_account(
        &self,
        request: &CreateServiceAccountRequest,
    ) -> Result<ServiceAccount> {
        let response: ServiceAccountResponse =
            self.post_json(self.url(["v1", "service-accounts"]), request, None).await?;
        Ok(response.service_account)
    }

    /// `GET /v1/service-accounts/{id}`: one service account of the caller's workspace; 404 for
    /// an unknown id (or one in another workspace).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::ServiceAccountId) -> axp_client::Result<()> {
    /// let account = client.get_service_account(id).await?;
    /// println!("{} is {}", account.name, account.agent_address);
    /// # Ok(()) }
    /// ```
    pub async fn get_service_account(&self, id: ServiceAccountId) -> Result<ServiceAccount> {
        let response: ServiceAccountResponse =
            self.get_json(self.url(["v1", "service-accounts", &id.to_string()])).await?;
        Ok(response.service_account)
    }

    /// The service account this client's API key belongs to: the account id is read from the key
    /// itself (`axme_sa_<service_account_id>_<secret>`, see [`service_account_id_from_key`]) and
    /// fetched with [`Client::get_service_account`]. Its `agent_address` is the `from_agent` of
    /// every intent this client creates.
    ///
    /// Fails with [`Error::Config`] when the key is not in that format, and with a 401
    /// ([`Error::is_auth`]) when the server does not accept it.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let me = client.whoami().await?;
    /// println!("sending as {}", me.agent_address);
    /// # Ok(()) }
    /// ```
    pub async fn whoami(&self) -> Result<ServiceAccount> {
        let key = self.inner.api_key.as_ref().and_then(|k| k.to_str().ok()).unwrap_or_default();
        let id = service_account_id_from_key(key).ok_or_else(|| {
            Error::Config("the API key is not a service account key (axme_sa_<id>_<secret>)".into())
        })?;
        self.get_service_account(id).await
    }

    /// `POST /v1/service-accounts/{id}/keys`: a new API key; its `token` is only ever returned here.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, account: axp_client::ServiceAccountId) -> axp_client::Result<()> {
    /// let key = client.create_api_key(account).await?;
    /// let token = key.token.expect("shown in the create response only");
    /// let as_agent = axp_client::Client::new(client.base_url().as_str(), token);
    /// # Ok(()) }
    /// ```
    pub async fn create_api_key(&self, service_account: ServiceAccountId) -> Result<ApiKey> {
        let url = self.url(["v1", "service-accounts", &service_account.to_string(), "keys"]);
        let response: ApiKeyResponse = self.post_json(url, &serde_json::json!({}), None).await?;
        Ok(response.key)
    }

    /// [`Client::create_api_key`] for a key that stops working at `expires_at`.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::ServiceAccountId) -> axp_client::Result<()> {
    /// use axp_client::axp_core::Timestamp;
    ///
    /// let until = Timestamp::parse_rfc3339("2027-01-01T00:00:00Z").expect("a valid date");
    /// let key = client.create_api_key_expiring(id, until).await?;
    /// assert_eq!(key.expires_at, Some(until));
    /// # Ok(()) }
    /// ```
    pub async fn create_api_key_expiring(
        &self,
        service_account: ServiceAccountId,
        expires_at: Timestamp,
    ) -> Result<ApiKey> {
        let url = self.url(["v1", "service-accounts", &service_account.to_string(), "keys"]);
        let body = serde_json::json!({"expires_at": expires_at});
        let response: ApiKeyResponse = self.post_json(url, &body, None).await?;
        Ok(response.key)
    }

    /// `POST /v1/service-accounts/{id}/keys/{key_id}/revoke`: the key stops working at once.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, account: axp_client::ServiceAccountId, key: axp_client::ApiKeyId) -> axp_client::Result<()> {
    /// let revoked = client.revoke_api_key(account, key).await?;
    /// assert_eq!(revoked.status, "revoked");
    /// # Ok(()) }
    /// ```
    pub async fn revoke_api_key(&self, service_account: ServiceAccountId, key: ApiKeyId) -> Result<ApiKey> {
        let url = self.url([
            "v1",
            "service-accounts",
            &service_account.to_string(),
            "keys",
            &key.to_string(),
            "revoke",
        ]);
        let response: ApiKeyResponse = self.post_json(url, &serde_json::json!({}), None).await?;
        Ok(response.key)
    }
}

/// The service account id inside an API key of the form `axme_sa_<service_account_id>_<secret>`
/// (contract §1.1), or `None` when the key has another form.
///
/// ```
/// let key = "axme_sa_0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e_s3cr3t";
/// let id = axp_client::service_account_id_from_key(key).unwrap();
/// assert_eq!(id.to_string(), "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e");
/// assert!(axp_client::service_account_id_from_key("not-a-key").is_none());
/// ```
pub fn service_account_id_from_key(key: &str) -> Option<ServiceAccountId> {
    let rest = key.trim().strip_prefix("axme_sa_")?;
    let (id, secret) = rest.split_once('_')?;
    if secret.is_empty() {
        return None;
    }
    id.parse().ok()
}
