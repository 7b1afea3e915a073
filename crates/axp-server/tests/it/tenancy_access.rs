//! The "Tenancy" table of `docs/access.md`, row by row: each route called by the five callers
//! must answer the status the table gives, and the denied calls must change nothing.

use axp_client::Client;
use axp_client::axp_core::access::Role;
use axp_client::axp_core::api::{
    AddMemberRequest, BindAliasRequest, CreateAccessRequest, CreatePrincipalRequest, CreateWorkspaceRequest,
};
use axp_client::axp_core::tenancy::{AccessRequestType, AliasType, Environment, PrincipalType};
use axp_client::{CreateServiceAccountRequest, ServiceAccountId};
use axp_core::ids::{AccessRequestId, AliasId, MemberId, OrgId, PrincipalId, WorkspaceId};
use axp_test_util::TestServer;
use serde_json::{Value, json};

use crate::helpers::http;

/// The callers, in the table's column order.
const CALLERS: [&str; 5] = ["admin", "member", "agent", "viewer", "other"];

/// One row of the table: the route as written and the status expected of each caller.
struct Row {
    route: String,
    expected: [u16; 5],
}

/// The rows of the `## Tenancy` section of `docs/access.md`.
fn rows() -> Vec<Row> {
    let doc = include_str!("../../../../docs/access.md");
    let section = doc.split("\n## ").find(|s| s.starts_with("Tenancy") || s.starts_with("## Tenancy"));
    let section = section.expect("docs/access.md has a Tenancy section");
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let expected = cells[1..6]
                .iter()
                .map(|c| c.parse().unwrap_or_else(|_| panic!("a status in {line}")))
                .collect::<Vec<u16>>();
            Row { route: cells[0].to_owned(), expected: expected.try_into().unwrap() }
        })
        .collect()
}

/// What the rows act on.
struct World {
    org: OrgId,
    ws: WorkspaceId,
    /// A second workspace of the organization.
    ws2: WorkspaceId,
    /// A service account of `ws2`.
    resident: ServiceAccountId,
    principal: PrincipalId,
    alias: AliasId,
    /// A membership the rows change and remove.
    throwaway: MemberId,
    request: AccessRequestId,
    /// Each caller's key, in [`CALLERS`] order.
    keys: Vec<String>,
}

/// A service account holding `role` in the organization (in `ws` only, when given).
async fn with_role(
    server: &TestServer,
    admin: &Client,
    name: &str,
    role: Role,
    ws: Option<WorkspaceId>,
) -> String {
    let (sa, key) = server.agent(name, None).await;
    let add = AddMemberRequest {
        org_id: None,
        workspace_id: ws,
        actor_id: sa.service_account_id.to_string(),
        role,
        invited_by_actor_id: None,
    };
    admin.add_member(server.admin.tenant.org_id, &add).await.unwrap();
    key
}

async fn world(server: &TestServer) -> World {
    let admin = server.client();
    let (org, ws) = (server.admin.tenant.org_id, server.admin.tenant.workspace_id);
    let second = CreateWorkspaceRequest {
        org_id: None,
        name: "Second".into(),
        environment: Environment::Staging,
        region: None,
    };
    let ws2 = admin.create_workspace(org, &second).await.unwrap().workspace_id;
    let resident = CreateServiceAccountRequest {
        workspace_id: Some(ws2),
        name: "resident".into(),
        ..Default::default()
    };
    let resident = admin.create_service_account(&resident).await.unwrap().service_account_id;
    let principal = CreatePrincipalRequest {
        org_id: org,
        workspace_id: ws,
        principal_type: PrincipalType::User,
        display_name: Some("Matrix".into()),
        metadata: None,
    };
    let principal = admin.create_principal(&principal).await.unwrap().principal_id;
    let bind = BindAliasRequest {
        principal_id: principal,
        alias: "matrix-alias".into(),
        alias_type: AliasType::Service,
        metadata: None,
    };
    let alias = admin.bind_alias(&bind).await.unwrap().alias_id;
    let throwaway = AddMemberRequest {
        org_id: None,
        workspace_id: Some(ws),
        actor_id: "throwaway".into(),
        role: Role::Member,
        invited_by_actor_id: None,
    };
    let throwaway = admin.add_member(org, &throwaway).await.unwrap().member_id;
    let mut request = CreateAccessRequest::new(AccessRequestType::JoinOrganization, "someone");
    request.org_id = Some(org);
    let request = admin.create_access_request(&request).await.unwrap().access_request_id;
    let keys = vec![
        server.admin_key.clone(),
        with_role(server, &admin, "member", Role::Member, Some(ws)).await,
        server.agent("agent", None).await.1,
        with_role(server, &admin, "viewer", Role::SecurityAuditor, None).await,
        server.other_tenant().await,
    ];
    World { org, ws, ws2, resident, principal, alias, throwaway, request, keys }
}

