//! `GET /openapi.json` (`crates/axp-server/src/openapi.rs`): the document is public and well
//! formed, covers every route the server's source registers (and only routes it serves), marks
//! what axp adds to the gateway API, and does not drift from the upstream gateway document
//! (`../shared/axp-spec/openapi/gateway.v1.json`) where the two share a path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use axp_test_util::TestServer;
use serde_json::Value;

use crate::helpers::http;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Gateway operations axp does not serve, each with the reason (by path prefix, or exact
/// `METHOD path`).
const NOT_SERVED: &[(&str, &str)] = &[
    (
        "/v1/matrix/",
        "Matrix end-to-end encryption key custody: a hosted AXME messaging feature, not the intent protocol",
    ),
    (
        "/v1/alpha/",
        "the hosted alpha sign-up flow (email verification); self-hosted axp bootstraps an admin key instead",
    ),
    (
        "/v1/auth/",
        "hosted password login and sessions; people here sign in with actor tokens (POST /v1/actor-tokens) and the dashboard's login links",
    ),
    ("/v1/portal/", "the hosted web portal's page data; axp serves its own dashboard under /ui"),
    ("/internal/scheduler/", "the hosted service's scheduler ticks; axp's engine runs its own timers"),
    (
        "GET /v1/audit/events",
        "the hosted per-owner audit feed (owner_agent, action_prefix); axp's audit log is the organization's, at GET /v1/audit (an axp extension)",
    ),
    (
        "GET /v1/deliveries-operations",
        "the hosted service's delivery operations summary (not in the contract, §6); axp counts push attempts and dead letters in /metrics and lists them with GET /v1/deliveries?status=",
    ),
    (
        "POST /v1/deliveries/reconcile",
        "the hosted service's manual sweep of stuck deliveries (not in the contract, §6); axp's dispatcher retries and dead-letters by itself, and POST /v1/deliveries/{delivery_id}/replay sends one again",
    ),
    (
        "POST /v1/usage/rollups/daily",
        "the hosted service's manual usage rollup (not in the contract, §6); axp's meter flushes its counters into daily rows by itself, and GET /v1/usage/* add what is not flushed yet",
    ),
];

/// Differences on shared operations that are explained: `(METHOD path, what, why)`.
const EXPLAINED: &[(&str, &str, &str)] = &[
    (
        "POST /v1/intents",
        "request from_agent",
        "the sender is the calling key's agent address; a from_agent in the body is ignored (contract §2.3)",
    ),
    (
        "GET /v1/aliases",
        "query principal_id",
        "the contract's list takes org_id and workspace_id only (§6); each alias carries its principal_id",
    ),
    (
        "GET /v1/aliases",
        "query status",
        "the contract's list takes org_id and workspace_id only (§6); revoked aliases are listed too, each with its status",
    ),
    (
        "GET /v1/billing/plan",
        "query org_id",
        "ignored: a self-hosted server has one fixed plan, answered for the key's own workspace",
    ),
    (
        "GET /v1/billing/plan",
        "query workspace_id",
        "ignored: a self-hosted server has one fixed plan, answered for the key's own workspace",
    ),
    (
        "GET /v1/billing/invoices",
        "query org_id",
        "ignored: a self-hosted server issues no invoices (always [])",
    ),
    (
        "GET /v1/billing/invoices",
        "query workspace_id",
        "ignored: a self-hosted server issues no invoices (always [])",
    ),
    (
        "GET /v1/billing/invoices",
        "query status",
        "ignored: a self-hosted server issues no invoices (always [])",
    ),
    (
        "PATCH /v1/organizations/{org_id}/workspaces/{workspace_id}",
        "request environment",
        "a workspace's environment is set when it is created and never changes; the field is ignored like any unknown one",
    ),
    (
        "POST /v1/access-requests",
        "request expires_at",
        "not in the contract's create body (§6): axp's access requests do not expire; the field is ignored like any unknown one",
    ),
    (
        "GET /v1/schemas/{semantic_type}",
        "query owner_agent",
        "accepted and ignored: a workspace has one tenant schema per type, read (else the core one) whatever the owner scope; the contract's GET takes none (§6 \"Schemas\")",
    ),
    (
        "POST /v1/service-accounts",
        "request created_by_actor_id",
        "ignored: axp records the calling key's actor as the creator (`created_by_actor_id` of the answer); a body cannot name another",
    ),
    (
        "PUT /v1/media/upload/{upload_id}",
        "request body",
        "the gateway document declares no body for the raw bytes relay; axp documents the bytes it reads (application/octet-stream)",
    ),
];

fn gateway() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/axp-spec/openapi/gateway.v1.json");
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&raw).expect("gateway document is JSON")
}

