//! Sending one request: URLs, JSON bodies, headers, and the retry loop every call goes through
//! (see [`ClientBuilder::max_retries`](crate::ClientBuilder::max_retries)).

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::{self, Attempt, Outcome};

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// The header that makes a `POST` safe to repeat (contract §1.8).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
const CLIENT_NAME: &str = concat!("axp-client/", env!("CARGO_PKG_VERSION"));

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
    /// Sends a stream GET (retried like any GET) and returns the response once its status is 2xx.
    pub(crate) async fn open_stream(&self, url: Url, wait_seconds: u32) -> Result<reqwest::Response> {
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

    /// A `POST` without a body (never retried) whose 2xx answer is handed back unread, for a
    /// download of `accept` that may take up to `timeout` in all.
    pub(crate) async fn post_for_download(
        &self,
        url: Url,
        accept: &'static str,
        timeout: Duration,
    ) -> Result<reqwest::Response> {
        let request =
            Request { method: Method::POST, url, body: None, idempotency_key: None, accept, timeout };
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

    /// A `PATCH` with a JSON body; like a `POST`, retried only with an idempotency key.
    pub(crate) async fn patch_json<B, T>(&self, url: Url, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_json(Method::PATCH, url, body, None, self.inner.timeout).await
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
            .header(ACCEPT, request.accept)
            .header(USER_AGENT, CLIENT_NAME)
            .timeout(request.timeout);
        if let Some(key) = &self.inner.api_key {
            builder = builder.header(API_KEY_HEADER, key.clone());
        }
        if let Some(token) = &self.inner.actor_token {
            builder = builder.header(AUTHORIZATION, token.clone());
        }
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

/// The path segments of an agent address: `agent://org/ws/name` → `org`, `ws`, `name`; bare
/// forms are split the same way (contract §2.2).
pub(crate) fn agent_path(address: &str) -> impl Iterator<Item = &str> {
    let address = address.trim();
    address.strip_prefix("agent://").unwrap_or(address).split('/').filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(base, "key")
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
}
