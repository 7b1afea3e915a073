//! Request bodies turned into checked values, with every field error reported at once.
//!
//! Bodies are parsed as JSON objects first (a non-object is a 400 in the server) and then read
//! field by field here, because the contract asks for things serde derive cannot express:
//! unknown fields ignored, camelCase aliases where the snake_case name wins (§4.2), and
//! FastAPI-style `errors: [{loc, msg, type}]` on 422.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::address::{AddressScope, AgentAddress};
use crate::error::{ErrorCode, FieldError};
use crate::intent::NewIntent;
use crate::lifecycle::{Command, Resolution};
use crate::time::Timestamp;

/// Largest accepted `payload` of `POST /v1/intents`, in bytes of compact UTF-8 JSON (§4.2).
pub const PAYLOAD_MAX_BYTES: usize = 131_072;

/// Longest delay, lease, reminder or step time a client may ask for, in seconds: 366 days.
/// Every client number that becomes a time is held to it (422 beyond), so no sum with "now"
/// can overflow or wrap into the past (issue 12, "checked arithmetic").
pub const MAX_DELAY_SECONDS: u32 = 366 * 24 * 3600;

/// A client's number of seconds: `Ok(None)` when absent (or JSON `null`), the value when it is
/// an integer from `min` to [`MAX_DELAY_SECONDS`]. Errors: the message for the 422.
pub fn delay_seconds(value: Option<&Value>, min: u32) -> Result<Option<u32>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (min..=MAX_DELAY_SECONDS).contains(&n) => Ok(Some(n)),
            _ => Err(format!("must be an integer from {min} to {MAX_DELAY_SECONDS} (366 days)")),
        },
    }
}

/// `intent_type` of `POST /v1/intents` and of scenario steps: a dotted lowercase name
/// (contract §4.2). The versioned form `….v1` the spec recommends is not required: the official
/// examples send `human_approval.v1`, `compliance_check` and `process_task`.
pub static INTENT_TYPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*$").expect("valid regex"));

/// The longest `intent_type`, in characters (contract §4.2).
pub const INTENT_TYPE_MAX_LEN: usize = 255;

/// A request that failed validation: the code for the envelope and each field's failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// `validation_error`, `invalid_agent_address` or `payload_too_large`.
    pub code: ErrorCode,
    /// A one-line summary naming the first failing field.
    pub message: String,
    /// Every failure found.
    pub errors: Vec<FieldError>,
}

impl Invalid {
    fn from_errors(errors: Vec<FieldError>) -> Self {
        let code = if errors.iter().all(|e| e.kind == "invalid_agent_address") {
            ErrorCode::InvalidAgentAddress
        } else {
            ErrorCode::ValidationError
        };
        let first = &errors[0];
        let message = format!("{}: {}", first.loc.last().map(String::as_str).unwrap_or("body"), first.msg);
        Self { code, message, errors }
    }

    /// A single failing body field.
    pub fn field(field: &str, kind: &str, msg: impl Into<String>) -> Self {
        Self::from_errors(vec![FieldError::body(field, kind, msg)])
    }
}

