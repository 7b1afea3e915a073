//! Intents (contract §4): create, read, list, their events, and the mutations (resolve, resume,
//! controls, policy, cancel, human task results, bulk cancel). Following an intent's events as
//! they happen is in `streams`.

use axp_core::api::{
    BulkCancelRequest, BulkCancelResponse, CreateIntentRequest, CreateIntentResponse, EventsResponse,
    IntentResponse, ListIntentsQuery, ListIntentsResponse, MutationResponse,
};
use axp_core::{Intent, IntentId, Status};
use reqwest::Url;
use serde::Deserialize as _;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::request::strip_empty_query;

impl Client {
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

    /// `GET /v1/intents?status=…&to_agent=…&limit=…`: the first page of intents visible to the
    /// caller, oldest first, filtered by any of `status` (all when empty) and by target: the
    /// SDK's call (contract §5.8). For more filters, newest first or further pages see
    /// [`Client::list_intents_page`].
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
        let query = ListIntentsQuery {
            statuses: status.to_vec(),
            to_agent: to_agent.map(str::to_owned),
            limit,
            ..ListIntentsQuery::default()
        };
        Ok(self.list_intents_page(&query).await?.intents)
    }

    /// `GET /v1/intents?…`: one page of intents matching `query` (status, agents, type, creation
    /// time; an axp extension beyond `status`, `to_agent` and `limit`), oldest first unless
    /// `query.order` says `Desc`. Pass the page's `next_cursor` as `query.cursor` for the next
    /// page (`None`: this was the last). A page seen by an agent-scoped key may hold fewer than
    /// `limit` intents and still have a next one. 422 `validation_error` for a bad value.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::{ListIntentsQuery, SortOrder, Status};
    ///
    /// let mut query = ListIntentsQuery {
    ///     statuses: vec![Status::Failed],
    ///     order: Some(SortOrder::Desc),
    ///     ..Default::default()
    /// };
    /// loop {
    ///     let page = client.list_intents_page(&query).await?;
    ///     for intent in &page.intents {
    ///         println!("{} {} {}", intent.created_at, intent.intent_id, intent.intent_type);
    ///     }
    ///     match page.next_cursor {
    ///         Some(cursor) => query.cursor = Some(cursor),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_intents_page(&self, query: &ListIntentsQuery) -> Result<IntentsPage> {
        let mut url = self.url(["v1", "intents"]);
        url.query_pairs_mut().extend_pairs(query.pairs());
        strip_empty_query(&mut url);
        let response: ListIntentsResponse = self.get_json(url).await?;
        Ok(IntentsPage {
            intents: response.intents.iter().map(decode_intent).collect::<Result<_>>()?,
            next_cursor: response.next_cursor,
        })
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

    pub(crate) fn intent_url(&self, id: IntentId, rest: &[&str]) -> Url {
        let id = id.to_string();
        let mut segments = vec!["v1", "intents", id.as_str()];
        segments.extend_from_slice(rest);
        self.url(segments)
    }
}

/// Decodes a wire intent object (the `intent` of a get, list or mutation response) into
/// [`Intent`], ignoring the derived wire-only fields.
pub fn decode_intent(value: &Value) -> Result<Intent> {
    Intent::deserialize(value).map_err(|source| Error::Decode { context: "intent object".into(), source })
}

/// One page of [`Client::list_intents_page`].
#[derive(Clone, Debug, PartialEq)]
pub struct IntentsPage {
    /// The intents, in the order asked for.
    pub intents: Vec<Intent>,
    /// Pass it as the query's `cursor` for the next page; `None` when this page is the last.
    pub next_cursor: Option<String>,
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
