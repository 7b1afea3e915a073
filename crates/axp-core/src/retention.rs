//! Retention (an axp extension, `docs/retention.md`): how long finished work is kept.
//!
//! The server has defaults ([`RetentionDefaults`], from `AXP_RETENTION_DAYS` and its siblings);
//! a workspace admin may override the per-workspace periods ([`RetentionOverrides`], `PATCH
//! /v1/settings/retention`). The audit log's period is the operator's alone: a workspace cannot
//! shorten the record of what was done in it. No storage and no HTTP here: the engine's pruner
//! removes, the server answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::delivery::Delivery;
use crate::validate::{Fields, Invalid};
use crate::{Intent, IntentEvent, Timestamp};

/// Longest period a setting accepts, in days (100 years: "keep for ever" in practice).
pub const MAX_DAYS: u32 = 36_500;

const DAY_MS: i64 = 86_400_000;

/// The server-wide periods, in days (each at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionDefaults {
    /// Finished intents (terminal status), counted from when they finished, with their events,
    /// queue and timer rows, settled deliveries and inbox entries (`AXP_RETENTION_DAYS`, 30).
    pub intent_days: u32,
    /// Dead-lettered deliveries, counted from their creation (`AXP_DEAD_LETTER_RETENTION_DAYS`,
    /// 30).
    pub dead_letter_days: u32,
    /// Webhook events and their settled deliveries (`AXP_WEBHOOK_EVENT_RETENTION_DAYS`, 30).
    pub webhook_event_days: u32,
    /// The audit log, server-wide (`AXP_AUDIT_RETENTION_DAYS`, 365).
    pub audit_days: u32,
}

impl Default for RetentionDefaults {
    fn default() -> Self {
        Self { intent_days: 30, dead_letter_days: 30, webhook_event_days: 30, audit_days: 365 }
    }
}

/// A workspace's own periods, in days; `None` follows the server default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionOverrides {
    /// See [`RetentionDefaults::intent_days`].
    pub intent_days: Option<u32>,
    /// See [`RetentionDefaults::dead_letter_days`].
    pub dead_letter_days: Option<u32>,
    /// See [`RetentionDefaults::webhook_event_days`].
    pub webhook_event_days: Option<u32>,
}

/// The names a workspace may set, in wire order.
const FIELDS: [&str; 3] = ["intent_days", "dead_letter_days", "webhook_event_days"];

impl RetentionOverrides {
    /// These overrides after a `PATCH` body `{intent_days?, dead_letter_days?,
    /// webhook_event_days?}`: an integer from 1 to [`MAX_DAYS`] sets a period, `null` returns
    /// it to the server default, an absent field is unchanged. Errors: 422 `value_error` for
    /// anything else, including an unknown field (nothing changes).
    pub fn patched(&self, body: &Map<String, Value>) -> Result<Self, Invalid> {
        let mut next = *self;
        let mut f = Fields::new(body);
        for name in body.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
            f.fail(name, "value_error", format!("unknown setting; settable: {}", FIELDS.join(", ")));
        }
        for name in FIELDS {
            let value = match body.get(name) {
                None => continue,
                Some(Value::Null) => None,
                Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n @ 1..=MAX_DAYS) => Some(n),
                    _ => {
                        f.fail(
                            name,
                            "value_error",
                            format!("must be an integer from 1 to {MAX_DAYS}, or null"),
                        );
                        continue;
                    }
                },
            };
            match name {
                "intent_days" => next.intent_days = value,
                "dead_letter_days" => next.dead_letter_days = value,
                _ => next.webhook_event_days = value,
            }
        }
        f.finish(next)
    }

    /// The periods in force: each override, else the server default.
    pub fn effective(&self, defaults: &RetentionDefaults) -> RetentionDefaults {
        RetentionDefaults {
            intent_days: self.intent_days.unwrap_or(defaults.intent_days),
            dead_letter_days: self.dead_letter_days.unwrap_or(defaults.dead_letter_days),
            webhook_event_days: self.webhook_event_days.unwrap_or(defaults.webhook_event_days),
            audit_days: defaults.audit_days,
        }
    }
}

/// What was kept `days` days before `now`: rows older than this are past retention.
pub fn cutoff(now: Timestamp, days: u32) -> Timestamp {
    Timestamp::from_millis(now.as_millis().saturating_sub(i64::from(days) * DAY_MS))
}

/// One intent as the archive keeps it: one JSON line per intent (`docs/retention.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArchivedIntent {
    /// When it was written to the archive.
    pub archived_at: Timestamp,
    /// The intent as it finished.
    pub intent: Intent,
    /// Its events, by `seq`.
    pub events: Vec<IntentEvent>,
    /// Its push deliveries with their attempts, oldest first.
    pub deliveries: Vec<Delivery>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patch(o: &RetentionOverrides, body: Value) -> Result<RetentionOverrides, Invalid> {
        o.patched(body.as_object().unwrap())
    }

    #[test]
    fn a_patch_sets_resets_and_keeps() {
        let set =
            patch(&RetentionOverrides::default(), json!({"intent_days": 7, "dead_letter_days": 90})).unwrap();
        assert_eq!(
            set,
            RetentionOverrides { intent_days: Some(7), dead_letter_days: Some(90), webhook_event_days: None }
        );
        let reset = patch(&set, json!({"intent_days": null})).unwrap();
        assert_eq!(reset, RetentionOverrides { intent_days: None, ..set });
        let defaults = RetentionDefaults::default();
        assert_eq!(reset.effective(&defaults).intent_days, 30);
        assert_eq!(reset.effective(&defaults).dead_letter_days, 90);
        assert_eq!(reset.effective(&defaults).audit_days, 365);
    }

    #[test]
    fn bad_values_and_unknown_fields_change_nothing() {
        let o = RetentionOverrides { intent_days: Some(3), ..Default::default() };
        for body in [
            json!({"intent_days": 0}),
            json!({"intent_days": -1}),
            json!({"intent_days": "7"}),
            json!({"intent_days": MAX_DAYS + 1}),
            json!({"audit_days": 1}),
            json!({"intent_days": 7, "dead_letter_days": 1.5}),
        ] {
            assert!(patch(&o, body.clone()).is_err(), "{body} was accepted");
        }
    }

    #[test]
    fn the_cutoff_is_whole_days_back() {
        let now = Timestamp::from_millis(10 * DAY_MS + 5);
        assert_eq!(cutoff(now, 3), Timestamp::from_millis(7 * DAY_MS + 5));
        assert_eq!(cutoff(Timestamp::from_millis(0), MAX_DAYS).as_millis(), -(i64::from(MAX_DAYS) * DAY_MS));
    }
}
