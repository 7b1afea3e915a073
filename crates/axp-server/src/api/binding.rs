//! Reading an agent's delivery binding from a request body (service account creation, agent
//! updates, scenario agents): `delivery_mode`, `delivery_config: {url, secret?}` and
//! `lease_seconds` (DESIGN.md "Delivery bindings"; contract §4.13, §5.6).

use axp_core::delivery::Binding;
use axp_core::validate::Fields;
use axp_engine::OutboundPolicy;
use axp_engine::delivery::signing;
use axp_store::{BindingUpdate, PushEndpoint};
use serde_json::{Map, Value};

/// A binding read from a body, with the `http` secret to show once (given or generated).
pub(crate) struct BindingInput {
    pub(crate) update: BindingUpdate,
    pub(crate) shown_secret: Option<String>,
}

/// Reads the binding fields into `f` (failures recorded there). `delivery_mode` defaults to
/// `stream`; `http` needs `delivery_config.url` (or `endpoint_url`), which must pass the
/// outbound policy (a blocked address literal, or a name that resolves only to blocked
/// addresses, is a 422 here, not a surprise later: `OutboundPolicy::check_registration`); the secret
/// is `delivery_config.secret` (16 to 128 characters) or a new `whsec_…`.
pub(crate) async fn read(
    f: &mut Fields<'_>,
    body: &Map<String, Value>,
    policy: &OutboundPolicy,
) -> BindingInput {
    let mode = match f.string("delivery_mode", &["deliveryMode"], false).map(|m| m.parse::<Binding>()) {
        None => Binding::Stream,
        Some(Ok(mode)) => mode,
        Some(Err(e)) => {
            f.fail("delivery_mode", "value_error", e.to_string());
            Binding::Stream
        }
    };
    let lease_seconds = f.seconds("lease_seconds", &["leaseSeconds"], 1);
    let config = f.object("delivery_config", &["deliveryConfig"]).unwrap_or_default();
    let url = config
        .get("url")
        .or_else(|| config.get("endpoint_url"))
        .or_else(|| body.get("endpoint_url"))
        .and_then(Value::as_str);
    let mut push = None;
    let mut shown_secret = None;
    if mode == Binding::Http {
        let checked = match url {
            Some(u) => Some(policy.check_registration(u).await),
            None => None,
        };
        match checked {
            None => f.fail("delivery_config.url", "missing", "the http binding needs delivery_config.url"),
            Some(Err(e)) => f.fail("delivery_config.url", "value_error", e.to_string()),
            Some(Ok(url)) => {
                let secret = match config.get("secret").map(Value::as_str) {
                    None => Some(signing::generate_secret()),
                    Some(Some(s)) if (16..=128).contains(&s.len()) => Some(s.to_owned()),
                    Some(_) => {
                        f.fail(
                            "delivery_config.secret",
                            "value_error",
                            "must be a string of 16 to 128 characters",
                        );
                        None
                    }
                };
                if let Some(secret) = secret {
                    shown_secret = Some(secret.clone());
                    push = Some(PushEndpoint { url: url.to_string(), secret });
                }
            }
        }
    }
    BindingInput { update: BindingUpdate { delivery_mode: mode, push, lease_seconds }, shown_secret }
}

/// Adds the secret to a `delivery_config` for the one response that shows it.
pub(crate) fn reveal(config: &mut Option<Map<String, Value>>, secret: Option<String>) {
    if let (Some(config), Some(secret)) = (config.as_mut(), secret) {
        config.insert("secret".into(), Value::String(secret));
    }
}
