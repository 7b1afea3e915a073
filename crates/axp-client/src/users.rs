//! People (contract §6 "Users / nicks", §1.1): nicks and profiles, a person's actor tokens, and
//! `GET /v1/me`.

use axp_core::api::{
    ActorToken, ActorTokenResponse, CheckNickResponse, Me, MeResponse, NewActorTokenResponse,
    ProfileResponse, RegisterNickRequest, RegisterNickResponse, RenameNickResponse, ResolveNickResponse,
    UpdateUserRequest,
};
use axp_core::{ActorTokenId, UserId};
use reqwest::Url;

use crate::client::Client;
use crate::error::Result;

impl Client {
    fn with_query(mut url: Url, name: &str, value: &str) -> Url {
        url.query_pairs_mut().append_pair(name, value);
        url
    }

    /// `GET /v1/users/check-nick?nick=…`: the nick normalised (`@alice`), its public address
    /// (`alice@ax`), and whether nobody in the workspace has it. 422 for an invalid nick.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let check = client.check_nick("@Alice").await?;
    /// println!("{} available: {}", check.nick, check.available);
    /// # Ok(()) }
    /// ```
    pub async fn check_nick(&self, nick: &str) -> Result<CheckNickResponse> {
        self.get_json(Self::with_query(self.url(["v1", "users", "check-nick"]), "nick", nick)).await
    }

    /// `POST /v1/users/register-nick`: a new user of the workspace; its owner address is
    /// `agent://user/<user_id>`. 409 when the nick is taken. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::axp_core::api::RegisterNickRequest;
    ///
    /// let request = RegisterNickRequest { nick: "@alice".into(), ..Default::default() };
    /// let registered = client.register_nick(&request).await?;
    /// println!("{} is {}", registered.user.nick, registered.user.owner_agent);
    /// # Ok(()) }
    /// ```
    pub async fn register_nick(&self, request: &RegisterNickRequest) -> Result<RegisterNickResponse> {
        self.post_json(self.url(["v1", "users", "register-nick"]), request, None).await
    }

    /// `POST /v1/users/rename-nick`: renames the user `request.owner_agent` to `request.nick`
    /// (and sets any profile field given). 404 unknown owner, 409 nick taken, 403 when the
    /// caller may not act as that owner.
    pub async fn rename_nick(&self, request: &UpdateUserRequest) -> Result<RenameNickResponse> {
        self.post_json(self.url(["v1", "users", "rename-nick"]), request, None).await
    }

    /// `GET /v1/users/profile?owner_agent=…`: a user's profile. 404 unknown owner.
    pub async fn get_profile(&self, owner_agent: &str) -> Result<ProfileResponse> {
        let url = Self::with_query(self.url(["v1", "users", "profile"]), "owner_agent", owner_agent);
        self.get_json(url).await
    }

    /// `POST /v1/users/profile/update`: changes the profile fields given (and the nick, if
    /// given). Errors as [`Client::rename_nick`].
    pub async fn update_profile(&self, request: &UpdateUserRequest) -> Result<ProfileResponse> {
        self.post_json(self.url(["v1", "users", "profile", "update"]), request, None).await
    }

    /// `GET /v1/users/resolve-nick?nick=…`: who has the nick (`resolved: false` when nobody).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let who = client.resolve_nick("alice").await?;
    /// if let Some(owner) = &who.owner_agent {
    ///     println!("send to {owner}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resolve_nick(&self, nick: &str) -> Result<ResolveNickResponse> {
        self.get_json(Self::with_query(self.url(["v1", "users", "resolve-nick"]), "nick", nick)).await
    }

    /// `POST /v1/users/{user_id}/tokens` (workspace admins): a new actor token for the user,
    /// valid `ttl_seconds` (60 s to a year; server default 30 days). The token is shown this
    /// once; a client built with it ([`crate::ClientBuilder::actor_token`]) acts as the person.
    ///
    /// ```no_run
    /// # async fn f(admin: axp_client::Client, user: axp_client::UserId) -> axp_client::Result<()> {
    /// let issued = admin.issue_actor_token(user, Some(3600)).await?;
    /// let person = axp_client::Client::builder(admin.base_url().as_str(), "").actor_token(issued.token).build()?;
    /// println!("{}", person.me().await?.owner_agent);
    /// # Ok(()) }
    /// ```
    pub async fn issue_actor_token(
        &self,
        user: UserId,
        ttl_seconds: Option<u32>,
    ) -> Result<NewActorTokenResponse> {
        let url = self.url(["v1", "users", &user.to_string(), "tokens"]);
        let mut body = serde_json::json!({});
        if let Some(ttl) = ttl_seconds {
            body["ttl_seconds"] = ttl.into();
        }
        self.post_json(url, &body, None).await
    }

    /// `POST /v1/users/{user_id}/tokens/{token_id}/revoke` (workspace admins, or the person):
    /// the token stops working at once.
    pub async fn revoke_actor_token(&self, user: UserId, token: ActorTokenId) -> Result<ActorToken> {
        let url = self.url(["v1", "users", &user.to_string(), "tokens", &token.to_string(), "revoke"]);
        let response: ActorTokenResponse = self.post_json(url, &serde_json::json!({}), None).await?;
        Ok(response.actor_token)
    }

    /// `GET /v1/me`: who this client is to the server: a service account (API key) or a person
    /// (actor token), its owner address, roles, workspace and organization.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let me = client.me().await?;
    /// println!("{:?} {} {:?}", me.kind, me.owner_agent, me.roles);
    /// # Ok(()) }
    /// ```
    pub async fn me(&self) -> Result<Me> {
        let response: MeResponse = self.get_json(self.url(["v1", "me"])).await?;
        Ok(response.actor)
    }
}
