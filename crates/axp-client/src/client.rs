//! [`Client`]: one method per REST call, plus the SSE streams.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axp_core::api::{
    Agent, AgentDelivery, AgentResponse, ApiKeyResponse, ApplyScenarioResponse, BulkCancelRequest,
    BulkCancelResponse, CreateIntentRequest, CreateIntentResponse, CreateServiceAccountRequest,
    EventsResponse, Health, IntentResponse, ListIntentsResponse, MutationResponse, ServiceAccountResponse,
    ValidateScenarioResponse,
};
use axp_core::api::{ApiKey, ServiceAccount};
use axp_core::{ApiKeyId, Intent, IntentEvent, IntentId, ServiceAccountId, Status, Timestamp};
use bytes::Bytes;
use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, USER_AGENT};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize as _, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::follow::{Step, follow};
use crate::retry::{self, Attempt, Outcome, Policy};
use crate::sse::{self, AgentStreamItem, StreamItem};

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// The header that makes a `POST` safe to repeat (contract §1.8).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
const CLIENT_NAME: &str = concat!("axp-client/", env!("CARGO_PKG_VERSION"));

/// Default total timeout of a non-streaming call (each attempt).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default wait window of each response that [`Client::observe`] and [`Client::listen`] open.
pub const DEFAULT_STREAM_WAIT_SECONDS: u32 = 30;
/// Default slack added to a stream's `wait_seconds` to get its read deadline.
pub const DEFAULT_STREAM_GRACE: Duration = Duration::from_secs(10);

/// An async client for one axp server and one API key.
///
/// Cheap to clone (the connection pool and configuration are shared), `Send + Sync`, and meant to
/// be created once and reused.
///
/// Every call sends the key as `x-api-key`. A non-2xx answer becomes [`Error::Api`] with the
/// envelope's code; GETs, and POSTs given an idempotency key, are retried on 429/5xx and transport
/// failures (see [`ClientBuilder::max_retries`]). POSTs without a key are never retried.
///
/// ```no_run
/// use axp_client::{Client, CreateIntentRequest};
///
/// # #[tokio::main] async fn main() -> axp_client::Result<()> {
/// let client = Client::new("http://127.0.0.1:8080", "axme_sa_…");
/// let request = CreateIntentRequest {
///     intent_type: "notify.message.v1".into(),
///     to_agent: "agent://acme/main/notifier".into(),
///     payload: serde_json::json!({"text": "hello"}).as_object().cloned().unwrap_or_default(),
///     correlation_id: None,
///     reply_to: None,
///     deadline_at: None,
///     max_delivery_attempts: None,
///     human_task: None,
/// };
/// let created = client.create_intent(&request, Some("send-hello-1")).await?;
/// let intent = client.wait_for(created.intent_id).await?;
/// println!("{} ended {}", intent.intent_id, intent.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    api_key: HeaderValue,
    timeout: Duration,
    policy: Policy,
    stream_wait_seconds: u32,
    stream_grace: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("api_key", &"<redacted>")
            .field("timeout", &self.inner.timeout)
            .field("max_retries", &self.inner.policy.max_retries)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]; start with [`Client::builder`].
///
/// ```no_run
/// use std::time::Duration;
///
/// # fn main() -> axp_client::Result<()> {
/// let client = axp_client::Client::builder("https://axp.example.com", "axme_sa_…")
///     .timeout(Duration::from_secs(10))
///     .max_retries(4)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    api_key: String,
    timeout: Duration,
    connect_timeout: Duration,
    max_retries: u32,
    retry_after_cap: Duration,
    stream_wait_seconds: u32,
    stream_grace: Duration,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Total time allowed for each attempt of a non-streaming call, connect to last body byte.
    /// Default 30 s. Stream calls use their own deadline (see [`ClientBuilder::stream_grace`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time allowed to establish a connection. Default 10 s. Ignored with
    /// [`ClientBuilder::http_client`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retries after the first attempt for idempotent calls (GETs, and POSTs with an
    /// idempotency key) on 429/500/502/503/504 and transport failures. Default 2; 0 disables
    /// retries. Waits 200 ms · 2ⁿ before retry n, or the server's integer `Retry-After`.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The longest wait a server's `Retry-After` can impose before a retry. Default 30 s.
    pub fn retry_after_cap(mut self, cap: Duration) -> Self {
        self.retry_after_cap = cap;
        self
    }

    /// The `wait_seconds` of each response opened by [`Client::observe`] and
    /// [`Client::listen`], clamped to the server's 1 to 60. Default 30.
    pub fn stream_wait_seconds(mut self, seconds: u32) -> Self {
        self.stream_wait_seconds = seconds.clamp(1, 60);
        self
    }

    /// Slack added to a stream's `wait_seconds` to get the deadline for the whole response: the
    /// server closes it after `wait_seconds`, so a response still open after
    /// `wait_seconds + grace` is treated as a dead connection. Default 10 s.
    pub fn stream_grace(mut self, grace: Duration) -> Self {
        self.stream_grace = grace;
        self
    }

    /// Uses this `reqwest` client (proxies, custom TLS roots, …) instead of building one.
    /// Per-call timeouts still apply; [`ClientBuilder::connect_timeout`] does not.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`Error::Config`] when the base URL is not an absolute `http(s)` URL, when the
    /// API key is not a valid header value, or when the HTTP client cannot be built.
    pub fn build(self) -> Result<Client> {
        let base_url = Url::parse(self.base_url.trim())
            .map_err(|e| Error::Config(format!("base URL {:?}: {e}", self.base_url)))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(Error::Config(format!("base URL {:?} must be an http(s) URL", self.base_url)));
        }
        let mut api_key = HeaderValue::from_str(self.api_key.trim())
            .map_err(|_| Error::Config("the API key is not a valid header value".into()))?;
        api_key.set_sensitive(true);
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                api_key,
                timeout: self.timeout,
                policy: Policy { max_retries: self.max_retries, retry_after_cap: self.retry_after_cap },
                stream_wait_seconds: self.stream_wait_seconds,
                stream_grace: self.stream_grace,
            }),
        })
    }
}