/// Reads typed fields out of a JSON object, collecting failures.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// Starts reading `obj`.
    pub fn new(obj: &'a Map<String, Value>) -> Self {
        Self { obj, errors: Vec::new() }
    }

    /// The value of `name`, else of the first alias present; JSON `null` counts as absent.
    pub fn get(&self, name: &str, aliases: &[&str]) -> Option<&'a Value> {
        std::iter::once(name)
            .chain(aliases.iter().copied())
            .find_map(|k| self.obj.get(k).filter(|v| !v.is_null()))
    }

    /// Records a failure.
    pub fn fail(&mut self, field: &str, kind: &str, msg: impl Into<String>) {
        self.errors.push(FieldError::body(field, kind, msg));
    }

    /// A string field; `required` reports `missing` when absent.
    pub fn string(&mut self, name: &str, aliases: &[&str], required: bool) -> Option<String> {
        match self.get(name, aliases) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.fail(name, "type_error", "must be a string");
                None
            }
            None => {
                if required {
                    self.fail(name, "missing", "field required");
                }
                None
            }
        }
    }

    /// A string of `min..=max` characters.
    pub fn bounded_string(
        &mut self,
        name: &str,
        aliases: &[&str],
        required: bool,
        min: usize,
        max: usize,
    ) -> Option<String> {
        let s = self.string(name, aliases, required)?;
        let n = s.chars().count();
        if n < min || n > max {
            self.fail(name, "value_error", format!("must be {min} to {max} characters"));
            return None;
        }
        Some(s)
    }

    /// An integer ≥ `min` that fits in `u32`.
    pub fn u32_at_least(&mut self, name: &str, aliases: &[&str], min: u32) -> Option<u32> {
        let v = self.get(name, aliases)?;
        match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n >= min => Some(n),
            _ => {
                self.fail(name, "value_error", format!("must be an integer >= {min}"));
                None
            }
        }
    }

    /// A number of seconds from `min` to [`MAX_DELAY_SECONDS`] (see [`delay_seconds`]).
    pub fn seconds(&mut self, name: &str, aliases: &[&str], min: u32) -> Option<u32> {
        let v = self.get(name, aliases)?;
        delay_seconds(Some(v), min).unwrap_or_else(|msg| {
            self.fail(name, "value_error", msg);
            None
        })
    }

    /// A non-negative integer.
    pub fn u64(&mut self, name: &str, aliases: &[&str]) -> Option<u64> {
        let v = self.get(name, aliases)?;
        match v.as_u64() {
            Some(n) => Some(n),
            None => {
                self.fail(name, "value_error", "must be an integer >= 0");
                None
            }
        }
    }

    /// A boolean.
    pub fn bool(&mut self, name: &str, aliases: &[&str]) -> Option<bool> {
        let v = self.get(name, aliases)?;
        match v.as_bool() {
            Some(b) => Some(b),
            None => {
                self.fail(name, "type_error", "must be a boolean");
                None
            }
        }
    }

    /// A JSON object.
    pub fn object(&mut self, name: &str, aliases: &[&str]) -> Option<Map<String, Value>> {
        match self.get(name, aliases)? {
            Value::Object(o) => Some(o.clone()),
            _ => {
                self.fail(name, "type_error", "must be an object");
                None
            }
        }
    }

    /// An agent address, normalised against `scope` (§2.1).
    pub fn address(
        &mut self,
        name: &str,
        aliases: &[&str],
        required: bool,
        scope: &AddressScope<'_>,
    ) -> Option<AgentAddress> {
        let s = self.string(name, aliases, required)?;
        match AgentAddress::parse(&s, scope) {
            Ok(a) => Some(a),
            Err(e) => {
                self.fail(name, "invalid_agent_address", e.to_string());
                None
            }
        }
    }

    /// An RFC 3339 date-time.
    pub fn timestamp(&mut self, name: &str, aliases: &[&str]) -> Option<Timestamp> {
        let s = self.string(name, aliases, false)?;
        let t = Timestamp::parse_rfc3339(&s);
        if t.is_none() {
            self.fail(name, "value_error", "must be an RFC 3339 date-time");
        }
        t
    }

    /// A UUID string.
    pub fn uuid(&mut self, name: &str, aliases: &[&str]) -> Option<Uuid> {
        let s = self.string(name, aliases, false)?;
        match Uuid::parse_str(&s) {
            Ok(u) => Some(u),
            Err(_) => {
                self.fail(name, "value_error", "must be a UUID");
                None
            }
        }
    }

    /// Ends reading: the value if no field failed.
    pub fn finish<T>(self, value: T) -> Result<T, Invalid> {
        if self.errors.is_empty() { Ok(value) } else { Err(Invalid::from_errors(self.errors)) }
    }
}

