//! Scenario bundles: agents + workflow + intent in one document (contract §4.13).
//!
//! [`compile`] checks a bundle and turns it into a [`ScenarioPlan`]: the agents to resolve or
//! create and the intent to create, routed to the first step's assignee. `validate` and `apply`
//! share it, so they can never disagree about what is valid.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::address::{AddressScope, AgentAddress};
use crate::delivery::Binding;
use crate::intent::NewIntent;
use crate::validate::{Fields, INTENT_TYPE, INTENT_TYPE_MAX_LEN, delay_seconds, human_task_spec};
use crate::workflow::{Step, StepKind, StepReminders, StepRetry, Workflow};

/// Steps the engine runs itself (`runtime_type`).
pub const RUNTIME_TYPES: [&str; 6] =
    ["human_approval", "timeout", "reminder", "delay", "escalation", "notification"];

static SCENARIO_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$").expect("valid regex"));

/// An agent the bundle names.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedAgent {
    /// Its role in the bundle (defaults to the address as written).
    pub role: String,
    /// Its normalised address.
    pub address: AgentAddress,
    /// Display name (defaults to the address's last segment).
    pub display_name: String,
    /// Create the service account when no agent has this address.
    pub create_if_missing: bool,
    /// Its delivery binding.
    pub delivery_mode: Binding,
    /// The bundle's agent object, from which the server reads the binding's details
    /// (`delivery_config`, `endpoint_url`, `lease_seconds`).
    pub spec: Map<String, Value>,
}

/// A checked bundle, ready to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioPlan {
    /// The bundle's id, or a generated `scenario_<uuid>`.
    pub scenario_id: String,
    /// A fresh id for this compilation of the workflow.
    pub compile_id: String,
    /// Agents to resolve or create.
    pub agents: Vec<PlannedAgent>,
    /// The intent to create (routed to the first step's assignee).
    pub intent: NewIntent,
}

/// The outcome of [`compile`]: a plan when there are no errors, plus warnings either way.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Compiled {
    /// Present when `errors` is empty.
    pub plan: Option<ScenarioPlan>,
    /// What makes the bundle unusable.
    pub errors: Vec<String>,
    /// What was defaulted or may surprise.
    pub warnings: Vec<String>,
}

