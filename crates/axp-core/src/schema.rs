//! Payload schemas (contract §6 "Schemas"; `api.schemas.upsert.request.v1.json`,
//! `api.schemas.upsert.response.v1.json`, `api.schemas.get.response.v1.json`): the registry's
//! record, its content hash, the upsert request's rules, and how a create's payload is checked
//! against the active schema of its `intent_type` under each compatibility mode.
//!
//! A schema is `tenant` (one workspace's) or `core` (the server's: every workspace reads it; a
//! workspace's tenant schema of the same type wins over it). Schemas compile as JSON Schema with
//! the draft their `$schema` names (2020-12 when none), **offline**: a `$ref` the schema does
//! not itself contain is never fetched, so the upsert is refused.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::ErrorCode;
use crate::ids::WorkspaceId;
use crate::time::Timestamp;
use crate::validate::{Fields, Invalid};

/// `semantic_type`: dotted lowercase segments, at least three before the `.vN` version.
pub static SEMANTIC_TYPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9_]+(?:\.[a-z0-9_]+){2,}\.v[0-9]+$").expect("valid regex"));

/// Longest `schema_ref` accepted (characters).
pub const MAX_SCHEMA_REF: usize = 512;

/// Most violations a check reports (the rest are counted, not listed).
pub const MAX_VIOLATIONS: usize = 20;

/// How a create's payload is held to its type's schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CompatibilityMode {
    /// An invalid payload is refused (422).
    Strict,
    /// Valid under the active schema or the one it replaced.
    Backward,
    /// Accepted; its violations are reported beside the create.
    Warn,
}

impl CompatibilityMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityMode::Strict => "strict",
            CompatibilityMode::Backward => "backward",
            CompatibilityMode::Warn => "warn",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [CompatibilityMode::Strict, CompatibilityMode::Backward, CompatibilityMode::Warn]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// Whose a schema is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SchemaScope {
    /// One workspace's.
    Tenant,
    /// The server's, read by every workspace.
    Core,
}

impl SchemaScope {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaScope::Tenant => "tenant",
            SchemaScope::Core => "core",
        }
    }
}

/// A registered schema as stored: the wire fields plus its workspace (none for `core`) and the
/// `schema_json` it replaced (what `backward` still accepts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schema {
    /// Its type, e.g. `axme.calendar.schedule.v1` ([`SEMANTIC_TYPE`]).
    pub semantic_type: String,
    /// Where it is published; default `schema://<semantic_type>`.
    pub schema_ref: String,
    /// [`schema_hash`] of `schema_json`.
    pub schema_hash: String,
    /// How creates are held to it.
    pub compatibility_mode: CompatibilityMode,
    /// Tenant or core.
    pub scope: SchemaScope,
    /// Who registered it (the owner scope of the upsert; none for core schemas).
    pub owner_agent: Option<String>,
    /// Whether creates are checked against it.
    pub active: bool,
    /// The JSON Schema.
    pub schema_json: Map<String, Value>,
    /// The `schema_json` this one replaced, if it replaced a different one.
    #[serde(default)]
    pub previous_schema_json: Option<Map<String, Value>>,
    /// Its workspace; `None` for a core schema.
    pub workspace_id: Option<WorkspaceId>,
    /// When the type was first registered.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Schema {
    /// Its wire form; `with_json` adds `schema_json` (the get response has it, the upsert
    /// response does not).
    pub fn to_wire(&self, with_json: bool) -> SchemaView {
        SchemaView {
            semantic_type: self.semantic_type.clone(),
            schema_ref: self.schema_ref.clone(),
            schema_hash: self.schema_hash.clone(),
            compatibility_mode: self.compatibility_mode,
            scope: self.scope,
            owner_agent: self.owner_agent.clone(),
            active: self.active,
            schema_json: with_json.then(|| self.schema_json.clone()),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// Whether upserting `request` (by `owner_agent`) would leave this schema as it is: the
    /// conformance suite upserts the same schema on every run.
    pub fn unchanged_by(&self, request: &UpsertSchema, owner_agent: Option<&str>) -> bool {
        self.schema_hash == request.schema_hash
            && self.schema_ref == request.schema_ref
            && self.compatibility_mode == request.compatibility_mode
            && self.active == request.active
            && self.owner_agent.as_deref() == owner_agent
    }
}

/// A schema on the wire (`schema` of the upsert and get responses).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchemaView {
    /// Its type.
    pub semantic_type: String,
    /// Where it is published.
    pub schema_ref: String,
    /// 64 lowercase hex characters.
    pub schema_hash: String,
    /// `strict`, `backward` or `warn`.
    pub compatibility_mode: CompatibilityMode,
    /// `tenant` or `core`.
    pub scope: SchemaScope,
    /// Who registered it.
    pub owner_agent: Option<String>,
    /// Whether creates are checked against it.
    pub active: bool,
    /// The JSON Schema (get only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_json: Option<Map<String, Value>>,
    /// First registered.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// `{"ok": true, "schema": {…}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchemaResponse {
    /// Always `true`.
    pub ok: bool,
    /// The schema.
    pub schema: SchemaView,
}