/// Validates the body of `POST /v1/intents` (contract §4.2,
/// `api.intents.create.request.v1.json`): required `intent_type` and `to_agent`, `payload` an
/// object (default `{}`) of at most [`PAYLOAD_MAX_BYTES`], optional fields checked, camelCase
/// aliases accepted, `from_agent` and unknown keys ignored, `correlation_id` generated if absent.
pub fn new_intent(body: &Map<String, Value>, scope: &AddressScope<'_>) -> Result<NewIntent, Invalid> {
    let mut f = Fields::new(body);
    let intent_type = f.bounded_string("intent_type", &["intentType"], true, 1, INTENT_TYPE_MAX_LEN);
    if let Some(t) = &intent_type
        && !INTENT_TYPE.is_match(t)
    {
        f.fail(
            "intent_type",
            "pattern",
            "must be a dotted lowercase name matching ^[a-z0-9_]+(?:\\.[a-z0-9_]+)*$ (e.g. notify.message.v1)",
        );
    }
    let correlation_id = f.uuid("correlation_id", &["correlationId"]);
    let to_agent = f.address("to_agent", &["toAgent"], true, scope);
    let reply_to = f.address("reply_to", &["replyTo"], false, scope);
    let payload = f.object("payload", &[]).unwrap_or_default();
    let deadline_at = f.timestamp("deadline_at", &["deadlineAt"]);
    let remind_after_seconds = f.seconds("remind_after_seconds", &["remindAfterSeconds"], 1);
    let remind_interval_seconds = f.seconds("remind_interval_seconds", &["remindIntervalSeconds"], 1);
    let max_reminders = f.u32_at_least("max_reminders", &["maxReminders"], 1);
    let escalate_to = f.bounded_string("escalate_to", &["escalateTo"], false, 1, crate::address::MAX_LEN);
    let max_delivery_attempts = f.u32_at_least("max_delivery_attempts", &["maxDeliveryAttempts"], 1);
    let lease_seconds = f.seconds("lease_seconds", &["leaseSeconds"], 1);
    let human_task = f.object("human_task", &["humanTask"]);
    let human_task = human_task.map(|task| human_task_spec(&mut f, task, intent_type.as_deref()));

    let payload_len = serde_json::to_vec(&payload).map(|v| v.len()).unwrap_or(0);
    if payload_len > PAYLOAD_MAX_BYTES {
        return Err(Invalid {
            code: ErrorCode::PayloadTooLarge,
            message: format!("payload is {payload_len} bytes; the limit is {PAYLOAD_MAX_BYTES}"),
            errors: vec![FieldError::body("payload", "value_error", "too large")],
        });
    }
    let new = intent_type.zip(to_agent).map(|(intent_type, to_agent)| {
        let mut new = NewIntent::new(intent_type, to_agent, payload);
        new.correlation_id = correlation_id.unwrap_or_else(Uuid::new_v4);
        new.reply_to = reply_to;
        new.deadline_at = deadline_at;
        new.remind_after_seconds = remind_after_seconds;
        new.remind_interval_seconds = remind_interval_seconds;
        new.max_reminders = max_reminders;
        new.escalate_to = escalate_to;
        new.max_delivery_attempts = max_delivery_attempts;
        new.lease_seconds = lease_seconds;
        new.human_task = human_task;
        new
    });
    f.finish(new)?.ok_or_else(missing)
}

/// A required field was absent; [`Fields`] has already recorded it, so this is only reached
/// through a logic error and still answers with a 422 rather than a panic.
fn missing() -> Invalid {
    Invalid::field("body", "missing", "required fields are missing")
}

/// Checks a HumanTaskSpec (§4.9) and defaults `title` to the intent type.
pub fn human_task_spec(
    f: &mut Fields<'_>,
    mut task: Map<String, Value>,
    intent_type: Option<&str>,
) -> Map<String, Value> {
    const TASK_TYPES: [&str; 15] = [
        "approval",
        "review",
        "clarification",
        "provide_data",
        "attach_file",
        "manual_action",
        "confirmation",
        "validate_real_world",
        "validate_output",
        "assignment",
        "delegation",
        "reroute",
        "override",
        "escalate",
        "form",
    ];
    if !task.contains_key("title") {
        task.insert("title".into(), Value::String(intent_type.unwrap_or("task").to_owned()));
    }
    match task.get("task_type") {
        None => {}
        Some(Value::String(t)) if TASK_TYPES.contains(&t.as_str()) => {}
        Some(_) => f.fail("human_task.task_type", "value_error", format!("must be one of {TASK_TYPES:?}")),
    }
    if let Some(schema) = task.get("form_schema")
        && let Err(e) = crate::human_task::form_validator(schema)
    {
        f.fail("human_task.form_schema", "value_error", e);
    }
    if let Some(outcomes) = task.get("allowed_outcomes") {
        let ok = outcomes.as_array().is_some_and(|a| {
            (1..=20).contains(&a.len())
                && a.iter().all(|o| o.as_str().is_some_and(|s| (1..=64).contains(&s.len())))
        });
        if !ok {
            f.fail(
                "human_task.allowed_outcomes",
                "value_error",
                "must be 1 to 20 strings of 1 to 64 characters",
            );
        }
    }
    task
}