/// One HTTP request, kept so it can be sent again.
struct Request {
    method: Method,
    url: Url,
    body: Option<Bytes>,
    idempotency_key: Option<String>,
    accept: &'static str,
    timeout: Duration,
}

impl Request {
    fn describe(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }
}

impl Client {
    /// A client with default settings for the server at `base_url` (e.g.
    /// `http://127.0.0.1:8080`; a path prefix is kept) using `api_key`.
    ///
    /// ```no_run
    /// let client = axp_client::Client::new("http://127.0.0.1:8080", "axme_sa_…");
    /// ```
    ///
    /// # Panics
    ///
    /// When `base_url` is not an absolute `http(s)` URL, or `api_key` is not a valid header
    /// value (like `reqwest::Client::new`, which panics when TLS cannot be initialised). Use
    /// [`Client::try_new`] or [`Client::builder`] to get an [`Error::Config`] instead.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self::try_new(base_url, api_key).unwrap_or_else(|e| panic!("axp_client::Client::new: {e}"))
    }

    /// [`Client::new`] without the panic: fails with [`Error::Config`] on an invalid base URL or
    /// API key.
    ///
    /// ```no_run
    /// # fn main() -> axp_client::Result<()> {
    /// let url = std::env::var("AXP_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    /// let client = axp_client::Client::try_new(url, "axme_sa_…")?;
    /// # Ok(()) }
    /// ```
    pub fn try_new(base_url: impl Into<String>, api_key: impl Into<String>) -> Result<Self> {
        Self::builder(base_url, api_key).build()
    }

    /// A [`ClientBuilder`] to set timeouts and retries before building.
    ///
    /// ```no_run
    /// let client = axp_client::Client::builder("http://127.0.0.1:7420", "axme_sa_…")
    ///     .max_retries(4)
    ///     .build()
    ///     .expect("a valid URL and key");
    /// ```
    pub fn builder(base_url: impl Into<String>, api_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            api_key: api_key.into(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_retries: retry::DEFAULT_MAX_RETRIES,
            retry_after_cap: retry::DEFAULT_RETRY_AFTER_CAP,
            stream_wait_seconds: DEFAULT_STREAM_WAIT_SECONDS,
            stream_grace: DEFAULT_STREAM_GRACE,
            http: None,
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// Retries allowed after the first attempt of an idempotent call.
    pub fn max_retries(&self) -> u32 {
        self.inner.policy.max_retries
    }

    // ---- health ----

    /// `GET /health`: liveness and version. Needs no valid key.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let health = client.health().await?;
    /// println!("{} {}", health.service, health.version);
    /// # Ok(()) }
    /// ```
    pub async fn health(&self) -> Result<Health> {
        self.get_json(self.url(["health"])).await
    }

    // ---- intents ----

    /// `POST /v1/intents`: submits an intent.
    ///
    /// With an `idempotency_key` the call is safe to repeat (and is retried): the server returns
    /// the original response, same `intent_id`, for the same key and body, and a 409
    /// `idempotency_conflict` for the same key with a different body. Without one it is sent once.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::CreateIntentRequest;
    ///
    /// let request = CreateIntentRequest {
    ///     intent_type: "intent.report.generate.v1".into(),
    ///     to_agent: "agent://acme/main/reporter".into(),
    ///     payload: serde_json::json!({"quarter": "Q1"}).as_object().cloned().unwrap_or_default(),
    ///     correlation_id: None,
    ///     reply_to: None,
    ///     deadline_at: None,
    ///     max_delivery_attempts: Some(3),
    ///     human_task: None,
    /// };
    /// let created = client.create_intent(&request, Some("report-q1")).await?;
    /// println!("{} is {}", created.intent_id, created.status);
    /// # Ok(()) }
    /// ```
    pub async fn create_intent(
        &self,
        request: &CreateIntentRequest,
        idempotency_key: Option<&str>,
    ) -> Result<CreateIntentResponse> {
        self.post_json(self.url(["v1", "intents"]), request, idempotency_key).await
    }

    /// `POST /v1/intents` with an arbitrary JSON body, returning the raw response body. For
    /// protocol tests (camelCase aliases, unknown fields, invalid bodies).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let body = serde_json::json!({"intentType": "notify.message.v1", "toAgent": "agent://acme/main/bot", "payload": {}});
    /// let created = client.create_intent_raw(&body, None).await?;
    /// println!("{}", created["intent_id"]);
    /// # Ok(()) }
    /// ```
    pub async fn create_intent_raw(&self, body: &Value, idempotency_key: Option<&str>) -> Result<Value> {
        self.post_json(self.url(["v1", "intents"]), body, idempotency_key).await
    }

    /// `GET /v1/intents/{id}`: the intent, decoded into [`Intent`].
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let intent = client.get_intent(id).await?;
    /// println!("{} {} (last event #{})", intent.intent_id, intent.status, intent.last_seq);
    /// # Ok(()) }
    /// ```
    pub async fn get_intent(&self, id: IntentId) -> Result<Intent> {
        let response: IntentResponse = self.get_json(self.intent_url(id, &[])).await?;
        decode_intent(&response.intent)
    }

    /// `GET /v1/intents/{id}`, returning the whole raw body `{"ok": true, "intent": {…}}` with
    /// every wire field (`lifecycle_status`, `legacy_status`, `due_at`, …).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let body = client.get_intent_raw(id).await?;
    /// println!("{}", body["intent"]["lifecycle_status"]);
    /// # Ok(()) }
    /// ```
    pub async fn get_intent_raw(&self, id: IntentId) -> Result<Value> {
        self.get_json(self.intent_url(id, &[])).await
    }

    /// `GET /v1/intents?status=…&to_agent=…&limit=…`: intents visible to the caller, filtered by
    /// any of `status` (all when empty) and by target.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::Status;
    ///
    /// for intent in client.list_intents(&[Status::Waiting], None, Some(20)).await? {
    ///     println!("{} waits: {:?}", intent.intent_id, intent.waiting_reason);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_intents(
        &self,
        status: &[Status],
        to_agent: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<Intent>> {
        let mut url = self.url(["v1", "intents"]);
        {
            let mut query = url.query_pairs_mut();
            if !status.is_empty() {
                let list: Vec<&str> = status.iter().map(|s| s.as_str()).collect();
                query.append_pair("status", &list.join(","));
            }
            if let Some(to_agent) = to_agent {
                query.append_pair("to_agent", to_agent);
            }
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
        }
        strip_empty_query(&mut url);
        let response: ListIntentsResponse = self.get_json(url).await?;
        response.intents.iter().map(decode_intent).collect()
    }

    /// `GET /v1/intents/{id}/events?since=N`: the events with `seq > since`, ascending
    /// (`since = 0` for all of them).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let history = client.list_events(id, 0).await?;
    /// for event in history.events {
    ///     println!("#{} {} {}", event.seq, event.event_type, event.status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_events(&self, id: IntentId, since: u64) -> Result<EventsResponse> {
        let mut url = self.intent_url(id, &["events"]);
        if since > 0 {
            url.query_pairs_mut().append_pair("since", &since.to_string());
        }
        self.get_json(url).await
    }

    /// `POST /v1/intents/{id}/resolve`: ends the intent, e.g.
    /// `{"status": "COMPLETED", "result": {…}}`, `{"status": "FAILED", "error": {…}}` or
    /// `{"status": "CANCELED", "reason": "…"}`. A second resolve is a 409 ([`Error::is_conflict`]).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// use axp_client::IntentExt;
    ///
    /// let done = client.resolve(id, &serde_json::json!({"status": "COMPLETED", "result": {"ok": true}})).await?;
    /// assert_eq!(done.typed_intent()?.status, axp_client::Status::Completed);
    /// # Ok(()) }
    /// ```
    pub async fn resolve(&self, id: IntentId, body: &Value) -> Result<MutationResponse> {
        self.post_json(self.intent_url(id, &["resolve"]), body, None).await
    }

    /// `POST /v1/intents/{id}/resume`: continues a blocked intent or reports an agent's step
    /// result (contract §4.7). `{"approve_current_step": true}` only moves it to IN_PROGRESS;
    /// `{"action": "complete", …}` completes the step; `{"task_result": {"outcome": …}}` answers
    /// a human task.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// use serde_json::json;
    ///
    /// // An agent reports its step's result: the intent completes.
    /// client.resume(id, &json!({"action": "complete", "report_url": "https://reports.example/q1.pdf"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn resume(&self, id: IntentId, body: &Value) -> Result<MutationResponse> {
        self.post_json(self.intent_url(id, &["resume"]), body, None).await
    }

    /// `POST /v1/intents/{id}/controls`: `{"controls_patch": {…}, "expected_policy_generation": n}`
    /// (contract §4.8). A stale generation is a 409 `stale_policy_generation`.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// use serde_json::json;
    ///
    /// let r = client.update_controls(id, &json!({"controls_patch": {"timeout_seconds": 600}, "expected_policy_generation": 0})).await?;
    /// assert_eq!(r.policy_generation, 1);
    /// # Ok(()) }
    /// ```
    pub async fn update_controls(&self, id: IntentId, body: &Value) -> Result<MutationResponse> {
        self.post_json(self.intent_url(id, &["controls"]), body, None).await
    }

    /// `POST /v1/intents/{id}/policy`: `{"grants_patch": {…}, "envelope_patch": {…}}`
    /// (contract §4.8).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// use serde_json::json;
    ///
    /// let grants = json!({"grants_patch": {"delegate:agent://acme/main/ops": {"allow": ["resume"]}}});
    /// client.update_policy(id, &grants).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_policy(&self, id: IntentId, body: &Value) -> Result<MutationResponse> {
        self.post_json(self.intent_url(id, &["policy"]), body, None).await
    }

    /// Cancels intent `id`: `POST /v1/intents/{id}/resolve` with
    /// `{"status": "CANCELED", "reason": reason}`. A terminal intent answers 409
    /// ([`Error::is_conflict`]).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let canceled = client.cancel(id, "superseded by a newer report").await?;
    /// assert_eq!(canceled.event.map(|e| e.status), Some(axp_client::Status::Canceled));
    /// # Ok(()) }
    /// ```
    pub async fn cancel(&self, id: IntentId, reason: &str) -> Result<MutationResponse> {
        self.resolve(id, &serde_json::json!({"status": "CANCELED", "reason": reason})).await
    }

    /// Answers the human task that intent `id` waits on (contract §4.9):
    /// `POST /v1/intents/{id}/resume` with `{"task_result": task_result}`.
    ///
    /// `task_result` needs an `outcome` (`approved`, `rejected`, `confirmed`, `completed`, … or
    /// one of the task's `allowed_outcomes`), and a `comment` when the task requires one; form
    /// fields go at its top level. A result the task does not accept is a 422
    /// `task_result_invalid`; an intent that is not waiting for a human is a 409.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// use serde_json::json;
    ///
    /// client.submit_task_result(id, &json!({"outcome": "approved", "comment": "ship it"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_task_result(&self, id: IntentId, task_result: &Value) -> Result<MutationResponse> {
        self.resume(id, &serde_json::json!({"task_result": task_result})).await
    }

    /// `POST /v1/intents/bulk-cancel` (contract §5.8): cancels the workspace's non-terminal
    /// intents created at least `older_than_hours` ago (oldest first, up to `limit`), or with
    /// `dry_run` only lists them. Intents the caller may not resolve are skipped. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::{BulkCancelRequest, Status};
    ///
    /// let request = BulkCancelRequest {
    ///     older_than_hours: 24,
    ///     dry_run: true,
    ///     status_filter: vec![Status::Waiting],
    ///     ..Default::default()
    /// };
    /// let preview = client.bulk_cancel(&request).await?;
    /// println!("would cancel {} intents", preview.would_cancel);
    /// # Ok(()) }
    /// ```
    pub async fn bulk_cancel(&self, request: &BulkCancelRequest) -> Result<BulkCancelResponse> {
        self.post_json(self.url(["v1", "intents", "bulk-cancel"]), request, None).await
    }

    // ---- service accounts ----

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
        let key = self.inner.api_key.to_str().unwrap_or_default();
        let id = service_account_id_from_key(key).ok_or_else(|| {
            Error::Config("the API key is not a service account key (axme_sa_<id>_<secret>)".into())
        })?;
        self.get_service_account(id).await
    }

    // ---- agents ----

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

    // ---- scenarios ----

    /// `POST /v1/scenarios/apply`: provisions a scenario bundle's agents and starts its intent.
    ///
    /// Like the Python SDK, the idempotency key goes both in the `Idempotency-Key` header and in
    /// the body's `idempotency_key` (added when the body lacks one). A body `idempotency_key`
    /// alone also makes the call retryable.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let bundle: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("scenario.json").unwrap()).unwrap();
    /// let applied = client.apply_scenario(&bundle, Some("scenario-2026-02")).await?;
    /// println!("intent {} for {}", applied.intent_id, applied.pending_with);
    /// # Ok(()) }
    /// ```
    pub async fn apply_scenario(
        &self,
        bundle: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<ApplyScenarioResponse> {
        let url = self.url(["v1", "scenarios", "apply"]);
        let body_key = bundle.get("idempotency_key").and_then(Value::as_str);
        match (idempotency_key, bundle) {
            (Some(key), Value::Object(map)) if body_key.is_none() => {
                let mut map = map.clone();
                map.insert("idempotency_key".into(), Value::String(key.to_owned()));
                self.post_json(url, &Value::Object(map), Some(key)).await
            }
            _ => self.post_json(url, bundle, idempotency_key.or(body_key)).await,
        }
    }

    /// `POST /v1/scenarios/validate`: checks a bundle without applying it. Problems with the
    /// bundle come back as `valid: false` with `errors`, not as an error.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let report = client.validate_scenario(&serde_json::json!({"intent": {"type": "intent.report.generate.v1"}})).await?;
    /// for error in &report.errors {
    ///     eprintln!("{error}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn validate_scenario(&self, bundle: &Value) -> Result<ValidateScenarioResponse> {
        self.post_json(self.url(["v1", "scenarios", "validate"]), bundle, None).await
    }

    // ---- intent event streams ----

    /// One response of `GET /v1/intents/{id}/events/stream?since=N&wait_seconds=W`, frame by
    /// frame: the stored events after `since`, then new ones as they happen, until the intent
    /// ends (the stream ends after its terminal event) or `wait_seconds` (1 to 60) pass (a
    /// [`StreamItem::Timeout`] comes last). Connection errors are the first item.
    ///
    /// Most callers want [`Client::observe`], which reconnects.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use axp_client::StreamItem;
    ///
    /// let mut frames = std::pin::pin!(client.events_stream_once(id, 0, 5));
    /// while let Some(frame) = frames.try_next().await? {
    ///     if let StreamItem::Event(event) = frame {
    ///         println!("#{} {}", event.seq, event.event_type);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events_stream_once(
        &self,
        id: IntentId,
        since: u64,
        wait_seconds: u32,
    ) -> impl Stream<Item = Result<StreamItem>> + Send + use<> {
        let client = self.clone();
        stream::once(async move { client.open_intent_stream(id, since, wait_seconds).await }).try_flatten()
    }

    /// Every lifecycle event of intent `id` after `since`, across as many stream responses as it
    /// takes, ending after the terminal event (COMPLETED, FAILED, CANCELED or TIMED_OUT).
    ///
    /// Each response that ends without a terminal event is reopened with `since` = the highest
    /// `seq` yielded so far, so no event is skipped or repeated. Before each reopen the intent is
    /// read once: if it already ended at or before `since` (say `observe` was started past its
    /// terminal event) the stream ends without yielding more. A transport failure mid-response
    /// is retried like any idempotent call; an error that persists is yielded and ends the
    /// stream.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    ///
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let mut events = std::pin::pin!(client.observe(id, 0));
    /// while let Some(event) = events.try_next().await? {
    ///     println!("{} {} {}", event.seq, event.event_type, event.status);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn observe(
        &self,
        id: IntentId,
        since: u64,
    ) -> impl Stream<Item = Result<IntentEvent>> + Send + use<> {
        let wait = self.inner.stream_wait_seconds;
        follow(
            self.clone(),
            since,
            move |client: Client, since, reconnect| async move {
                // A response that ends without the terminal event is normally just the wait
                // window closing, but if the intent already ended at or before `since` no
                // response will ever carry its terminal event: check before reopening.
                if reconnect {
                    let intent = client.get_intent(id).await?;
                    if intent.status.is_terminal() && intent.last_seq <= since {
                        return Ok(None);
                    }
                }
                client.open_intent_stream(id, since, wait).await.map(Some)
            },
            |item: StreamItem| match item {
                StreamItem::Event(event) => {
                    Step::Yield { cursor: event.seq, last: event.is_terminal(), value: event }
                }
                StreamItem::Timeout { .. } => Step::Progress,
                StreamItem::Other { .. } => Step::Ignore,
            },
        )
    }

    /// Waits until intent `id` is terminal and returns it: [`Client::get_intent`], then
    /// [`Client::observe`] from its last event until a terminal one, then `get_intent` again.
    ///
    /// There is no overall time limit; wrap it in `tokio::time::timeout` to set one.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let done = tokio::time::timeout(std::time::Duration::from_secs(300), client.wait_for(id)).await;
    /// match done {
    ///     Ok(intent) => println!("ended {}", intent?.status),
    ///     Err(_) => println!("still running after 5 minutes"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_for(&self, id: IntentId) -> Result<Intent> {
        let intent = self.get_intent(id).await?;
        if intent.status.is_terminal() {
            return Ok(intent);
        }
        let mut events = pin!(self.observe(id, intent.last_seq));
        while let Some(event) = events.try_next().await? {
            if event.is_terminal() {
                break;
            }
        }
        self.get_intent(id).await
    }

    // ---- agent streams ----

    /// One response of `GET /v1/agents/{address}/intents/stream?since=N&wait_seconds=W`: the
    /// intents queued for the agent after cursor `since`, then new ones, until `wait_seconds`
    /// (1 to 60) pass and a [`AgentStreamItem::Timeout`] comes last. `address` may be
    /// `agent://org/ws/name`, `org/ws/name` or a bare name. Connection errors are the first item.
    ///
    /// Most callers want [`Client::listen`], which reconnects.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use axp_client::AgentStreamItem;
    ///
    /// let mut frames = std::pin::pin!(client.listen_once("agent://acme/main/reporter", 0, 10));
    /// while let Some(frame) = frames.try_next().await? {
    ///     if let AgentStreamItem::Delivery(work) = frame {
    ///         println!("cursor {}: {}", work.seq, work.intent_id);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn listen_once(
        &self,
        address: &str,
        since: u64,
        wait_seconds: u32,
    ) -> impl Stream<Item = Result<AgentStreamItem>> + Send + use<> {
        let client = self.clone();
        let address = address.to_owned();
        stream::once(async move { client.open_agent_stream(&address, since, wait_seconds).await })
            .try_flatten()
    }

    /// Every intent delivered to the agent at `address` after cursor `since`, forever: each
    /// response is reopened with `since` = the highest delivery cursor yielded so far.
    ///
    /// Delivery is at least once: after a crash, resume from the last cursor you finished
    /// handling, and tolerate seeing an intent again. An error that persists past the retry
    /// budget is yielded and ends the stream; start a new one from your last cursor.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use serde_json::json;
    ///
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let mut deliveries = std::pin::pin!(client.listen("agent://acme/main/reporter", 0));
    /// while let Some(delivery) = deliveries.try_next().await? {
    ///     client.resume(delivery.intent_id, &json!({"action": "complete", "report_url": "https://…"})).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn listen(
        &self,
        address: &str,
        since: u64,
    ) -> impl Stream<Item = Result<AgentDelivery>> + Send + use<> {
        let wait = self.inner.stream_wait_seconds;
        let address: Arc<str> = Arc::from(address);
        follow(
            self.clone(),
            since,
            move |client: Client, since, _reconnect| {
                let address = Arc::clone(&address);
                async move { client.open_agent_stream(&address, since, wait).await.map(Some) }
            },
            |item: AgentStreamItem| match item {
                AgentStreamItem::Delivery(delivery) => {
                    Step::Yield { cursor: delivery.seq, last: false, value: *delivery }
                }
                AgentStreamItem::Timeout { .. } => Step::Progress,
                AgentStreamItem::Other { .. } => Step::Ignore,
            },
        )
    }

    // ---- plumbing ----

    async fn open_intent_stream(
        &self,
        id: IntentId,
        since: u64,
        wait_seconds: u32,
    ) -> Result<BoxStream<'static, Result<StreamItem>>> {
        let url = with_stream_query(self.intent_url(id, &["events", "stream"]), since, wait_seconds);
        let response = self.open_stream(url, wait_seconds).await?;
        Ok(sse::frames(response.bytes_stream()).map(|frame| frame.and_then(StreamItem::from_frame)).boxed())
    }

    async fn open_agent_stream(
        &self,
        address: &str,
        since: u64,
        wait_seconds: u32,
    ) -> Result<BoxStream<'static, Result<AgentStreamItem>>> {
        let mut segments = vec!["v1", "agents"];
        segments.extend(agent_path(address));
        segments.extend(["intents", "stream"]);
        let url = with_stream_query(self.url(segments), since, wait_seconds);
        let response = self.open_stream(url, wait_seconds).await?;
        Ok(sse::frames(response.bytes_stream())
            .map(|frame| frame.and_then(AgentStreamItem::from_frame))
            .boxed())
    }

    /// Sends a stream GET (retried like any GET) and returns the response once its status is 2xx.
    async fn open_stream(&self, url: Url, wait_seconds: u32) -> Result<reqwest::Response> {
        let request = Request {
            method: Method::GET,
            url,
            body: None,
            idempotency_key: None,
            accept: EVENT_STREAM,
            timeout: Duration::from_secs(wait_seconds.into()) + self.inner.stream_grace,
        };
        self.execute(&request, |response| std::future::ready(Ok(response))).await
    }

    pub(crate) fn url<I, S>(&self, segments: I) -> Url
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut url = self.inner.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn intent_url(&self, id: IntentId, rest: &[&str]) -> Url {
        let id = id.to_string();
        let mut segments = vec!["v1", "intents", id.as_str()];
        segments.extend_from_slice(rest);
        self.url(segments)
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let request = Request {
            method: Method::GET,
            url,
            body: None,
            idempotency_key: None,
            accept: JSON,
            timeout: self.inner.timeout,
        };
        self.json(request).await
    }

    pub(crate) async fn post_json<B, T>(&self, url: Url, body: &B, idempotency_key: Option<&str>) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_json(Method::POST, url, body, idempotency_key, self.inner.timeout).await
    }

    /// A `POST` (never retried) whose answer may take `extra_seconds` longer than usual (a long
    /// poll).
    pub(crate) async fn post_json_with_extra_time<B, T>(
        &self,
        url: Url,
        body: &B,
        extra_seconds: u64,
    ) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let timeout = self.inner.timeout + Duration::from_secs(extra_seconds);
        self.send_json(Method::POST, url, body, None, timeout).await
    }

    /// A `DELETE` without a body; like a `POST`, never retried (no idempotency key).
    pub(crate) async fn delete_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let request = Request {
            method: Method::DELETE,
            url,
            body: None,
            idempotency_key: None,
            accept: JSON,
            timeout: self.inner.timeout,
        };
        self.json(request).await
    }

    /// A `PUT` with a JSON body; like a `POST`, retried only with an idempotency key.
    pub(crate) async fn put_json<B, T>(&self, url: Url, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_json(Method::PUT, url, body, None, self.inner.timeout).await
    }

    async fn send_json<B, T>(
        &self,
        method: Method,
        url: Url,
        body: &B,
        idempotency_key: Option<&str>,
        timeout: Duration,
    ) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = serde_json::to_vec(body).map_err(|source| Error::Decode {
            context: format!("request body for {method} {}", url.path()),
            source,
        })?;
        let request = Request {
            method,
            url,
            body: Some(Bytes::from(body)),
            idempotency_key: idempotency_key.map(str::to_owned),
            accept: JSON,
            timeout,
        };
        self.json(request).await
    }

    async fn json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        let bytes = self.execute(&request, reqwest::Response::bytes).await?;
        serde_json::from_slice(&bytes)
            .map_err(|source| Error::Decode { context: format!("{} response", request.describe()), source })
    }

    fn build(&self, request: &Request) -> reqwest::RequestBuilder {
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone())
            .header(API_KEY_HEADER, self.inner.api_key.clone())
            .header(ACCEPT, request.accept)
            .header(USER_AGENT, CLIENT_NAME)
            .timeout(request.timeout);
        if let Some(key) = &request.idempotency_key {
            builder = builder.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        if let Some(body) = &request.body {
            builder = builder.header(CONTENT_TYPE, JSON).body(body.clone());
        }
        builder
    }

    /// Sends `request` until it succeeds or the retry policy gives up. `finish` turns a 2xx
    /// response into the result (reading the body, or handing the response back for streaming);
    /// a transport failure inside it counts as a failed attempt.
    async fn execute<T, F, Fut>(&self, request: &Request, finish: F) -> Result<T>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T, reqwest::Error>>,
    {
        let idempotent = retry::is_idempotent(&request.method, request.idempotency_key.is_some());
        let mut retries_made = 0;
        loop {
            let error = match self.build(request).send().await {
                Ok(response) if response.status().is_success() => match finish(response).await {
                    Ok(value) => return Ok(value),
                    Err(e) => Error::Transport(e),
                },
                Ok(response) => api_error(response).await,
                Err(e) => Error::Transport(e),
            };
            let outcome = match &error {
                Error::Api { status, .. } => Outcome::Status(*status),
                Error::Transport(e) if retry::is_retryable_transport(e) => Outcome::Transport,
                _ => return Err(error),
            };
            let attempt = Attempt { idempotent, outcome, retry_after: error.retry_after(), retries_made };
            match self.inner.policy.decide(attempt) {
                Some(wait) => {
                    tokio::time::sleep(wait).await;
                    retries_made += 1;
                }
                None => return Err(error),
            }
        }
    }
}

