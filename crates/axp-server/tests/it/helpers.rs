//! Shared test helpers.

use axp_core::api::CreateIntentRequest;
use serde_json::{Map, Value, json};

/// A `notify.message.v1` request to `to`.
pub fn notify(to: &str) -> CreateIntentRequest {
    CreateIntentRequest {
        intent_type: "notify.message.v1".into(),
        to_agent: to.into(),
        payload: obj(json!({"text": "hello"})),
        correlation_id: None,
        reply_to: None,
        deadline_at: None,
        max_delivery_attempts: None,
        human_task: None,
    }
}

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

/// A raw HTTP client for wire-level checks.
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}