/// Checks `bundle` against the rules of §4.13 and compiles it into a plan whose intent carries
/// the workflow. `caller` addresses a workflow that has no agent step at all.
pub fn compile(bundle: &Map<String, Value>, scope: &AddressScope<'_>, caller: &AgentAddress) -> Compiled {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    let scenario_id = match bundle.get("scenario_id") {
        Some(Value::String(id)) if SCENARIO_ID.is_match(id) && id.len() <= 255 => id.clone(),
        Some(Value::String(id)) => {
            errors.push(format!("scenario_id {id:?} must match ^[a-z0-9_-]+(\\.[a-z0-9_-]+)*$"));
            id.clone()
        }
        Some(_) => {
            errors.push("scenario_id must be a string".into());
            String::new()
        }
        None => {
            let id = format!("scenario_{}", Uuid::now_v7().simple());
            warnings.push(format!("scenario_id is missing; generated {id}"));
            id
        }
    };

    let mut agents: Vec<PlannedAgent> = Vec::new();
    match bundle.get("agents") {
        None => {}
        Some(Value::Array(list)) => {
            for (i, a) in list.iter().enumerate() {
                match planned_agent(a, scope) {
                    Ok(agent) => agents.push(agent),
                    Err(e) => errors.push(format!("agents[{i}]: {e}")),
                }
            }
        }
        Some(_) => errors.push("agents must be a list".into()),
    }

    let Some(intent_spec) = bundle.get("intent").and_then(Value::as_object) else {
        errors.push("intent is required and must be an object".into());
        return Compiled { plan: None, errors, warnings };
    };

    // Humans by role: a step assigned to one is their task.
    let mut humans: Vec<(String, String)> = Vec::new();
    if let Some(list) = bundle.get("humans").and_then(Value::as_array) {
        for (i, h) in list.iter().enumerate() {
            let role = h.get("role").and_then(Value::as_str);
            let contact = h.get("contact").and_then(Value::as_str).or(role);
            match (role, contact) {
                (Some(role), Some(contact)) => humans.push((role.to_owned(), contact.to_owned())),
                _ => errors.push(format!("humans[{i}] needs a role (and a contact)")),
            }
        }
    }

    let mut steps: Vec<Step> = Vec::new();
    let workflow = bundle.get("workflow").and_then(Value::as_object);
    match workflow.and_then(|w| w.get("steps")).and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            let ids: Vec<&str> =
                list.iter().filter_map(|s| s.get("step_id").and_then(Value::as_str)).collect();
            let mut seen = HashSet::new();
            for (i, raw) in list.iter().enumerate() {
                let Some(raw) = raw.as_object() else {
                    errors.push(format!("workflow.steps[{i}] must be an object"));
                    continue;
                };
                let step_id = raw.get("step_id").and_then(Value::as_str).unwrap_or("");
                if step_id.is_empty() {
                    errors.push(format!("workflow.steps[{i}].step_id is required"));
                } else if !seen.insert(step_id) {
                    errors.push(format!("workflow.steps[{i}].step_id {step_id:?} is not unique"));
                }
                for link in ["on_success", "on_failure"] {
                    if let Some(target) = raw.get(link).and_then(Value::as_str)
                        && !ids.contains(&target)
                    {
                        errors.push(format!("workflow.steps[{i}].{link} names unknown step {target:?}"));
                    }
                }
                match compile_step(raw, step_id, &agents, &humans, scope) {
                    Ok(step) => steps.push(step),
                    Err(e) => errors.push(format!("workflow.steps[{i}]: {e}")),
                }
            }
        }
        _ if workflow.is_some_and(|w| w.contains_key("macro_id")) => {
            errors.push("workflow.macro_id is not supported by this server; list the steps".into());
        }
        _ if agents.len() == 1 => {
            warnings.push("workflow.steps is missing; the intent goes to the bundle's only agent".into());
        }
        _ => errors.push("workflow.steps is required (unless the bundle has exactly one agent)".into()),
    }
    // The intent starts addressed to the first agent step's assignee (or the only agent); a
    // workflow of people and timers only is addressed to its caller.
    let target = steps
        .iter()
        .find_map(|s| match &s.kind {
            StepKind::Agent { assignee } => Some(AgentAddress::from_trusted(assignee.clone())),
            _ => None,
        })
        .or_else(|| agents.first().map(|a| a.address.clone()).filter(|_| agents.len() == 1))
        .or_else(|| (!steps.is_empty()).then(|| caller.clone()));

    let mut f = Fields::new(intent_spec);
    let intent_type = f.bounded_string("type", &["intent_type"], true, 3, INTENT_TYPE_MAX_LEN);
    if let Some(t) = &intent_type
        && !INTENT_TYPE.is_match(t)
    {
        f.fail("type", "pattern", "must match ^[a-z0-9_]+(\\.[a-z0-9_]+)*$");
    }
    let payload = f.object("payload", &[]).unwrap_or_default();
    let deadline_at = f.timestamp("deadline_at", &[]);
    let remind_after_seconds = f.seconds("remind_after_seconds", &[], 1);
    let remind_interval_seconds = f.seconds("remind_interval_seconds", &[], 1);
    let max_reminders = f.u32_at_least("max_reminders", &[], 1);
    let escalate_to = f.bounded_string("escalate_to", &[], false, 1, crate::address::MAX_LEN);
    let max_delivery_attempts = f.u32_at_least("max_delivery_attempts", &[], 1);
    let lease_seconds = f.seconds("lease_seconds", &[], 1);
    let reply_to = f.address("reply_to", &[], false, scope);
    let human_task =
        f.object("human_task", &[]).map(|task| human_task_spec(&mut f, task, intent_type.as_deref()));
    if human_task.is_some() && !steps.is_empty() {
        errors.push(
            "intent.human_task goes with a bundle without steps; give a workflow step a human_task instead"
                .into(),
        );
    }
    if let Err(invalid) = f.finish(()) {
        errors.extend(invalid.errors.into_iter().map(|e| format!("intent.{}: {}", e.loc[1], e.msg)));
    }
    if target.is_none() && errors.is_empty() {
        errors.push("no step assignee or agent to route the intent to".into());
    }
    if !errors.is_empty() {
        return Compiled { plan: None, errors, warnings };
    }
    let (Some(intent_type), Some(target)) = (intent_type, target) else {
        return Compiled { plan: None, errors: vec!["intent.type is required".into()], warnings };
    };
    let compile_id = Uuid::now_v7().to_string();
    let mut intent = NewIntent::new(intent_type, target, payload);
    intent.reply_to = reply_to;
    intent.deadline_at = deadline_at;
    intent.remind_after_seconds = remind_after_seconds;
    intent.remind_interval_seconds = remind_interval_seconds;
    intent.max_reminders = max_reminders;
    intent.escalate_to = escalate_to;
    intent.max_delivery_attempts = max_delivery_attempts;
    intent.lease_seconds = lease_seconds;
    intent.human_task = human_task;
    intent.scenario_id = Some(scenario_id.clone());
    intent.workflow_compile_id = Some(compile_id.clone());
    intent.workflow = (!steps.is_empty()).then(|| Workflow::new(steps));
    Compiled { plan: Some(ScenarioPlan { scenario_id, compile_id, agents, intent }), errors, warnings }
}