/// A checked `POST /v1/schemas` body.
#[derive(Clone, Debug, PartialEq)]
pub struct UpsertSchema {
    /// Its type.
    pub semantic_type: String,
    /// The JSON Schema (it compiles offline).
    pub schema_json: Map<String, Value>,
    /// Its hash.
    pub schema_hash: String,
    /// Given, or `schema://<semantic_type>`.
    pub schema_ref: String,
    /// How creates are held to it.
    pub compatibility_mode: CompatibilityMode,
    /// Default `tenant`.
    pub scope: SchemaScope,
    /// Default `true`.
    pub active: bool,
}

/// Checks a `POST /v1/schemas` body (`api.schemas.upsert.request.v1.json`). Errors: 422
/// `validation_error` naming each bad field; a `schema_json` that does not compile (a remote
/// `$ref` among the reasons) fails on `schema_json`.
pub fn upsert_request(body: &Map<String, Value>) -> Result<UpsertSchema, Invalid> {
    let mut f = Fields::new(body);
    let semantic_type = f.string("semantic_type", &[], true);
    if let Some(t) = &semantic_type
        && !SEMANTIC_TYPE.is_match(t)
    {
        f.fail("semantic_type", "pattern", format!("must match {}", SEMANTIC_TYPE.as_str()));
    }
    let schema_json = f.object("schema_json", &[]);
    if f.get("schema_json", &[]).is_none() {
        f.fail("schema_json", "missing", "field required");
    }
    if let Some(schema) = &schema_json
        && let Err(e) = compile(schema)
    {
        f.fail("schema_json", "value_error", e);
    }
    let mode = f.string("compatibility_mode", &[], true).and_then(|m| {
        let parsed = CompatibilityMode::parse(&m);
        if parsed.is_none() {
            f.fail("compatibility_mode", "value_error", "must be strict, backward or warn");
        }
        parsed
    });
    let schema_ref = f.bounded_string("schema_ref", &[], false, 1, MAX_SCHEMA_REF);
    let scope = match f.string("scope", &[], false).as_deref() {
        None | Some("tenant") => SchemaScope::Tenant,
        Some("core") => SchemaScope::Core,
        Some(_) => {
            f.fail("scope", "value_error", "must be tenant or core");
            SchemaScope::Tenant
        }
    };
    let active = f.bool("active", &[]).unwrap_or(true);
    let upsert = match (semantic_type, schema_json, mode) {
        (Some(semantic_type), Some(schema_json), Some(compatibility_mode)) => Some(UpsertSchema {
            schema_ref: schema_ref.unwrap_or_else(|| format!("schema://{semantic_type}")),
            schema_hash: schema_hash(&schema_json),
            semantic_type,
            schema_json,
            compatibility_mode,
            scope,
            active,
        }),
        _ => None,
    };
    f.finish(upsert)?.ok_or_else(|| {
        Invalid::field("body", "missing", "semantic_type, schema_json and compatibility_mode are required")
    })
}

/// The canonical JSON of `value`: object keys sorted (by their UTF-8 bytes) at every depth, no
/// insignificant whitespace, strings and numbers as serde_json writes them. Independent of
/// whether serde_json keeps insertion order.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `schema_hash`: the lowercase hex SHA-256 of [`canonical_json`] of `schema_json`.
pub fn schema_hash(schema_json: &Map<String, Value>) -> String {
    hex::encode(Sha256::digest(canonical_json(&Value::Object(schema_json.clone())).as_bytes()))
}

