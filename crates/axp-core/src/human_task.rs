//! Human tasks: validating a person's `task_result` against the open task (contract §4.9).

use serde_json::{Map, Value};

/// A `task_result` that does not satisfy its task. Maps to 422 `task_result_invalid`; `rule`
/// names the broken rule (`outcome`, `allowed_outcomes`, `required_comment`,
/// `evidence_required`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task_result violates {rule}: {message}")]
pub struct TaskResultError {
    /// The rule that failed.
    pub rule: &'static str,
    /// What was wrong, for people.
    pub message: String,
}

/// Compiles a `form_schema` as JSON Schema 2020-12. Remote `$ref`s cannot be fetched (the
/// validator is built without resolvers), so a schema that needs one is refused.
pub fn form_validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    if !schema.is_object() {
        return Err("form_schema must be a JSON Schema object".into());
    }
    jsonschema::draft202012::new(schema).map_err(|e| format!("form_schema is not a usable JSON Schema: {e}"))
}

/// The outcome an inbox `approve` (`approve: true`) or `reject` stands for under `task`: the
/// first of its allowed outcomes (or its type's defaults) for approve, `rejected` (or the last
/// allowed outcome when `rejected` is not allowed) for reject; `approved`/`rejected` when the
/// task constrains nothing.
pub fn decision_outcome(task: &Map<String, Value>, approve: bool) -> String {
    let allowed: Vec<String> = match task.get("allowed_outcomes").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        None => task
            .get("task_type")
            .and_then(Value::as_str)
            .and_then(default_outcomes)
            .map(|d| d.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default(),
    };
    match (approve, allowed.first(), allowed.last()) {
        (true, Some(first), _) => first.clone(),
        (false, Some(_), Some(last)) => {
            if allowed.iter().any(|o| o == "rejected") {
                "rejected".into()
            } else {
                last.clone()
            }
        }
        (true, None, _) => "approved".into(),
        (false, _, _) => "rejected".into(),
    }
}

/// Outcomes that mean the task was not done as asked: a workflow takes its `on_failure` path.
pub fn is_negative_outcome(outcome: &str) -> bool {
    matches!(outcome, "rejected" | "declined" | "failed" | "changes_requested")
}