/// One step of the bundle as the engine will run it: an agent step (`assigned_to` an agent role
/// or address), a human step (`requires_approval`, a `human_task`, `runtime_type:
/// human_approval`, or `assigned_to` a human role), or an internal step (`runtime_type`).
fn compile_step(
    raw: &Map<String, Value>,
    step_id: &str,
    agents: &[PlannedAgent],
    humans: &[(String, String)],
    scope: &AddressScope<'_>,
) -> Result<Step, String> {
    let runtime_type = raw.get("runtime_type").and_then(Value::as_str);
    let assigned = raw.get("assigned_to").and_then(Value::as_str);
    let human_contact =
        assigned.and_then(|who| humans.iter().find(|(role, _)| role == who).map(|(_, c)| c.clone()));
    let wants_human = raw.get("requires_approval").and_then(Value::as_bool) == Some(true)
        || raw.get("human_task").is_some()
        || runtime_type == Some("human_approval")
        || human_contact.is_some();
    let kind = if wants_human {
        let mut task = match raw.get("human_task") {
            Some(Value::Object(t)) => t.clone(),
            Some(_) => return Err("human_task must be an object".into()),
            None => Map::new(),
        };
        task.entry("title").or_insert_with(|| Value::String(step_id.to_owned()));
        task.entry("task_type").or_insert_with(|| Value::String("approval".into()));
        if !task.contains_key("assignees") {
            let who = human_contact.or_else(|| assigned.map(str::to_owned)).unwrap_or_else(|| "human".into());
            task.insert("assignees".into(), Value::Array(vec![Value::String(who)]));
        }
        let mut f = Fields::new(raw);
        let task = human_task_spec(&mut f, task, None);
        f.finish(()).map_err(|e| e.message)?;
        StepKind::Human { task }
    } else if let Some(rt) = runtime_type {
        if !RUNTIME_TYPES.contains(&rt) {
            return Err(format!("runtime_type must be one of {RUNTIME_TYPES:?}"));
        }
        let mut config = raw.get("runtime_config").and_then(Value::as_object).cloned().unwrap_or_default();
        for key in ["seconds", "delay_seconds", "escalate_to", "event_type", "message"] {
            if let Some(v) = raw.get(key) {
                config.entry(key).or_insert_with(|| v.clone());
            }
        }
        if rt == "delay" && !config.contains_key("seconds") && !config.contains_key("delay_seconds") {
            return Err("a delay step needs runtime_config.seconds".into());
        }
        for key in ["seconds", "delay_seconds"] {
            delay_seconds(config.get(key), 0).map_err(|msg| format!("runtime_config.{key}: {msg}"))?;
        }
        StepKind::Internal { runtime_type: rt.to_owned(), config }
    } else {
        if raw.get("tool_id").and_then(Value::as_str).is_none() {
            return Err("needs tool_id or runtime_type".into());
        }
        let who = assigned.ok_or("assigned_to is required for an agent step")?;
        let assignee = resolve_assignee(who, agents, scope)?;
        StepKind::Agent { assignee: assignee.into_string() }
    };
    let seconds = |k: &str, v: Option<&Value>| delay_seconds(v, 0).map_err(|msg| format!("{k}: {msg}"));
    let retry = match raw.get("retry") {
        Some(r) => Some(StepRetry {
            max_retries: r.get("max_retries").and_then(Value::as_u64).unwrap_or(0).min(u64::from(u32::MAX))
                as u32,
            retry_delay_seconds: seconds("retry.retry_delay_seconds", r.get("retry_delay_seconds"))?
                .unwrap_or(0),
        }),
        None => None,
    };
    let num = |k: &str| raw.get(k).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
    let reminders = StepReminders {
        remind_after_seconds: seconds("remind_after_seconds", raw.get("remind_after_seconds"))?,
        remind_interval_seconds: seconds("remind_interval_seconds", raw.get("remind_interval_seconds"))?,
        max_reminders: num("max_reminders"),
        escalate_to: raw.get("escalate_to").and_then(Value::as_str).map(str::to_owned),
    };
    Ok(Step {
        step_id: step_id.to_owned(),
        kind,
        on_success: raw.get("on_success").and_then(Value::as_str).map(str::to_owned),
        on_failure: raw.get("on_failure").and_then(Value::as_str).map(str::to_owned),
        step_deadline_seconds: seconds("step_deadline_seconds", raw.get("step_deadline_seconds"))?,
        retry,
        reminders: (reminders != StepReminders::default()).then_some(reminders),
    })
}