/// A validated body of one of the four command endpoints (§4.6–§4.8).
#[derive(Clone, Debug, PartialEq)]
pub struct CommandBody {
    /// What to do.
    pub command: Command,
    /// `actor` (3 to 255 characters), recorded on the events; default the caller.
    pub actor: Option<String>,
    /// `expected_policy_generation`, the CAS guard.
    pub expected_policy_generation: Option<u64>,
}

/// Reads the fields every command body shares and finishes with `command`.
fn command_body(mut f: Fields<'_>, command: Option<Command>) -> Result<CommandBody, Invalid> {
    let actor = f.bounded_string("actor", &[], false, 3, 255);
    let expected_policy_generation = f.u64("expected_policy_generation", &[]);
    let command = f.finish(command)?.ok_or_else(missing)?;
    Ok(CommandBody { command, actor, expected_policy_generation })
}

/// Validates the body of `POST /v1/intents/{id}/resolve` (§4.6): `status` ∈ COMPLETED, FAILED,
/// CANCELED; `result`/`error` default to `{}`, `reason` to `"canceled"`.
pub fn resolve(body: &Map<String, Value>) -> Result<CommandBody, Invalid> {
    let mut f = Fields::new(body);
    let status = f.string("status", &[], true);
    let reason = f.bounded_string("reason", &[], false, 0, 2000);
    let empty = || Value::Object(Map::new());
    let resolution = match status.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("COMPLETED") => Some(Resolution::Completed(body.get("result").cloned().unwrap_or_else(empty))),
        Some("FAILED") => Some(Resolution::Failed(body.get("error").cloned().unwrap_or_else(empty))),
        Some("CANCELED" | "CANCELLED") => {
            Some(Resolution::Canceled(reason.unwrap_or_else(|| "canceled".into())))
        }
        Some(_) => {
            f.fail("status", "value_error", "must be one of COMPLETED, FAILED, CANCELED");
            None
        }
        None => None,
    };
    command_body(f, resolution.map(Command::Resolve))
}

/// Validates the body of `POST /v1/intents/{id}/resume` (§4.7): the body is open; only `actor`,
/// `expected_policy_generation`, `reason` and `task_result` are type-checked.
pub fn resume(body: &Map<String, Value>) -> Result<CommandBody, Invalid> {
    let mut f = Fields::new(body);
    f.object("task_result", &[]);
    f.bounded_string("reason", &[], false, 0, 2000);
    command_body(f, Some(Command::Resume(body.clone())))
}

/// Validates `POST /v1/intents/{id}/controls` (§4.8): `controls_patch` an object.
pub fn controls(body: &Map<String, Value>) -> Result<CommandBody, Invalid> {
    let mut f = Fields::new(body);
    let patch = f.object("controls_patch", &[]).unwrap_or_default();
    command_body(f, Some(Command::UpdateControls(patch)))
}