/// Reads a non-2xx response into [`Error::Api`]. A body that cannot be read is treated as empty.
async fn api_error(response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap_or_default();
    Error::from_response(status, &headers, &body)
}

fn with_stream_query(mut url: Url, since: u64, wait_seconds: u32) -> Url {
    url.query_pairs_mut()
        .append_pair("since", &since.to_string())
        .append_pair("wait_seconds", &wait_seconds.to_string());
    url
}

/// `url` with `owner_agent=owner` appended when an owner is given (contract §1.2: the owner a
/// call acts for; the server defaults it to the key's own agent address).
pub(crate) fn with_owner(mut url: Url, owner: Option<&str>) -> Url {
    if let Some(owner) = owner {
        url.query_pairs_mut().append_pair("owner_agent", owner);
    }
    url
}

/// `url.query_pairs_mut()` leaves `?` behind when nothing was appended.
pub(crate) fn strip_empty_query(url: &mut Url) {
    if url.query() == Some("") {
        url.set_query(None);
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

/// The path segments of an agent address: `agent://org/ws/name` → `org`, `ws`, `name`; bare
/// forms are split the same way (contract §2.2).
pub(crate) fn agent_path(address: &str) -> impl Iterator<Item = &str> {
    let address = address.trim();
    address.strip_prefix("agent://").unwrap_or(address).split('/').filter(|s| !s.is_empty())
}

/// Decodes a wire intent object (the `intent` of a get, list or mutation response) into
/// [`Intent`], ignoring the derived wire-only fields.
pub fn decode_intent(value: &Value) -> Result<Intent> {
    Intent::deserialize(value).map_err(|source| Error::Decode { context: "intent object".into(), source })
}

/// Typed access to the wire intent object carried by a response.
///
/// Responses keep the intent as raw JSON (`serde_json::Value`) so no wire field is lost; this
/// decodes it into [`Intent`] when you want the typed view.
pub trait IntentExt {
    /// The response's `intent` decoded into [`Intent`].
    fn typed_intent(&self) -> Result<Intent>;
}

impl IntentExt for MutationResponse {
    fn typed_intent(&self) -> Result<Intent> {
        decode_intent(&self.intent)
    }
}

impl IntentExt for IntentResponse {
    fn typed_intent(&self) -> Result<Intent> {
        decode_intent(&self.intent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(base, "key")
    }

    #[test]
    fn urls_keep_the_base_path() {
        let c = client("http://h:1/prefix/");
        assert_eq!(c.url(["v1", "intents"]).as_str(), "http://h:1/prefix/v1/intents");
        let c = client("http://h:1");
        assert_eq!(c.url(["health"]).as_str(), "http://h:1/health");
        let id: IntentId = "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e".parse().unwrap();
        assert_eq!(
            with_stream_query(c.intent_url(id, &["events", "stream"]), 2, 15).as_str(),
            "http://h:1/v1/intents/0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e/events/stream?since=2&wait_seconds=15"
        );
    }

    #[test]
    fn agent_addresses_become_path_segments() {
        assert_eq!(agent_path("agent://acme/main/router").collect::<Vec<_>>(), ["acme", "main", "router"]);
        assert_eq!(agent_path("report-api-demo").collect::<Vec<_>>(), ["report-api-demo"]);
        assert_eq!(agent_path("org/ws/bot@x").collect::<Vec<_>>(), ["org", "ws", "bot@x"]);
        let c = client("http://h:1");
        let mut segments = vec!["v1", "agents"];
        segments.extend(agent_path("agent://a b/c"));
        assert_eq!(c.url(segments).path(), "/v1/agents/a%20b/c");
    }

    #[test]
    fn bad_configuration_is_rejected() {
        for (url, key) in
            [("not a url", "k"), ("ftp://h", "k"), ("mailto:a@b", "k"), ("http://h", "bad\nkey")]
        {
            assert!(matches!(Client::try_new(url, key), Err(Error::Config(_))), "{url:?} {key:?}");
        }
    }

    #[test]
    #[should_panic(expected = "invalid client configuration")]
    fn new_panics_on_bad_configuration() {
        let _ = Client::new("not a url", "k");
    }

    #[test]
    fn debug_hides_the_key() {
        let c = Client::new("http://h:1", "axme_sa_secret123");
        let debug = format!("{c:?}");
        assert!(!debug.contains("secret123"), "{debug}");
        assert!(debug.contains("redacted"));
    }
}