/// Compiles `schema_json` offline (no `$ref` is ever fetched). Errors: why it is not a usable
/// JSON Schema.
pub fn compile(schema_json: &Map<String, Value>) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .offline()
        .build(&Value::Object(schema_json.clone()))
        .map_err(|e| format!("not a usable JSON Schema (remote $refs are never fetched): {e}"))
}

/// One way a payload breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Violation {
    /// JSON pointer into the payload (`""`: the payload itself).
    pub pointer: String,
    /// The JSON Schema keyword that failed, e.g. `required`, `type`.
    pub keyword: String,
    /// What is wrong, for people.
    pub message: String,
}

/// A schema ready to check payloads: the active one and, under `backward`, the one it replaced.
pub struct CompiledSchema {
    /// Its type.
    pub semantic_type: String,
    /// Its mode.
    pub mode: CompatibilityMode,
    current: jsonschema::Validator,
    previous: Option<jsonschema::Validator>,
}

impl CompiledSchema {
    /// Compiles `schema` (and, for `backward`, the schema it replaced). Errors: why either does
    /// not compile.
    pub fn new(schema: &Schema) -> Result<Self, String> {
        let previous = match (&schema.previous_schema_json, schema.compatibility_mode) {
            (Some(prev), CompatibilityMode::Backward) => Some(compile(prev)?),
            _ => None,
        };
        Ok(Self {
            semantic_type: schema.semantic_type.clone(),
            mode: schema.compatibility_mode,
            current: compile(&schema.schema_json)?,
            previous,
        })
    }

    /// Checks a create's `payload`: `Ok` with the violations to report (only ever non-empty
    /// under `warn`), or `Err` with the violations that refuse it (`strict`; `backward` when it
    /// is valid under neither the active schema nor the one it replaced).
    pub fn check(&self, payload: &Map<String, Value>) -> Result<Vec<Violation>, Vec<Violation>> {
        let payload = Value::Object(payload.clone());
        let found = violations(&self.current, &payload);
        if found.is_empty() {
            return Ok(found);
        }
        match self.mode {
            CompatibilityMode::Warn => Ok(found),
            CompatibilityMode::Backward if self.previous.as_ref().is_some_and(|p| p.is_valid(&payload)) => {
                Ok(Vec::new())
            }
            CompatibilityMode::Backward | CompatibilityMode::Strict => Err(found),
        }
    }
}

/// The first [`MAX_VIOLATIONS`] violations of `instance` under `validator`.
fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<Violation> {
    validator
        .iter_errors(instance)
        .take(MAX_VIOLATIONS)
        .map(|e| Violation {
            pointer: e.instance_path().to_string(),
            keyword: e.kind().keyword().to_owned(),
            message: e.masked().to_string(),
        })
        .collect()
}

