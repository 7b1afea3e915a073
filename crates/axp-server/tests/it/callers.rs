//! The five callers of the access matrix (`docs/access.md`), raw HTTP calls as each, and the
//! public JSON Schemas responses are checked against.

use axp_core::access::Role;
use axp_test_util::TestServer;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::http;

/// The columns of `docs/access.md`: the bootstrap `org_owner` key; a service account with a
/// `member` membership; one with an agent address and no membership; one with a
/// `security_auditor` membership; the admin key of another organization's workspace.
pub struct Callers {
    pub admin: String,
    pub member: String,
    pub agent: String,
    pub viewer: String,
    pub other: String,
    /// The agent's own address.
    pub agent_address: String,
}

impl Callers {
    pub async fn new(server: &TestServer) -> Self {
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let member = member_key(server, &format!("member-{tag}"), Role::Member).await;
        let viewer = member_key(server, &format!("viewer-{tag}"), Role::SecurityAuditor).await;
        let agent_address = format!("agent://people/agent-{tag}");
        let (_, agent) = server.agent(&format!("agent-{tag}"), Some(&agent_address)).await;
        Self {
            admin: server.admin_key.clone(),
            member,
            agent,
            viewer,
            other: server.other_tenant().await,
            agent_address,
        }
    }

    /// Each column's name and key, in the table's order.
    pub fn all(&self) -> [(&'static str, &str); 5] {
        [
            ("admin", &self.admin),
            ("member", &self.member),
            ("agent", &self.agent),
            ("viewer", &self.viewer),
            ("other workspace", &self.other),
        ]
    }
}

/// A new service account's key, with `role` in the server's workspace.
pub async fn member_key(server: &TestServer, name: &str, role: Role) -> String {
    let (sa, key) = server.agent(name, None).await;
    let tenant = &server.admin.tenant;
    let now = server.state().clock.now();
    let actor = sa.service_account_id.to_string();
    server
        .state()
        .store
        .add_member(tenant.org_id, Some(tenant.workspace_id), &actor, role, now, &axp_store::Audit::server())
        .await
        .unwrap();
    key
}

/// Calls `path` with `x-api-key: key` (and `Authorization: Bearer` when `bearer` is given);
/// returns the status and the JSON body (`null` when there is none).
pub async fn call_with(
    server: &TestServer,
    key: Option<&str>,
    bearer: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http().request(method, format!("{}{path}", server.base_url));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// [`call_with`] an API key only.
pub async fn call(
    server: &TestServer,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call_with(server, Some(key), None, method, path, body).await
}

/// Asserts that `body` is valid against the public schema `name`
/// (`../shared/axp-spec/schemas/public_api/<name>.json`), after removing the fields in
/// `extensions` (axp's documented additions).
pub fn assert_schema(name: &str, body: &Value, extensions: &[&str]) {
    let path =
        format!("{}/../../../shared/axp-spec/schemas/public_api/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let mut body = body.clone();
    for field in extensions {
        body.as_object_mut().unwrap().remove(*field);
    }
    let errors: Vec<String> =
        validator.iter_errors(&body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{body:#}");
}