/// Validates `POST /v1/intents/{id}/policy` (§4.8): `grants_patch` and `envelope_patch` objects.
pub fn policy(body: &Map<String, Value>) -> Result<CommandBody, Invalid> {
    let mut f = Fields::new(body);
    let grants_patch = f.object("grants_patch", &[]).unwrap_or_default();
    let envelope_patch = f.object("envelope_patch", &[]).unwrap_or_default();
    command_body(f, Some(Command::UpdatePolicy { grants_patch, envelope_patch }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn delay_seconds_are_bounded_to_366_days() {
        assert_eq!(delay_seconds(None, 1), Ok(None));
        assert_eq!(delay_seconds(Some(&Value::Null), 1), Ok(None));
        assert_eq!(delay_seconds(Some(&json!(1)), 1), Ok(Some(1)));
        assert_eq!(delay_seconds(Some(&json!(MAX_DELAY_SECONDS)), 1), Ok(Some(MAX_DELAY_SECONDS)));
        for bad in
            [json!(0), json!(MAX_DELAY_SECONDS + 1), json!(u64::MAX), json!(-1), json!(1.5), json!("60")]
        {
            assert!(delay_seconds(Some(&bad), 1).is_err(), "{bad}");
        }
        assert_eq!(delay_seconds(Some(&json!(0)), 0), Ok(Some(0)));
        let body = obj(json!({"lease_seconds": 1u64 << 40}));
        let mut f = Fields::new(&body);
        assert_eq!(f.seconds("lease_seconds", &[], 1), None);
        assert!(f.finish(()).is_err(), "the failure is recorded");
    }

    const SCOPE: AddressScope<'static> = AddressScope { org_slug: "o", workspace_slug: "w" };

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn minimal_create() {
        let n = new_intent(&obj(json!({"intent_type": "notify.message.v1", "to_agent": "agent://conformance/receiver", "from_agent": "agent://x/y", "extra": 1})), &SCOPE).unwrap();
        assert_eq!(n.to_agent.as_str(), "agent://conformance/receiver");
        assert!(n.payload.is_empty());
    }

    #[test]
    fn camel_case_aliases_and_snake_wins() {
        let n = new_intent(&obj(json!({"intentType": "a.b.v1", "toAgent": "bot", "to_agent": "agent://x/y/z", "maxDeliveryAttempts": 3})), &SCOPE).unwrap();
        assert_eq!(n.intent_type, "a.b.v1");
        assert_eq!(n.to_agent.as_str(), "agent://x/y/z");
        assert_eq!(n.max_delivery_attempts, Some(3));
    }

    #[test]
    fn intent_type_is_a_dotted_lowercase_name_without_a_required_version() {
        // What the official examples send (contract §4.2).
        for ok in
            ["notify.message.v1", "human_approval.v1", "compliance_check", "analyze_data", "process_task"]
        {
            let n = new_intent(&obj(json!({"intent_type": ok, "to_agent": "bot"})), &SCOPE).unwrap();
            assert_eq!(n.intent_type, ok);
        }
        let long = "a".repeat(INTENT_TYPE_MAX_LEN + 1);
        for bad in ["", "Bad", "a..b", ".a", "a.", "a-b", "a b", long.as_str()] {
            let e = new_intent(&obj(json!({"intent_type": bad, "to_agent": "bot"})), &SCOPE).unwrap_err();
            assert_eq!(e.errors[0].loc[1], "intent_type", "{bad:?}");
        }
    }

    #[test]
    fn reports_every_bad_field() {
        let e = new_intent(&obj(json!({"intent_type": "Bad", "payload": [], "max_reminders": 0})), &SCOPE)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationError);
        let fields: Vec<_> = e.errors.iter().map(|e| e.loc[1].as_str()).collect();
        assert_eq!(fields, ["intent_type", "to_agent", "payload", "max_reminders"]);
    }

    #[test]
    fn bad_address_has_its_own_code() {
        let e = new_intent(&obj(json!({"intent_type": "a.b.v1", "to_agent": "agent://bad addr"})), &SCOPE)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidAgentAddress);
    }

    #[test]
    fn payload_limit() {
        let big = "x".repeat(PAYLOAD_MAX_BYTES);
        let e = new_intent(
            &obj(json!({"intent_type": "a.b.v1", "to_agent": "bot", "payload": {"t": big}})),
            &SCOPE,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::PayloadTooLarge);
    }

    #[test]
    fn resolve_defaults() {
        let CommandBody { command: cmd, expected_policy_generation: expected, .. } =
            resolve(&obj(json!({"status": "COMPLETED", "expected_policy_generation": 0}))).unwrap();
        assert_eq!(cmd, Command::Resolve(Resolution::Completed(json!({}))));
        assert_eq!(expected, Some(0));
        assert_eq!(resolve(&obj(json!({"status": "DONE"}))).unwrap_err().code, ErrorCode::ValidationError);
    }
}