async fn served_document(server: &TestServer) -> Value {
    let response = http().get(format!("{}/openapi.json", server.base_url)).send().await.unwrap();
    assert_eq!(response.status(), 200, "the document needs no key");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    response.json().await.unwrap()
}

/// `/v1/intents/{intent_id}` → `/v1/intents/{}`: templates compare without parameter names.
fn normalize(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Every `(method, path)` of a document.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.insert((method.to_owned(), path.clone()), op.clone());
            }
        }
    }
    ops
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The routes the server's source registers: each `.route("<path>", <method router>)` call's
/// path and the methods (`get(…)`, `.post(…)`, …) at the top level of its method router.
fn source_routes() -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            // The path literal may start on the next line (rustfmt splits long calls).
            rest = rest[at + ".route(".len()..].trim_start();
            rest = rest
                .strip_prefix('"')
                .unwrap_or_else(|| panic!("{}: .route( without a literal path", file.display()));
            let end = rest.find('"').unwrap();
            let path = rest[..end].to_owned();
            // The method router: up to the `)` that closes `.route(`.
            let mut depth = 1;
            let mut router = String::new();
            for c in rest[end + 1..].chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 {
                    router.push(c);
                }
            }
            let mut found = false;
            for method in METHODS {
                let bare = format!(" {method}");
                let chained = format!(".{method}");
                if router.contains(&bare) || router.contains(&chained) {
                    routes.insert((method.to_owned(), path.clone()));
                    found = true;
                }
            }
            assert!(found, "{}: no method on route {path}: {router}", file.display());
        }
    }
    routes
}

#[tokio::test]
async fn the_document_is_public_openapi_3_1_with_resolvable_references() {
    let server = TestServer::spawn().await;
    let doc = served_document(&server).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "axp");
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["api_key"]["name"], "x-api-key");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");

    let mut ids = BTreeSet::new();
    for ((method, path), op) in operations(&doc) {
        let name = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{name}: no operationId"));
        assert!(ids.insert(id.to_owned()), "{name}: operationId {id} is used twice");
        let summary = op["summary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no summary (the handler's doc comment)"));
        assert!(!summary.is_empty() && !summary.contains('\n'), "{name}: summary {summary:?}");
        assert!(summary.chars().count() <= 121, "{name}: a summary is one short sentence: {summary:?}");
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.keys().any(|k| k.starts_with('2')), "{name}: no success response");
        for (code, response) in responses {
            assert!(
                response["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{name}: {code} undescribed"
            );
        }
        assert_eq!(
            responses["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{name}: the error envelope"
        );
        for param in op["parameters"].as_array().into_iter().flatten() {
            if param["in"] == "path" {
                let placeholder = format!("{{{}}}", param["name"].as_str().unwrap());
                assert!(
                    path.contains(&placeholder),
                    "{name}: path parameter {placeholder} is not in the path"
                );
            }
        }
    }
    assert!(ids.len() >= 100, "only {} operations", ids.len());

    // Every `$ref` names a schema the document has.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for piece in text.split("\"$ref\":\"").skip(1) {
        let target = &piece[..piece.find('"').unwrap()];
        let name = target.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("$ref {target}"));
        assert!(schemas.contains_key(name), "$ref {target} names no schema");
    }
}

#[tokio::test]
async fn every_route_in_the_source_is_documented_and_every_documented_one_is_served() {
    let server = TestServer::spawn().await;
    let doc = served_document(&server).await;
    let documented: BTreeSet<(String, String)> =
        operations(&doc).into_keys().map(|(m, p)| (m, normalize(&p))).collect();
    let mut served = BTreeSet::new();
    for (method, path) in source_routes() {
        if path == "/ui" || path.starts_with("/ui/") {
            // The dashboard's HTML pages and their form posts (`docs/dashboard.md`).
            continue;
        }
        if path == "/v1/agents/{*address}" {
            // The wildcard serves the agent-address routes, documented with the SDK's templates.
            let covered = documented.iter().any(|(m, p)| *m == method && p.starts_with("/v1/agents/{}"));
            assert!(covered, "{method} {path}: no documented agent-address operation");
            continue;
        }
        let key = (method, normalize(&path));
        assert!(documented.contains(&key), "{} {path} is served but not documented", key.0);
        served.insert(key);
    }
    for (method, path) in &documented {
        let by_wildcard = path.starts_with("/v1/agents/{}");
        assert!(
            served.contains(&(method.clone(), path.clone())) || by_wildcard,
            "{method} {path} is not routed"
        );
    }

    // And the server answers each documented operation with something other than "no such
    // route" or 405: the paths and methods are the ones routed.
    let sample = uuid::Uuid::new_v4().to_string();
    for (method, path) in &documented {
        let url = format!(
            "{}{}",
            server.base_url,
            path.replace("/v1/agents/{}", "/v1/agents/someone").replace("{}", &sample)
        );
        let response = http()
            .request(method.to_uppercase().parse().unwrap(), &url)
            .header("x-api-key", &server.admin_key)
            .query(&[("wait_seconds", "1")])
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_ne!(status, 405, "{method} {path}: method not allowed");
        let streaming = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
        if !streaming {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(body["detail"], "no such route", "{method} {path} is not routed");
        }
    }
}