/// The 422 a refused payload gets: `validation_error`, one field error per violation at
/// `body.payload<pointer>` typed with its keyword; the first names the message.
pub fn refusal(semantic_type: &str, found: &[Violation]) -> Invalid {
    let errors: Vec<_> = found
        .iter()
        .map(|v| crate::error::FieldError {
            loc: std::iter::once("body".to_owned())
                .chain(std::iter::once("payload".to_owned()))
                .chain(v.pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")))
                .collect(),
            msg: v.message.clone(),
            kind: v.keyword.clone(),
        })
        .collect();
    let message = match found.first() {
        Some(v) => format!(
            "payload does not match schema {semantic_type}: at \"{}\" ({}) {}",
            v.pointer, v.keyword, v.message
        ),
        None => format!("payload does not match schema {semantic_type}"),
    };
    Invalid { code: ErrorCode::ValidationError, message, errors }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn schema(mode: CompatibilityMode, json: Value, previous: Option<Value>) -> Schema {
        let schema_json = obj(json);
        Schema {
            semantic_type: "axme.test.thing.v1".into(),
            schema_ref: "schema://axme.test.thing.v1".into(),
            schema_hash: schema_hash(&schema_json),
            compatibility_mode: mode,
            scope: SchemaScope::Tenant,
            owner_agent: None,
            active: true,
            schema_json,
            previous_schema_json: previous.map(obj),
            workspace_id: None,
            created_at: Timestamp::default(),
            updated_at: Timestamp::default(),
        }
    }

    #[test]
    fn the_hash_ignores_key_order_and_whitespace() {
        let a: Map<String, Value> =
            serde_json::from_str(r#"{"type": "object", "properties": {"b": {}, "a": {"type":"string"}}}"#)
                .unwrap();
        let b: Map<String, Value> =
            serde_json::from_str(r#"{"properties":{"a":{"type":"string"},"b":{}},"type":"object"}"#).unwrap();
        assert_eq!(schema_hash(&a), schema_hash(&b));
        assert_eq!(
            canonical_json(&Value::Object(a.clone())),
            r#"{"properties":{"a":{"type":"string"},"b":{}},"type":"object"}"#
        );
        let h = schema_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(h.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_eq!(hex::encode(Sha256::digest(b"{}")), schema_hash(&Map::new()));
    }

    #[test]
    fn upsert_requests_are_checked_field_by_field() {
        let ok = upsert_request(&obj(json!({
            "semantic_type": "axme.calendar.schedule.v1",
            "schema_json": {"type": "object"},
            "compatibility_mode": "strict",
        })))
        .unwrap();
        assert_eq!(ok.schema_ref, "schema://axme.calendar.schedule.v1");
        assert_eq!((ok.scope, ok.active), (SchemaScope::Tenant, true));
        for (body, field) in [
            (
                json!({"semantic_type": "two.parts.v1", "schema_json": {}, "compatibility_mode": "warn"}),
                "semantic_type",
            ),
            (
                json!({"semantic_type": "a.b.c.v1", "schema_json": [], "compatibility_mode": "warn"}),
                "schema_json",
            ),
            (
                json!({"semantic_type": "a.b.c.v1", "schema_json": {}, "compatibility_mode": "loose"}),
                "compatibility_mode",
            ),
            (
                json!({"semantic_type": "a.b.c.v1", "schema_json": {}, "compatibility_mode": "warn", "scope": "x"}),
                "scope",
            ),
            (json!({"schema_json": {}, "compatibility_mode": "warn"}), "semantic_type"),
        ] {
            let err = upsert_request(&obj(body)).unwrap_err();
            assert!(
                err.errors.iter().any(|e| e.loc.last().map(String::as_str) == Some(field)),
                "{field}: {err:?}"
            );
        }
    }

    #[test]
    fn remote_refs_are_refused_and_never_fetched() {
        let body = json!({
            "semantic_type": "a.b.c.v1",
            "schema_json": {"$ref": "http://127.0.0.1:9/never.json"},
            "compatibility_mode": "strict",
        });
        let err = upsert_request(&obj(body)).unwrap_err();
        assert_eq!(err.errors[0].loc, vec!["body", "schema_json"]);
        let local = json!({"$defs": {"n": {"type": "integer"}}, "properties": {"n": {"$ref": "#/$defs/n"}}});
        assert!(compile(&obj(local)).is_ok(), "a local $ref is fine");
    }

    #[test]
    fn each_mode_decides_as_its_name_says() {
        let v2 = json!({"type": "object", "required": ["when"], "properties": {"when": {"type": "string"}}});
        let v1 = json!({"type": "object", "required": ["at"]});
        let old_payload = obj(json!({"at": 1}));
        let bad = obj(json!({"when": 5}));

        let strict =
            CompiledSchema::new(&schema(CompatibilityMode::Strict, v2.clone(), Some(v1.clone()))).unwrap();
        assert_eq!(strict.check(&obj(json!({"when": "now"}))), Ok(vec![]));
        let refused = strict.check(&bad).unwrap_err();
        assert_eq!((refused[0].pointer.as_str(), refused[0].keyword.as_str()), ("/when", "type"));
        assert!(strict.check(&old_payload).is_err(), "strict ignores the previous version");

        let backward =
            CompiledSchema::new(&schema(CompatibilityMode::Backward, v2.clone(), Some(v1))).unwrap();
        assert_eq!(backward.check(&old_payload), Ok(vec![]));
        assert!(backward.check(&bad).is_err());

        let warn = CompiledSchema::new(&schema(CompatibilityMode::Warn, v2, None)).unwrap();
        let warned = warn.check(&bad).unwrap();
        assert_eq!(warned[0].keyword, "type");

        let err = refusal("axme.test.thing.v1", &refused);
        assert_eq!(err.errors[0].loc, vec!["body", "payload", "when"]);
        assert_eq!(err.errors[0].kind, "type");
        assert!(err.message.contains("\"/when\""), "{}", err.message);
    }
}