fn planned_agent(a: &Value, scope: &AddressScope<'_>) -> Result<PlannedAgent, String> {
    let a = a.as_object().ok_or("must be an object")?;
    let raw = a.get("address").and_then(Value::as_str).ok_or("address is required")?;
    let address = AgentAddress::parse(raw, scope).map_err(|e| format!("address: {e}"))?;
    let delivery_mode: Binding = match a.get("delivery_mode").and_then(Value::as_str) {
        None => Binding::Stream,
        Some(mode) => mode.parse().map_err(|e| format!("delivery_mode {e}"))?,
    };
    if !matches!(delivery_mode, Binding::Stream | Binding::Poll | Binding::Http) {
        return Err(format!(
            "delivery_mode {:?} is not supported in scenarios by this server version yet (stream, poll, http)",
            delivery_mode.as_str()
        ));
    }
    Ok(PlannedAgent {
        role: a.get("role").and_then(Value::as_str).unwrap_or(raw).to_owned(),
        display_name: a
            .get("display_name")
            .and_then(Value::as_str)
            .unwrap_or_else(|| address.name())
            .to_owned(),
        create_if_missing: a.get("create_if_missing").and_then(Value::as_bool).unwrap_or(false),
        address,
        delivery_mode,
        spec: a.clone(),
    })
}

