//! The inbox (contract §5.1): one thread per intent, seen by its sender, its recipient(s), its
//! `reply_to` once it ended, and delegates. Every call acts for an owner: `owner` (sent as the
//! `owner_agent` query parameter), or the caller's own agent address when `None`.
//!
//! Thread actions (reply, delegate, approve, reject, read, delete messages) are `POST`s without
//! an idempotency key, so they are sent once and never retried.

use axp_core::IntentId;
use axp_core::api::{
    DeleteMessagesRequest, DeletedMessages, InboxChanges, ListThreadsResponse, ThreadResponse,
};
use axp_core::inbox::{Thread, ThreadStatus};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::Result;
use crate::request::{strip_empty_query, with_owner};

/// `{"comment": …}`, or `{}` without one.
fn comment_body(comment: Option<&str>) -> Value {
    let mut body = Map::new();
    if let Some(comment) = comment {
        body.insert("comment".into(), Value::String(comment.to_owned()));
    }
    Value::Object(body)
}

impl Client {
    fn thread_url(&self, id: IntentId, action: &[&str], owner: Option<&str>) -> reqwest::Url {
        let id = id.to_string();
        let mut segments = vec!["v1", "inbox", id.as_str()];
        segments.extend_from_slice(action);
        with_owner(self.url(segments), owner)
    }

    async fn thread_action(
        &self,
        id: IntentId,
        action: &[&str],
        body: &Value,
        owner: Option<&str>,
    ) -> Result<Thread> {
        let response: ThreadResponse = self.post_json(self.thread_url(id, action, owner), body, None).await?;
        Ok(response.thread)
    }

