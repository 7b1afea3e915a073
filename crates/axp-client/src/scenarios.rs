//! Scenario bundles: apply (provision agents and start the intent) and validate.

use axp_core::api::{ApplyScenarioResponse, ValidateScenarioResponse};
use serde_json::Value;

use crate::client::Client;
use crate::error::Result;

impl Client {
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
}
