//! Invites (contract §6 "Invites"): create one for an owner, read it, accept it as a new person.

use axp_core::api::{
    AcceptInviteRequest, AcceptInviteResponse, CreateInviteRequest, CreateInviteResponse, InviteResponse,
};

use crate::client::Client;
use crate::error::Result;

impl Client {
    /// `POST /v1/invites/create`: a pending invite from `request.owner_agent` (the caller must
    /// act as it); the token is shown this once. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::axp_core::api::CreateInviteRequest;
    ///
    /// let request = CreateInviteRequest { owner_agent: "agent://acme/main/hr".into(), ..Default::default() };
    /// let invite = client.create_invite(&request).await?;
    /// println!("send {} (until {})", invite.invite_url, invite.expires_at);
    /// # Ok(()) }
    /// ```
    pub async fn create_invite(&self, request: &CreateInviteRequest) -> Result<CreateInviteResponse> {
        self.post_json(self.url(["v1", "invites", "create"]), request, None).await
    }

    /// `GET /v1/invites/{token}`: the invite and its status (`pending`, `accepted`, `expired`).
    pub async fn get_invite(&self, token: &str) -> Result<InviteResponse> {
        self.get_json(self.url(["v1", "invites", token])).await
    }

    /// `POST /v1/invites/{token}/accept`: becomes a user with `request.nick`; the answer carries
    /// the new person's actor token (`actor_token`, shown once). 404 unknown token; 409 already
    /// accepted, expired, or nick taken. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, token: &str) -> axp_client::Result<()> {
    /// use axp_client::axp_core::api::AcceptInviteRequest;
    ///
    /// let accepted = client.accept_invite(token, &AcceptInviteRequest { nick: "@carol".into(), display_name: None }).await?;
    /// let carol = axp_client::Client::builder(client.base_url().as_str(), "").actor_token(accepted.actor_token).build()?;
    /// # Ok(()) }
    /// ```
    pub async fn accept_invite(
        &self,
        token: &str,
        request: &AcceptInviteRequest,
    ) -> Result<AcceptInviteResponse> {
        self.post_json(self.url(["v1", "invites", token, "accept"]), request, None).await
    }
}