    /// `GET /v1/inbox?status=…&limit=…`: the owner's threads, most recently changed first,
    /// optionally only those in `status` (server default limit 50, at most 200).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::ThreadStatus;
    ///
    /// for thread in client.list_inbox(Some(ThreadStatus::Pending), None, None).await? {
    ///     println!("{} {} from {}", thread.thread_id, thread.intent_type, thread.from_agent);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_inbox(
        &self,
        status: Option<ThreadStatus>,
        limit: Option<u32>,
        owner: Option<&str>,
    ) -> Result<Vec<Thread>> {
        let mut url = with_owner(self.url(["v1", "inbox"]), owner);
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
        let response: ListThreadsResponse = self.get_json(url).await?;
        Ok(response.threads)
    }

    /// `GET /v1/inbox/{thread_id}`: one thread with its whole timeline (lifecycle entries,
    /// replies, delegations, decisions). 404 when it does not exist or the owner cannot see it.
    /// The thread id is the intent id.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let thread = client.get_inbox_thread(id, None).await?;
    /// for entry in &thread.timeline {
    ///     println!("{} {} by {}", entry.at, entry.event_type, entry.actor);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_inbox_thread(&self, id: IntentId, owner: Option<&str>) -> Result<Thread> {
        let response: ThreadResponse = self.get_json(self.thread_url(id, &[], owner)).await?;
        Ok(response.thread)
    }

    /// `GET /v1/inbox/changes?cursor=…&limit=…`: the owner's threads changed after `cursor` (from
    /// the start without one), at most `limit` (server default 50, at most 200). Feed each
    /// page's [`InboxChanges::next_cursor`] back in to resume; cursors stay valid across server
    /// restarts. An unknown cursor is a 400.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let mut cursor: Option<String> = None;
    /// loop {
    ///     let page = client.list_inbox_changes(cursor.as_deref(), Some(100), None).await?;
    ///     for change in &page.changes {
    ///         println!("{} is {:?}", change.thread.thread_id, change.thread.status);
    ///     }
    ///     cursor = page.next_cursor;
    ///     if !page.has_more {
    ///         break;
    ///     }
    /// }
    /// // Save `cursor`: the next run picks up from there.
    /// # Ok(()) }
    /// ```
    pub async fn list_inbox_changes(
        &self,
        cursor: Option<&str>,
        limit: Option<u32>,
        owner: Option<&str>,
    ) -> Result<InboxChanges> {
        let mut url = with_owner(self.url(["v1", "inbox", "changes"]), owner);
        {
            let mut query = url.query_pairs_mut();
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
        }
        strip_empty_query(&mut url);
        self.get_json(url).await
    }

    /// `POST /v1/inbox/{id}/reply` `{"message": …}` (1 to 5000 characters): adds a `reply`
    /// entry (its `details` carry `message` and `message_id`) and makes the thread `active`.
    /// Works on `done` threads too. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let thread = client.reply_inbox_thread(id, "Can you add the Q4 numbers?", None).await?;
    /// let reply = thread.timeline.iter().rev().find(|e| e.event_type == "reply").expect("just posted");
    /// println!("message {}", reply.details["message_id"]);
    /// # Ok(()) }
    /// ```
    pub async fn reply_inbox_thread(
        &self,
        id: IntentId,
        message: &str,
        owner: Option<&str>,
    ) -> Result<Thread> {
        let body = serde_json::json!({"message": message});
        self.thread_action(id, &["reply"], &body, owner).await
    }

    /// `POST /v1/inbox/{id}/delegate` `{"delegate_to": …, "note": …}`: the delegate (an agent
    /// address, normalised in the caller's workspace, or a person such as an e-mail) joins the
    /// thread, and an open human task moves to them. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let thread = client
    ///     .delegate_inbox_thread(id, "agent://acme/finance/controller", Some("over my limit"), None)
    ///     .await?;
    /// println!("now pending with {:?}", thread.pending_with.map(|p| p.reference));
    /// # Ok(()) }
    /// ```
    pub async fn delegate_inbox_thread(
        &self,
        id: IntentId,
        delegate_to: &str,
        note: Option<&str>,
        owner: Option<&str>,
    ) -> Result<Thread> {
        let mut body = serde_json::json!({"delegate_to": delegate_to});
        if let Some(note) = note {
            body["note"] = Value::String(note.to_owned());
        }
        self.thread_action(id, &["delegate"], &body, owner).await
    }

    /// `POST /v1/inbox/{id}/approve` `{"comment": …}` (at most 2000 characters): adds an
    /// `approved` entry and, when the intent waits for a person, answers its human task with the
    /// task type's affirmative outcome (`approved`, `confirmed`, `completed`, … or the first of
    /// its `allowed_outcomes`). 422 `task_result_invalid` when the task needs more (a comment it
    /// requires, form fields: answer those with [`Client::submit_task_result`]). On a thread with
    /// no open task it only records the entry. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let thread = client.approve_inbox_thread(id, Some("numbers check out"), None).await?;
    /// println!("thread is {:?}", thread.status);
    /// let intent = client.get_intent(id).await?;
    /// println!("intent is {}", intent.status);
    /// # Ok(()) }
    /// ```
    pub async fn approve_inbox_thread(
        &self,
        id: IntentId,
        comment: Option<&str>,
        owner: Option<&str>,
    ) -> Result<Thread> {
        self.thread_action(id, &["approve"], &comment_body(comment), owner).await
    }

    /// `POST /v1/inbox/{id}/reject` `{"comment": …}`: like [`Client::approve_inbox_thread`],
    /// with the task's negative outcome (`rejected`, or the last allowed outcome when
    /// `rejected` is not allowed). Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// client.reject_inbox_thread(id, Some("wrong quarter"), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn reject_inbox_thread(
        &self,
        id: IntentId,
        comment: Option<&str>,
        owner: Option<&str>,
    ) -> Result<Thread> {
        self.thread_action(id, &["reject"], &comment_body(comment), owner).await
    }

    /// `POST /v1/inbox/{id}/read`: marks the thread read for the owner (`unread: false` until the
    /// next change). Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// let thread = client.mark_inbox_thread_read(id, None).await?;
    /// assert!(!thread.unread);
    /// # Ok(()) }
    /// ```
    pub async fn mark_inbox_thread_read(&self, id: IntentId, owner: Option<&str>) -> Result<Thread> {
        self.thread_action(id, &["read"], &Value::Object(Map::new()), owner).await
    }

    /// `POST /v1/inbox/{id}/messages/delete`: deletes messages (reply entries), for the owner
    /// only or for everyone; see [`DeleteMessagesRequest`]. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::IntentId) -> axp_client::Result<()> {
    /// use axp_client::DeleteMessagesRequest;
    ///
    /// let gone = client.delete_inbox_messages(id, &DeleteMessagesRequest::default(), None).await?;
    /// println!("hid {} messages", gone.deleted_count);
    /// # Ok(()) }
    /// ```
    pub async fn delete_inbox_messages(
        &self,
        id: IntentId,
        request: &DeleteMessagesRequest,
        owner: Option<&str>,
    ) -> Result<DeletedMessages> {
        self.post_json(self.thread_url(id, &["messages", "delete"], owner), request, None).await
    }
}