/// The request a row makes for caller `who`: method, path and body.
fn call(route: &str, who: &str, w: &World) -> (&'static str, String, Value) {
    let (org, ws, ws2) = (w.org, w.ws, w.ws2);
    match route {
        "`POST /v1/organizations`" => {
            ("POST", "/v1/organizations".into(), json!({"name": format!("Matrix {who}")}))
        }
        "`GET /v1/organizations/{org_id}`" => ("GET", format!("/v1/organizations/{org}"), json!({})),
        "`PATCH /v1/organizations/{org_id}`" => {
            ("PATCH", format!("/v1/organizations/{org}"), json!({"legal_name": format!("Legal {who}")}))
        }
        "`POST /v1/organizations/{org_id}/workspaces`" => (
            "POST",
            format!("/v1/organizations/{org}/workspaces"),
            json!({"name": format!("ws {who}"), "environment": "sandbox"}),
        ),
        "`GET /v1/organizations/{org_id}/workspaces`" => {
            ("GET", format!("/v1/organizations/{org}/workspaces"), json!({}))
        }
        "`PATCH /v1/organizations/{org_id}/workspaces/{workspace_id}`" => (
            "PATCH",
            format!("/v1/organizations/{org}/workspaces/{ws2}"),
            json!({"region": format!("r-{who}")}),
        ),
        "`GET /v1/organizations/{org_id}/members`" => {
            ("GET", format!("/v1/organizations/{org}/members"), json!({}))
        }
        "`POST /v1/organizations/{org_id}/members`" => (
            "POST",
            format!("/v1/organizations/{org}/members"),
            json!({"actor_id": format!("actor-{who}"), "role": "member"}),
        ),
        "`PATCH /v1/organizations/{org_id}/members/{member_id}`" => (
            "PATCH",
            format!("/v1/organizations/{org}/members/{}", w.throwaway),
            json!({"role": "billing_viewer"}),
        ),
        "`DELETE /v1/organizations/{org_id}/members/{member_id}`" => {
            ("DELETE", format!("/v1/organizations/{org}/members/{}", w.throwaway), json!({}))
        }
        "`POST /v1/principals`" => (
            "POST",
            "/v1/principals".into(),
            json!({"org_id": org, "workspace_id": ws, "principal_type": "user", "display_name": who}),
        ),
        "`GET /v1/principals/{principal_id}`" => {
            ("GET", format!("/v1/principals/{}", w.principal), json!({}))
        }
        "`POST /v1/aliases`" => (
            "POST",
            "/v1/aliases".into(),
            json!({"principal_id": w.principal, "alias": format!("alias-{who}"), "alias_type": "communication"}),
        ),
        "`GET /v1/aliases?org_id&workspace_id`" => {
            ("GET", format!("/v1/aliases?org_id={org}&workspace_id={ws}"), json!({}))
        }
        "`GET /v1/aliases/resolve?org_id&workspace_id&alias`" => (
            "GET",
            format!("/v1/aliases/resolve?org_id={org}&workspace_id={ws}&alias=matrix-alias"),
            json!({}),
        ),
        "`POST /v1/aliases/{alias_id}/revoke`" => {
            ("POST", format!("/v1/aliases/{}/revoke", w.alias), json!({}))
        }
        "`POST /v1/access-requests`" => (
            "POST",
            "/v1/access-requests".into(),
            json!({"request_type": "join_organization", "org_id": org}),
        ),
        "`GET /v1/access-requests?org_id`" => ("GET", format!("/v1/access-requests?org_id={org}"), json!({})),
        "`GET /v1/access-requests/{access_request_id}`" => {
            ("GET", format!("/v1/access-requests/{}", w.request), json!({}))
        }
        "`POST /v1/access-requests/{access_request_id}/review`" => {
            ("POST", format!("/v1/access-requests/{}/review", w.request), json!({"decision": "approve"}))
        }
        "`POST /v1/service-accounts` with `{workspace_id}`" => {
            ("POST", "/v1/service-accounts".into(), json!({"workspace_id": ws2, "name": format!("sa-{who}")}))
        }
        "`GET /v1/service-accounts?workspace_id`" => {
            ("GET", format!("/v1/service-accounts?workspace_id={ws2}"), json!({}))
        }
        "`GET /v1/service-accounts/{service_account_id}` of `{workspace_id}`" => {
            ("GET", format!("/v1/service-accounts/{}", w.resident), json!({}))
        }
        "`POST /v1/service-accounts/{service_account_id}/keys` of `{workspace_id}`" => {
            ("POST", format!("/v1/service-accounts/{}/keys", w.resident), json!({}))
        }
        other => panic!("docs/access.md names a route this test does not know: {other}"),
    }
}