/// The request body schema's properties and the success body's, resolved through `$ref`s.
fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.rsplit('/').next().unwrap();
        return properties(doc, &doc["components"]["schemas"][name]);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            names.extend(properties(doc, part));
        }
    }
    names.extend(schema["properties"].as_object().into_iter().flatten().map(|(k, _)| k.clone()));
    names
}

fn success_schema(op: &Value) -> Value {
    op["responses"]["200"]["content"]["application/json"]["schema"].clone()
}

#[tokio::test]
async fn shared_paths_match_the_gateway_document() {
    let server = TestServer::spawn().await;
    let ours = served_document(&server).await;
    let theirs = gateway();
    let our_ops: BTreeMap<(String, String), (String, Value)> =
        operations(&ours).into_iter().map(|((m, p), op)| ((m, normalize(&p)), (p, op))).collect();
    let mut problems = Vec::new();
    let mut shared = BTreeSet::new();
    for ((method, path), their_op) in operations(&theirs) {
        let name = format!("{} {path}", method.to_uppercase());
        let explained = |what: &str| EXPLAINED.iter().any(|(op, w, _)| *op == name && *w == what);
        let Some((our_path, our_op)) = our_ops.get(&(method.clone(), normalize(&path))) else {
            if !NOT_SERVED.iter().any(|(prefix, _)| path.starts_with(prefix) || name == *prefix) {
                problems.push(format!("{name}: in the gateway document, not served and not explained"));
            }
            continue;
        };
        shared.insert((method.clone(), normalize(&path)));
        if our_op.get("x-axp-extension").is_some() {
            problems.push(format!("{name}: marked x-axp-extension but the gateway has it"));
        }
        if our_path != &path && !explained("path parameter names") {
            problems.push(format!("{name}: served as {our_path}"));
        }
        let query = |op: &Value| -> BTreeSet<String> {
            op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        for missing in query(&their_op).difference(&query(our_op)) {
            if !explained(&format!("query {missing}")) {
                problems.push(format!("{name}: query parameter `{missing}` is not documented"));
            }
        }
        if their_op.get("requestBody").is_some() != our_op.get("requestBody").is_some()
            && !explained("request body")
        {
            problems.push(format!("{name}: request body presence differs"));
        }
        let their_body =
            properties(&theirs, &their_op["requestBody"]["content"]["application/json"]["schema"]);
        let our_body = properties(&ours, &our_op["requestBody"]["content"]["application/json"]["schema"]);
        if !our_body.is_empty() {
            for missing in their_body.difference(&our_body) {
                if !explained(&format!("request {missing}")) {
                    problems.push(format!("{name}: request field `{missing}` is not in axp's body"));
                }
            }
        }
        let their_answer = properties(&theirs, &success_schema(&their_op));
        let our_answer = properties(&ours, &success_schema(our_op));
        if !our_answer.is_empty() {
            for missing in their_answer.difference(&our_answer) {
                if !explained(&format!("response {missing}")) {
                    problems.push(format!("{name}: response field `{missing}` is not in axp's answer"));
                }
            }
        }
    }
    for ((method, path), (_, op)) in &our_ops {
        if !shared.contains(&(method.clone(), path.clone()))
            && op.get("x-axp-extension") != Some(&Value::Bool(true))
        {
            problems.push(format!(
                "{} {path}: not in the gateway document and not marked x-axp-extension",
                method.to_uppercase()
            ));
        }
    }
    assert!(problems.is_empty(), "{} unexplained differences:\n{}", problems.len(), problems.join("\n"));
}
