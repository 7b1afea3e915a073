//! The web dashboard's one API call (axp extension): `POST /v1/ui/login-links`.

use axp_core::Timestamp;
use serde::Deserialize;

use crate::client::Client;
use crate::error::Result;

/// A one-time dashboard login link: open `base_url + login_path` in a browser once, before
/// `expires_at` (5 minutes after it was made).
#[derive(Clone, Debug, Deserialize)]
pub struct UiLoginLink {
    /// `/ui/login/<token>`.
    pub login_path: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

impl Client {
    /// `POST /v1/ui/login-links`: a login link acting as this client's credential. Errors: 403
    /// unless the key administers its workspace.
    pub async fn ui_login_link(&self) -> Result<UiLoginLink> {
        self.post_json(self.url(["v1", "ui", "login-links"]), &serde_json::json!({}), None).await
    }
}