async fn send(server: &TestServer, key: &str, (method, path, body): (&str, String, Value)) -> (u16, Value) {
    let mut request = http()
        .request(method.parse().unwrap(), format!("{}{path}", server.base_url))
        .header("x-api-key", key);
    if method != "GET" {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// What the admin sees of everything the rows could change.
async fn snapshot(server: &TestServer, w: &World) -> Value {
    let key = &server.admin_key;
    let mut seen = serde_json::Map::new();
    for path in [
        format!("/v1/organizations/{}", w.org),
        format!("/v1/organizations/{}/workspaces", w.org),
        format!("/v1/organizations/{}/members", w.org),
        format!("/v1/principals/{}", w.principal),
        format!("/v1/aliases?org_id={}&workspace_id={}", w.org, w.ws),
        format!("/v1/access-requests/{}", w.request),
        format!("/v1/service-accounts?workspace_id={}", w.ws2),
    ] {
        let (code, body) = send(server, key, ("GET", path.clone(), Value::Null)).await;
        assert_eq!(code, 200, "admin reads {path}");
        seen.insert(path, body);
    }
    Value::Object(seen)
}

#[tokio::test]
async fn every_tenancy_route_answers_each_caller_as_documented_and_denied_calls_change_nothing() {
    let server = TestServer::spawn().await;
    let w = world(&server).await;
    let rows = rows();
    assert!(rows.len() >= 20, "the Tenancy table has its rows");

    let before = snapshot(&server, &w).await;
    for row in &rows {
        for (i, who) in CALLERS.iter().enumerate().filter(|(i, _)| row.expected[*i] != 200) {
            let (code, body) = send(&server, &w.keys[i], call(&row.route, who, &w)).await;
            assert_eq!(code, row.expected[i], "{} as {who}: {body}", row.route);
            let wanted = if code == 404 { "not_found" } else { "policy_denied" };
            assert_eq!(body["error"]["code"], wanted, "{} as {who}", row.route);
        }
    }
    assert_eq!(snapshot(&server, &w).await, before, "denied calls changed nothing");

    // Allowed calls, the admin's last (they change what the others' calls act on).
    for row in &rows {
        for i in [1, 2, 3, 4, 0].into_iter().filter(|i| row.expected[*i] == 200) {
            let (code, body) = send(&server, &w.keys[i], call(&row.route, CALLERS[i], &w)).await;
            assert_eq!(code, 200, "{} as {}: {body}", row.route, CALLERS[i]);
            assert_eq!(body["ok"], true);
        }
    }

    // The organizations the denied callers asked for were never created: their names' slugs
    // are still free.
    let admin = server.client();
    for who in ["member", "agent", "viewer"] {
        let org = admin
            .create_organization(&axp_client::axp_core::api::CreateOrganizationRequest {
                name: format!("Matrix {who}"),
                ..Default::default()
            })
            .await
            .unwrap()
            .org_id;
        let ws = CreateWorkspaceRequest {
            org_id: None,
            name: "ws".into(),
            environment: Environment::Sandbox,
            region: None,
        };
        let ws = admin.create_workspace(org, &ws).await.unwrap().workspace_id;
        let sa = CreateServiceAccountRequest {
            workspace_id: Some(ws),
            name: "probe".into(),
            ..Default::default()
        };
        let address = admin.create_service_account(&sa).await.unwrap().agent_address;
        assert_eq!(address, format!("agent://matrix-{who}/ws/probe"));
    }
}

#[tokio::test]
async fn access_request_lists_show_non_admins_only_their_own() {
    let server = TestServer::spawn().await;
    let w = world(&server).await;
    let ask = (
        "POST",
        "/v1/access-requests".to_owned(),
        json!({"request_type": "join_organization", "org_id": w.org}),
    );
    let (_, mine) = send(&server, &w.keys[1], ask).await;
    let list = ("GET", format!("/v1/access-requests?org_id={}", w.org), Value::Null);
    let (_, seen) = send(&server, &w.keys[1], list.clone()).await;
    let ids: Vec<&Value> =
        seen["access_requests"].as_array().unwrap().iter().map(|r| &r["access_request_id"]).collect();
    assert_eq!(ids, [&mine["access_request"]["access_request_id"]], "the member sees its own request only");
    let (_, all) = send(&server, &server.admin_key, list).await;
    assert_eq!(all["access_requests"].as_array().unwrap().len(), 2, "the admin sees the organization's");
}