/// The outcomes a task type allows when the task sets no `allowed_outcomes` (contract §4.9
/// DECISION). `None`: any non-empty outcome.
pub fn default_outcomes(task_type: &str) -> Option<&'static [&'static str]> {
    Some(match task_type {
        "approval" => &["approved", "rejected"],
        "confirmation" => &["confirmed", "rejected"],
        "review" => &["approved", "changes_requested", "rejected"],
        "manual_action" => &["completed", "failed"],
        "assignment" => &["assigned", "declined"],
        "clarification" => &["provided", "rejected"],
        "override" => &["override_approved", "rejected"],
        _ => return None,
    })
}

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// Checks `result` against `task`: a non-empty `outcome` drawn from `allowed_outcomes` (or the
/// task type's defaults), a comment when `required_comment`, evidence (`data.evidence` or
/// `evidence`) when `evidence_required`.
///
/// `form_schema` (JSON Schema 2020-12) validates the `task_result` object itself (the CLI puts
/// form fields at the top level), falling back to `task_result.data` when that is an object.
pub fn validate_task_result(
    task: &Map<String, Value>,
    result: &Map<String, Value>,
) -> Result<(), TaskResultError> {
    let outcome = match result.get("outcome").and_then(Value::as_str) {
        Some(o) if !o.trim().is_empty() => o,
        _ => {
            return Err(TaskResultError {
                rule: "outcome",
                message: "task_result.outcome must be a non-empty string".into(),
            });
        }
    };
    let allowed: Option<Vec<&str>> = match task.get("allowed_outcomes").and_then(Value::as_array) {
        Some(list) => Some(list.iter().filter_map(Value::as_str).collect()),
        None => task.get("task_type").and_then(Value::as_str).and_then(default_outcomes).map(|d| d.to_vec()),
    };
    if let Some(allowed) = allowed
        && !allowed.contains(&outcome)
    {
        return Err(TaskResultError {
            rule: "allowed_outcomes",
            message: format!("outcome {outcome:?} is not one of {allowed:?}"),
        });
    }
    if task.get("required_comment").and_then(Value::as_bool) == Some(true)
        && !non_empty(result.get("comment"))
    {
        return Err(TaskResultError {
            rule: "required_comment",
            message: "this task requires a non-empty task_result.comment".into(),
        });
    }
    if task.get("evidence_required").and_then(Value::as_bool) == Some(true) {
        let nested = result.get("data").and_then(|d| d.get("evidence"));
        if !non_empty(nested) && !non_empty(result.get("evidence")) {
            return Err(TaskResultError {
                rule: "evidence_required",
                message: "this task requires task_result.data.evidence (or task_result.evidence)".into(),
            });
        }
    }
    if let Some(schema) = task.get("form_schema") {
        let validator =
            form_validator(schema).map_err(|message| TaskResultError { rule: "form_schema", message })?;
        let top = Value::Object(result.clone());
        if let Err(first) = validator.validate(&top) {
            let data_ok = result.get("data").filter(|d| d.is_object()).is_some_and(|d| validator.is_valid(d));
            if !data_ok {
                return Err(TaskResultError {
                    rule: "form_schema",
                    message: format!(
                        "task_result does not match form_schema at {}: {first}",
                        first.instance_path()
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn approval_defaults() {
        let task = obj(json!({"title": "t", "task_type": "approval"}));
        assert!(validate_task_result(&task, &obj(json!({"outcome": "approved"}))).is_ok());
        let err = validate_task_result(&task, &obj(json!({"outcome": "maybe"}))).unwrap_err();
        assert_eq!(err.rule, "allowed_outcomes");
    }

    #[test]
    fn explicit_rules() {
        let task = obj(
            json!({"title": "t", "allowed_outcomes": ["go"], "required_comment": true, "evidence_required": true}),
        );
        assert_eq!(validate_task_result(&task, &obj(json!({}))).unwrap_err().rule, "outcome");
        assert_eq!(
            validate_task_result(&task, &obj(json!({"outcome": "go"}))).unwrap_err().rule,
            "required_comment"
        );
        assert_eq!(
            validate_task_result(&task, &obj(json!({"outcome": "go", "comment": "ok"}))).unwrap_err().rule,
            "evidence_required"
        );
        assert!(
            validate_task_result(
                &task,
                &obj(json!({"outcome": "go", "comment": "ok", "data": {"evidence": "x"}}))
            )
            .is_ok()
        );
    }
}

#[cfg(test)]
mod form_tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn form_schema_checks_top_level_fields_or_data() {
        let task = obj(json!({"title": "t", "task_type": "form", "form_schema": {
            "type": "object", "required": ["amount"], "properties": {"amount": {"type": "integer", "minimum": 1}}
        }}));
        let bad =
            validate_task_result(&task, &obj(json!({"outcome": "submitted", "amount": "lots"}))).unwrap_err();
        assert_eq!(bad.rule, "form_schema");
        assert!(validate_task_result(&task, &obj(json!({"outcome": "submitted", "amount": 5}))).is_ok());
        assert!(
            validate_task_result(&task, &obj(json!({"outcome": "submitted", "data": {"amount": 5}}))).is_ok()
        );
    }

    #[test]
    fn remote_refs_are_refused() {
        assert!(form_validator(&json!({"$ref": "https://example.com/schema.json"})).is_err());
        assert!(form_validator(&json!("not a schema")).is_err());
    }

    #[test]
    fn inbox_decisions_map_to_the_task_outcomes() {
        assert_eq!(decision_outcome(&obj(json!({"task_type": "approval"})), true), "approved");
        assert_eq!(decision_outcome(&obj(json!({"task_type": "confirmation"})), true), "confirmed");
        assert_eq!(decision_outcome(&obj(json!({"task_type": "manual_action"})), false), "failed");
        assert_eq!(decision_outcome(&obj(json!({"allowed_outcomes": ["go", "no"]})), false), "no");
        assert_eq!(decision_outcome(&obj(json!({})), true), "approved");
    }
}
