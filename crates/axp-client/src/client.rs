//! [`Client`] and [`ClientBuilder`]: configuration and construction, plus `GET /health`.
//!
//! The REST calls and streams are further `impl Client` blocks, one module per family:
//! `intents`, `streams` (observe, wait_for, listen), `service_accounts`, `agents`, `scenarios`,
//! `inbox`, `approvals`, `deliveries` and `webhooks`. `request` sends them (URLs, bodies,
//! headers, retries).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axp_core::api::Health;
use reqwest::Url;
use reqwest::header::HeaderValue;

use crate::error::{Error, Result};
use crate::retry::{self, Policy};

/// Default total timeout of a non-streaming call (each attempt).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default wait window of each response that [`Client::observe`] and [`Client::listen`] open.
pub const DEFAULT_STREAM_WAIT_SECONDS: u32 = 30;
/// Default slack added to a stream's `wait_seconds` to get its read deadline.
pub const DEFAULT_STREAM_GRACE: Duration = Duration::from_secs(10);

/// An async client for one axp server and one API key (or a person's actor token).
///
/// Cheap to clone (the connection pool and configuration are shared), `Send + Sync`, and meant to
/// be created once and reused.
///
/// Every call sends the key as `x-api-key` (unless it is empty) and, when the client has one
/// ([`ClientBuilder::actor_token`]), a person's actor token as `Authorization: Bearer`: the
/// server then acts as that person (contract §1.1). A non-2xx answer becomes [`Error::Api`] with the
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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: Url,
    /// `None` for an empty key: a client that authenticates by actor token alone.
    pub(crate) api_key: Option<HeaderValue>,
    /// `Bearer <actor token>`.
    pub(crate) actor_token: Option<HeaderValue>,
    pub(crate) timeout: Duration,
    pub(crate) policy: Policy,
    pub(crate) stream_wait_seconds: u32,
    pub(crate) stream_grace: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("api_key", &"<redacted>")
            .field("actor_token", &self.inner.actor_token.as_ref().map(|_| "<redacted>"))
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
    actor_token: Option<String>,
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

    /// Also sends a person's actor token (`axme_at_…`, from accepting an invite or from an
    /// admin) as `Authorization: Bearer`, so every call acts as that person with their roles.
    /// With an empty API key, the token alone authenticates.
    ///
    /// ```no_run
    /// # fn main() -> axp_client::Result<()> {
    /// let person = axp_client::Client::builder("http://127.0.0.1:7420", "").actor_token("axme_at_…").build()?;
    /// # Ok(()) }
    /// ```
    pub fn actor_token(mut self, token: impl Into<String>) -> Self {
        self.actor_token = Some(token.into());
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
    /// API key or actor token is not a valid header value, when there is neither, or when the
    /// HTTP client cannot be built.
    pub fn build(self) -> Result<Client> {
        let base_url = Url::parse(self.base_url.trim())
            .map_err(|e| Error::Config(format!("base URL {:?}: {e}", self.base_url)))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(Error::Config(format!("base URL {:?} must be an http(s) URL", self.base_url)));
        }
        let secret = |value: String, what: &str| -> Result<HeaderValue> {
            let mut header = HeaderValue::from_str(&value)
                .map_err(|_| Error::Config(format!("the {what} is not a valid header value")))?;
            header.set_sensitive(true);
            Ok(header)
        };
        let key = self.api_key.trim();
        let api_key = (!key.is_empty()).then(|| secret(key.to_owned(), "API key")).transpose()?;
        let actor_token = match self.actor_token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(token) => Some(secret(format!("Bearer {token}"), "actor token")?),
            None => None,
        };
        if api_key.is_none() && actor_token.is_none() {
            return Err(Error::Config("an API key or an actor token is required".into()));
        }
        let http = match self.http {
            Some(http) => http,
            // Idle pooled connections are dropped before the server's idle timeout (20 s by
            // default) closes them, so a reused connection is not one the server is closing.
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .pool_idle_timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                api_key,
                actor_token,
                timeout: self.timeout,
                policy: Policy { max_retries: self.max_retries, retry_after_cap: self.retry_after_cap },
                stream_wait_seconds: self.stream_wait_seconds,
                stream_grace: self.stream_grace,
            }),
        })
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
            actor_token: None,
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_key_or_an_actor_token_is_needed() {
        assert!(matches!(Client::try_new("http://h", " "), Err(Error::Config(_))));
        let person = Client::builder("http://h", "").actor_token("axme_at_x").build().unwrap();
        assert!(person.inner.api_key.is_none());
        assert_eq!(person.inner.actor_token.as_ref().unwrap().to_str().unwrap(), "Bearer axme_at_x");
        let bad = Client::builder("http://h", "k").actor_token("bad\ntoken").build();
        assert!(matches!(bad, Err(Error::Config(_))));
        let debug = format!("{person:?}");
        assert!(!debug.contains("axme_at_x"), "{debug}");
    }

    #[test]
    fn debug_hides_the_key() {
        let c = Client::new("http://h:1", "axme_sa_secret123");
        let debug = format!("{c:?}");
        assert!(!debug.contains("secret123"), "{debug}");
        assert!(debug.contains("redacted"));
    }
}
