//! The audit log (`GET /v1/audit`, an axp extension): the organization's admin and security
//! actions, newest first, for keys with the `org_owner`, `org_admin` or `security_auditor` role.

use axp_core::api::{AuditQuery, ListAuditResponse};

use crate::client::Client;
use crate::error::Result;
use crate::request::strip_empty_query;

impl Client {
    /// `GET /v1/audit?…`: one page of the audit log, newest first, filtered by `query`; pass
    /// the page's `next_cursor` as `query.cursor` for the next (older) one (`None`: the last
    /// page). 403 `policy_denied` for a key without an auditing role.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::AuditQuery;
    ///
    /// let mut query = AuditQuery { action: Some("api_key.created".into()), ..Default::default() };
    /// loop {
    ///     let page = client.list_audit(&query).await?;
    ///     for entry in &page.entries {
    ///         println!("{} {} {} by {}", entry.created_at, entry.action, entry.target.id, entry.actor.id);
    ///     }
    ///     match page.next_cursor {
    ///         Some(cursor) => query.cursor = Some(cursor),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_audit(&self, query: &AuditQuery) -> Result<ListAuditResponse> {
        let mut url = self.url(["v1", "audit"]);
        url.query_pairs_mut().extend_pairs(query.pairs());
        strip_empty_query(&mut url);
        self.get_json(url).await
    }
}