fn resolve_assignee(
    who: &str,
    agents: &[PlannedAgent],
    scope: &AddressScope<'_>,
) -> Result<AgentAddress, String> {
    if let Some(agent) = agents.iter().find(|a| a.role == who) {
        return Ok(agent.address.clone());
    }
    AgentAddress::parse(who, scope)
        .map_err(|e| format!("{who:?} is neither a role of the bundle nor an address ({e})"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SCOPE: AddressScope<'static> = AddressScope { org_slug: "o", workspace_slug: "w" };

    fn caller() -> AgentAddress {
        AgentAddress::parse("caller", &SCOPE).unwrap()
    }

    fn seed() -> Map<String, Value> {
        json!({
          "scenario_id": "durable-api-operations.demo.v1",
          "title": "t",
          "agents": [{"role": "report_service", "address": "report-api-demo", "display_name": "Report API Service", "delivery_mode": "stream", "create_if_missing": true}],
          "workflow": {"steps": [{"step_id": "generate_report", "tool_id": "tool.agent.task.v1", "assigned_to": "report_service", "step_deadline_seconds": 120}]},
          "intent": {"type": "intent.report.generate.v1", "payload": {"report_type": "financial"}, "max_delivery_attempts": 3}
        }).as_object().cloned().unwrap()
    }

    #[test]
    fn compiles_the_seed_bundle() {
        let c = compile(&seed(), &SCOPE, &caller());
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let plan = c.plan.unwrap();
        assert_eq!(plan.scenario_id, "durable-api-operations.demo.v1");
        assert_eq!(plan.agents[0].address.as_str(), "agent://o/w/report-api-demo");
        assert!(plan.agents[0].create_if_missing);
        assert_eq!(plan.intent.to_agent.as_str(), "agent://o/w/report-api-demo");
        let workflow = plan.intent.workflow.as_ref().expect("a workflow");
        assert_eq!(workflow.steps[0].step_id, "generate_report");
        assert_eq!(workflow.steps[0].step_deadline_seconds, Some(120));
        assert_eq!(plan.intent.max_delivery_attempts, Some(3));
    }

    #[test]
    fn reports_errors_without_a_plan() {
        let mut b = seed();
        b["workflow"]["steps"][0]["assigned_to"] = json!("bad role with spaces");
        b["intent"]["type"] = json!("Not Valid");
        let c = compile(&b, &SCOPE, &caller());
        assert!(c.plan.is_none());
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    }

    #[test]
    fn missing_scenario_id_is_a_warning() {
        let mut b = seed();
        b.remove("scenario_id");
        let c = compile(&b, &SCOPE, &caller());
        assert!(c.errors.is_empty());
        assert!(c.plan.unwrap().scenario_id.starts_with("scenario_"));
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn compiles_agent_human_and_internal_steps() {
        let bundle = json!({
          "scenario_id": "two.step.v1",
          "agents": [{"role": "writer", "address": "writer", "create_if_missing": true}],
          "humans": [{"role": "approver", "contact": "boss@example.com"}],
          "workflow": {"steps": [
            {"step_id": "draft", "tool_id": "tool.agent.task.v1", "assigned_to": "writer", "retry": {"max_retries": 2, "retry_delay_seconds": 5}},
            {"step_id": "approve", "assigned_to": "approver", "requires_approval": true, "remind_after_seconds": 60, "on_failure": "draft"},
            {"step_id": "wait", "runtime_type": "delay", "runtime_config": {"seconds": 30}},
            {"step_id": "tell", "runtime_type": "notification"}
          ]},
          "intent": {"type": "intent.doc.review.v1", "payload": {}}
        }).as_object().cloned().unwrap();
        let c = compile(&bundle, &SCOPE, &caller());
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let plan = c.plan.unwrap();
        let steps = &plan.intent.workflow.as_ref().unwrap().steps;
        assert!(matches!(&steps[0].kind, StepKind::Agent { assignee } if assignee == "agent://o/w/writer"));
        assert_eq!(steps[0].retry, Some(StepRetry { max_retries: 2, retry_delay_seconds: 5 }));
        let StepKind::Human { task } = &steps[1].kind else { panic!("a human step") };
        assert_eq!(task["assignees"], json!(["boss@example.com"]));
        assert_eq!(task["task_type"], "approval");
        assert_eq!(steps[1].reminders.as_ref().unwrap().remind_after_seconds, Some(60));
        assert!(matches!(&steps[2].kind, StepKind::Internal { runtime_type, .. } if runtime_type == "delay"));
        assert_eq!(plan.intent.to_agent.as_str(), "agent://o/w/writer");

        let mut bad = bundle;
        bad["workflow"]["steps"][2]["runtime_config"] = json!({});
        assert!(compile(&bad, &SCOPE, &caller()).errors[0].contains("delay step needs"));
    }
}
