//! The delivery-binding flags shared by `agents register` and `agents set-delivery`.

use axp_client::{Binding, DeliveryBinding};
use serde_json::{Map, Value};

use crate::exit::usage;

/// How intents reach the agent.
#[derive(clap::Args, Debug, Default)]
pub struct BindingFlags {
    /// `stream` (the agent holds an SSE stream), `poll` (it claims work), `http` (the server
    /// POSTs to --delivery-url), `inbox` (a person) or `internal`.
    #[arg(long, value_name = "MODE", value_parser = ["stream", "poll", "http", "inbox", "internal"])]
    pub delivery_mode: Option<String>,
    /// With `http`: the URL the server POSTs intents to (`--url` is the server's URL, an alias
    /// of `--base-url`).
    #[arg(long = "delivery-url", value_name = "URL")]
    pub url: Option<String>,
    /// With `http`: the signing secret (16 to 128 characters); default a new one, shown once.
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Seconds the agent has to acknowledge a delivery before it is redelivered (default 60).
    #[arg(long, value_name = "SECONDS")]
    pub lease_seconds: Option<u32>,
}

impl BindingFlags {
    /// The binding, or `None` when no flag was given. `--delivery-url`/`--secret` need `http`.
    pub fn binding(&self) -> anyhow::Result<Option<DeliveryBinding>> {
        if self.delivery_mode.is_none()
            && self.url.is_none()
            && self.secret.is_none()
            && self.lease_seconds.is_none()
        {
            return Ok(None);
        }
        let mode = match (&self.delivery_mode, &self.url) {
            (Some(mode), _) => mode.parse::<Binding>().map_err(|e| usage(format!("--delivery-mode {e}")))?,
            (None, Some(_)) => Binding::Http,
            (None, None) => Binding::Stream,
        };
        if mode != Binding::Http && (self.url.is_some() || self.secret.is_some()) {
            return Err(usage("--delivery-url and --secret go with --delivery-mode http"));
        }
        let mut config = Map::new();
        if let Some(url) = &self.url {
            config.insert("url".into(), Value::String(url.clone()));
        }
        if let Some(secret) = &self.secret {
            config.insert("secret".into(), Value::String(secret.clone()));
        }
        if mode == Binding::Http && !config.contains_key("url") {
            return Err(usage("--delivery-mode http needs --delivery-url"));
        }
        Ok(Some(DeliveryBinding {
            delivery_mode: mode,
            delivery_config: (!config.is_empty()).then_some(config),
            lease_seconds: self.lease_seconds,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_make_bindings() {
        assert!(BindingFlags::default().binding().unwrap().is_none());
        let url = BindingFlags { url: Some("https://a.example/h".into()), ..Default::default() };
        let b = url.binding().unwrap().unwrap();
        assert_eq!(b.delivery_mode, Binding::Http);
        assert_eq!(b.delivery_config.unwrap()["url"], "https://a.example/h");
        let poll =
            BindingFlags { delivery_mode: Some("poll".into()), lease_seconds: Some(5), ..Default::default() };
        assert_eq!(poll.binding().unwrap().unwrap().lease_seconds, Some(5));
        let bad =
            BindingFlags { delivery_mode: Some("poll".into()), url: Some("x".into()), ..Default::default() };
        assert!(bad.binding().is_err());
        let no_url = BindingFlags { delivery_mode: Some("http".into()), ..Default::default() };
        assert!(no_url.binding().is_err());
    }
}
