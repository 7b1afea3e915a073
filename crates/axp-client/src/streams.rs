//! The SSE streams: an intent's events ([`Client::observe`], [`Client::wait_for`],
//! [`Client::events_stream_once`]) and an agent's deliveries ([`Client::listen`],
//! [`Client::listen_once`]). The reconnecting variants are built on `follow`.

use std::pin::pin;
use std::sync::Arc;

use axp_core::api::AgentDelivery;
use axp_core::{Intent, IntentEvent, IntentId};
use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::Url;

use crate::client::Client;
use crate::error::Result;
use crate::follow::{Step, follow};
use crate::request::agent_path;
use crate::sse::{self, AgentStreamItem, StreamItem};

impl Client {
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

    // ---- opening one response ----

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
}

fn with_stream_query(mut url: Url, since: u64, wait_seconds: u32) -> Url {
    url.query_pairs_mut()
        .append_pair("since", &since.to_string())
        .append_pair("wait_seconds", &wait_seconds.to_string());
    url
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
}
