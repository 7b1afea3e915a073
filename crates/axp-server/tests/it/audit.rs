//! The audit log: each admin and security action leaves one entry naming the caller, the
//! target and the request's `x-trace-id`; `GET /v1/audit` is for auditing roles only, within
//! their organization, filtered and paged; a failed action leaves nothing.

use axp_client::AuditQuery;
use axp_core::access::Role;
use axp_core::api::{AuditActorType, AuditEntry, actions};
use axp_store::{Audit, TenantSpec, generate_api_key};
use axp_test_util::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::http;

/// `method path` with `key`, a JSON `body` and `x-trace-id: trace`: the status and the body.
async fn call(
    server: &TestServer,
    key: &str,
    (method, path): (Method, &str),
    body: Option<Value>,
    trace: &str,
) -> (u16, Value) {
    let mut request = http()
        .request(method, format!("{}{path}", server.base_url))
        .header("x-api-key", key)
        .header("x-trace-id", trace);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["x-trace-id"], trace, "the trace id is echoed");
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every entry the admin can read, newest first.
async fn log(server: &TestServer) -> Vec<AuditEntry> {
    let query = AuditQuery { limit: Some(500), ..Default::default() };
    server.client().list_audit(&query).await.unwrap().entries
}

/// The one entry about `target` (asserting there is exactly one).
async fn the_entry(server: &TestServer, target: &str) -> AuditEntry {
    let query = AuditQuery { target_id: Some(target.into()), ..Default::default() };
    let mut entries = server.client().list_audit(&query).await.unwrap().entries;
    assert_eq!(entries.len(), 1, "one entry about {target}: {entries:#?}");
    entries.remove(0)
}

/// A service account `name` with a key, holding `role` in the whole organization when given.
async fn account(server: &TestServer, name: &str, role: Option<Role>) -> (String, String) {
    let (sa, key) = server.agent(name, None).await;
    let id = sa.service_account_id.to_string();
    if let Some(role) = role {
        let (org, now) = (server.admin.tenant.org_id, server.state().clock.now());
        server.state().store.add_member(org, None, &id, role, now, &Audit::server()).await.unwrap();
    }
    (id, key)
}

fn admin_id(server: &TestServer) -> String {
    server.admin.actor.id().to_string()
}

#[tokio::test]
async fn each_admin_action_leaves_one_entry_with_its_caller_target_and_trace_id() {
    let server = TestServer::spawn().await;
    let key = server.admin_key.clone();
    let assert_by_admin = |e: &AuditEntry, action: &str, trace: &str| {
        assert_eq!(e.action, action);
        assert_eq!((e.actor.kind, e.actor.id.clone()), (AuditActorType::ServiceAccount, admin_id(&server)));
        assert_eq!(e.trace_id.as_deref(), Some(trace));
        assert_eq!(
            (e.org_id, e.workspace_id),
            (server.admin.tenant.org_id, Some(server.admin.tenant.workspace_id))
        );
    };

    let (s, created) = call(
        &server,
        &key,
        (Method::POST, "/v1/service-accounts"),
        Some(json!({"name": "audited"})),
        "tr-create",
    )
    .await;
    assert_eq!(s, 200, "{created}");
    let sa = created["service_account"]["service_account_id"].as_str().unwrap().to_owned();
    let e = the_entry(&server, &sa).await;
    assert_by_admin(&e, actions::SERVICE_ACCOUNT_CREATED, "tr-create");
    assert_eq!(e.target.kind, "service_account");

    let keys = format!("/v1/service-accounts/{sa}/keys");
    let (s, minted) = call(&server, &key, (Method::POST, &keys), Some(json!({})), "tr-mint").await;
    assert_eq!(s, 200, "{minted}");
    let key_id = minted["key"]["key_id"].as_str().unwrap().to_owned();
    let e = the_entry(&server, &key_id).await;
    assert_by_admin(&e, actions::API_KEY_CREATED, "tr-mint");
    assert_eq!((e.target.kind.as_str(), &e.details["service_account_id"]), ("api_key", &json!(sa)));
    let token = minted["key"]["token"].as_str().unwrap();
    assert!(!serde_json::to_string(&log(&server).await).unwrap().contains(token), "never the token");

    let revoke = format!("/v1/service-accounts/{sa}/keys/{key_id}/revoke");
    assert_eq!(call(&server, &key, (Method::POST, &revoke), None, "tr-revoke").await.0, 200);
    let revoked = AuditQuery { action: Some(actions::API_KEY_REVOKED.into()), ..Default::default() };
    let entries = server.client().list_audit(&revoked).await.unwrap().entries;
    assert_eq!(entries.len(), 1);
    assert_by_admin(&entries[0], actions::API_KEY_REVOKED, "tr-revoke");
    assert_eq!(entries[0].target.id, key_id);

    let address = created["service_account"]["agent_address"].as_str().unwrap();
    let delivery = format!("/v1/agents/{}/delivery", address.trim_start_matches("agent://"));
    let (s, bound) =
        call(&server, &key, (Method::PUT, &delivery), Some(json!({"delivery_mode": "poll"})), "tr-bind")
            .await;
    assert_eq!(s, 200, "{bound}");
    let binding = AuditQuery { action: Some(actions::BINDING_CHANGED.into()), ..Default::default() };
    let entries = server.client().list_audit(&binding).await.unwrap().entries;
    assert_eq!(entries.len(), 1);
    assert_by_admin(&entries[0], actions::BINDING_CHANGED, "tr-bind");
    assert_eq!(
        (entries[0].target.id.clone(), &entries[0].details["delivery_mode"]),
        (sa.clone(), &json!("poll"))
    );

    // Memberships have no route here yet: the store records the caller and trace it is given.
    let (org, now) = (server.admin.tenant.org_id, server.state().clock.now());
    let by = Audit::new(&server.admin.actor, Some("tr-member".into()));
    let member = server.state().store.add_member(org, None, &sa, Role::Member, now, &by).await.unwrap();
    let e = the_entry(&server, &member.member_id.to_string()).await;
    assert_eq!(
        (e.action.as_str(), e.actor.id.clone(), e.trace_id.as_deref()),
        (actions::MEMBER_ADDED, admin_id(&server), Some("tr-member"))
    );
    assert_eq!(
        (e.workspace_id, &e.details["role"]),
        (None, &json!("member")),
        "an organization-wide membership"
    );

    let (s, _) =
        call(&server, &key, (Method::DELETE, &format!("/v1/service-accounts/{sa}")), None, "tr-delete").await;
    assert_eq!(s, 200);
    let deleted = AuditQuery { action: Some(actions::SERVICE_ACCOUNT_DELETED.into()), ..Default::default() };
    let entries = server.client().list_audit(&deleted).await.unwrap().entries;
    assert_eq!(entries.len(), 1);
    assert_by_admin(&entries[0], actions::SERVICE_ACCOUNT_DELETED, "tr-delete");
    assert_eq!(log(&server).await.len(), 6, "one entry per action");
}

#[tokio::test]
async fn a_task_decision_is_audited_with_the_deciding_caller_intent_and_outcome() {
    let server = TestServer::spawn().await;
    let (approver, approver_key) = account(&server, "approver", None).await;
    let task = |title: &str| {
        json!({"intent_type": "expense.approve.v1", "to_agent": "approver", "payload": {"amount": 120},
               "human_task": {"title": title, "task_type": "approval"}})
    };
    let create = |title: &'static str| {
        let server = &server;
        async move {
            let (s, created) =
                call(server, &server.admin_key, (Method::POST, "/v1/intents"), Some(task(title)), "tr-send")
                    .await;
            assert_eq!((s, created["status"].as_str()), (200, Some("WAITING")), "{created}");
            created["intent_id"].as_str().unwrap().to_owned()
        }
    };
    let decided = |e: &AuditEntry, trace: &str, outcome: &str, via: &str| {
        assert_eq!((e.action.as_str(), e.target.kind.as_str()), (actions::HUMAN_TASK_DECIDED, "intent"));
        assert_eq!((e.actor.id.clone(), e.trace_id.as_deref()), (approver.clone(), Some(trace)));
        assert_eq!((&e.details["outcome"], &e.details["via"]), (&json!(outcome), &json!(via)));
    };

    let inbox = create("Through the inbox").await;
    let (s, answered) = call(
        &server,
        &approver_key,
        (Method::POST, &format!("/v1/inbox/{inbox}/approve")),
        Some(json!({})),
        "tr-inbox",
    )
    .await;
    assert_eq!(s, 200, "{answered}");
    decided(&the_entry(&server, &inbox).await, "tr-inbox", "approved", "inbox");

    let approval = create("By approval").await;
    let path = format!("/v1/approvals/{approval}/decision");
    let (s, _) = call(
        &server,
        &approver_key,
        (Method::POST, &path),
        Some(json!({"decision": "reject"})),
        "tr-approval",
    )
    .await;
    assert_eq!(s, 200);
    decided(&the_entry(&server, &approval).await, "tr-approval", "rejected", "approval");

    let resumed = create("By resume").await;
    let path = format!("/v1/intents/{resumed}/resume");
    let body = json!({"task_result": {"outcome": "approved"}});
    let (s, done) = call(&server, &approver_key, (Method::POST, &path), Some(body), "tr-resume").await;
    assert_eq!(s, 200, "{done}");
    decided(&the_entry(&server, &resumed).await, "tr-resume", "approved", "resume");
}

#[tokio::test]
async fn a_failed_action_leaves_no_entry() {
    let server = TestServer::spawn().await;
    let key = server.admin_key.clone();
    let (_, approver_key) = account(&server, "approver", None).await;
    let (s, created) = call(
        &server,
        &key,
        (Method::POST, "/v1/intents"),
        Some(json!({"intent_type": "expense.approve.v1", "to_agent": "approver",
                    "human_task": {"title": "Why?", "task_type": "approval", "required_comment": true}})),
        "tr-send",
    )
    .await;
    assert_eq!(s, 200, "{created}");
    let id = created["intent_id"].as_str().unwrap();
    let before = log(&server).await;

    // The decision's entry is written before the answer is checked: the refusal rolls it back.
    let path = format!("/v1/inbox/{id}/reject");
    let (s, refused) =
        call(&server, &approver_key, (Method::POST, &path), Some(json!({})), "tr-refused").await;
    assert_eq!(s, 422, "{refused}");
    let (s, _) = call(
        &server,
        &key,
        (Method::POST, "/v1/service-accounts"),
        Some(json!({"name": "approver"})),
        "tr-dup",
    )
    .await;
    assert_eq!(s, 409);
    let unknown =
        format!("/v1/service-accounts/{}/keys/{}/revoke", uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    assert_eq!(call(&server, &key, (Method::POST, &unknown), None, "tr-unknown").await.0, 404);
    assert_eq!(log(&server).await, before, "no entry for what did not happen");
    assert_eq!(
        server.client().get_intent(id.parse().unwrap()).await.unwrap().status,
        axp_core::Status::Waiting
    );
}

#[tokio::test]
async fn only_auditors_read_the_log_of_their_own_organization() {
    let server = TestServer::spawn().await;
    let (_, member) = account(&server, "member", Some(Role::Member)).await;
    let (_, agent) = account(&server, "agent", None).await;
    let (_, viewer) = account(&server, "viewer", Some(Role::SecurityAuditor)).await;
    let other = server.other_tenant().await;
    let request = axp_client::CreateServiceAccountRequest { name: "theirs".into(), ..Default::default() };
    server.client_with_key(&other).create_service_account(&request).await.unwrap();
    let other_org = server.client_with_key(&other).list_audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(other_org.entries.len(), 1);
    let ours = log(&server).await;
    assert!(!ours.is_empty(), "the accounts and keys made above");

    for (who, key, status) in [
        ("admin", &server.admin_key, 200),
        ("member", &member, 403),
        ("agent", &agent, 403),
        ("viewer", &viewer, 200),
        ("other workspace", &other, 200),
    ] {
        let (s, body) = call(&server, key, (Method::GET, "/v1/audit"), None, "tr-read").await;
        assert_eq!(s, status, "{who}: {body}");
        if s == 403 {
            assert_eq!(body["error"]["code"], "policy_denied", "{who}");
        }
    }
    let theirs = server.client_with_key(&other).list_audit(&AuditQuery::default()).await.unwrap().entries;
    assert_eq!(theirs, other_org.entries, "another organization reads only its own entries");
    assert!(theirs.iter().all(|e| e.org_id != server.admin.tenant.org_id));
    assert_eq!(log(&server).await, ours, "reading changes nothing, denied or not");

    // A second workspace of the organization: the org owner reads it, a security_auditor of
    // the first workspace does not.
    let (spec, token) =
        TenantSpec::with_admin(&server.admin.tenant.org_slug, "second", "test", server.state().clock.now())
            .unwrap();
    let second = server.state().store.create_tenant(spec).await.unwrap();
    let ws = second.tenant.workspace_id;
    let (_, new_key) =
        generate_api_key(second.actor.service_account().unwrap(), server.state().clock.now(), None);
    let by = Audit::new(&second.actor, Some("tr-second".into()));
    server
        .state()
        .store
        .create_api_key(&second.tenant, second.actor.service_account().unwrap(), new_key, &by)
        .await
        .unwrap();
    let in_second = AuditQuery { workspace_id: Some(ws), ..Default::default() };
    let listed = server.client().list_audit(&in_second).await.unwrap().entries;
    assert_eq!(listed.len(), 1, "the org owner reads every workspace");
    assert_eq!(listed[0].trace_id.as_deref(), Some("tr-second"));
    let as_viewer = server.client_with_key(&viewer);
    assert!(
        as_viewer
            .list_audit(&AuditQuery::default())
            .await
            .unwrap()
            .entries
            .iter()
            .all(|e| e.workspace_id != Some(ws))
    );
    assert_eq!(as_viewer.list_audit(&in_second).await.unwrap_err().status(), Some(403));
    let second_admin = server.client_with_key(&token).list_audit(&AuditQuery::default()).await;
    assert_eq!(second_admin.unwrap_err().status(), Some(403), "a workspace_admin is no auditor");
}

#[tokio::test]
async fn filters_and_cursor_pages() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let start = server.state().clock.now();
    let (sa, _) = server.agent("keyed", None).await;
    for _ in 0..4 {
        client.create_api_key(sa.service_account_id).await.unwrap();
    }
    let all = log(&server).await;
    assert_eq!(all.len(), 6, "the account and five keys");
    assert!(all.windows(2).all(|w| w[0].audit_id > w[1].audit_id), "newest first");

    let mut paged = Vec::new();
    let mut query = AuditQuery { limit: Some(4), ..Default::default() };
    loop {
        let page = client.list_audit(&query).await.unwrap();
        paged.extend(page.entries);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(paged, all, "the pages are the log");

    let count = |q: AuditQuery| {
        let client = &client;
        async move { client.list_audit(&q).await.unwrap().entries.len() }
    };
    assert_eq!(
        count(AuditQuery { action: Some(actions::API_KEY_CREATED.into()), ..Default::default() }).await,
        5
    );
    assert_eq!(count(AuditQuery { action: Some("nothing.happened".into()), ..Default::default() }).await, 0);
    assert_eq!(count(AuditQuery { actor_id: Some(admin_id(&server)), ..Default::default() }).await, 6);
    assert_eq!(
        count(AuditQuery { actor_id: Some(sa.service_account_id.to_string()), ..Default::default() }).await,
        0
    );
    assert_eq!(
        count(AuditQuery { target_id: Some(sa.service_account_id.to_string()), ..Default::default() }).await,
        1
    );
    assert_eq!(count(AuditQuery { since: Some(start), ..Default::default() }).await, 6);
    assert_eq!(count(AuditQuery { until: Some(start), ..Default::default() }).await, 0);
    let ws = Some(server.admin.tenant.workspace_id);
    assert_eq!(count(AuditQuery { workspace_id: ws, ..Default::default() }).await, 6);

    for bad in
        ["limit=0", "limit=501", "cursor=abc", "since=yesterday", "until=2026-13-01", "workspace_id=nope"]
    {
        let (s, body) =
            call(&server, &server.admin_key, (Method::GET, &format!("/v1/audit?{bad}")), None, "tr-bad")
                .await;
        assert_eq!((s, body["error"]["code"].as_str()), (422, Some("validation_error")), "{bad}: {body}");
    }
}

#[tokio::test]
async fn controls_and_policy_changes_are_audited() {
    let server = TestServer::spawn().await;
    let key = server.admin_key.clone();
    let body = json!({"intent_type": "notify.message.v1", "to_agent": "bot", "payload": {"text": "hi"}});
    let (_, created) = call(&server, &key, (Method::POST, "/v1/intents"), Some(body), "tr-send").await;
    let id = created["intent_id"].as_str().unwrap().to_owned();
    let controls = json!({"controls_patch": {"priority": "high"}});
    let path = format!("/v1/intents/{id}/controls");
    assert_eq!(call(&server, &key, (Method::POST, &path), Some(controls), "tr-controls").await.0, 200);
    let policy = json!({"grants_patch": {"delegate:agent://ops": {"allow": ["resume"]}}});
    let path = format!("/v1/intents/{id}/policy");
    assert_eq!(call(&server, &key, (Method::POST, &path), Some(policy), "tr-policy").await.0, 200);
    let query = AuditQuery { target_id: Some(id.clone()), ..Default::default() };
    let entries = server.client().list_audit(&query).await.unwrap().entries;
    let seen: Vec<_> = entries.iter().map(|e| (e.action.as_str(), e.trace_id.as_deref())).collect();
    assert_eq!(
        seen,
        [(actions::POLICY_UPDATED, Some("tr-policy")), (actions::CONTROLS_UPDATED, Some("tr-controls"))]
    );
    assert!(entries.iter().all(|e| e.actor.id == admin_id(&server)));
}

/// Tenancy and people writes are audited too: organizations and workspaces created and
/// changed, an access request reviewed (with the membership it granted), actor tokens issued and
/// revoked.
#[tokio::test]
async fn tenancy_and_actor_token_changes_are_recorded() {
    let server = TestServer::spawn().await;
    let admin = server.admin_key.clone();
    let org = server.admin.tenant.org_id.to_string();

    let (s, ws) = call(
        &server,
        &admin,
        (Method::POST, &format!("/v1/organizations/{org}/workspaces")),
        Some(json!({"name": "Ops", "environment": "production"})),
        "t-ws",
    )
    .await;
    assert_eq!(s, 200, "{ws}");
    let ws_id = ws["workspace"]["workspace_id"].as_str().unwrap().to_owned();
    let e = the_entry(&server, &ws_id).await;
    assert_eq!((e.action.as_str(), e.trace_id.as_deref()), (actions::WORKSPACE_CREATED, Some("t-ws")));
    let path = format!("/v1/organizations/{org}/workspaces/{ws_id}");
    let (s, _) = call(&server, &admin, (Method::PATCH, &path), Some(json!({"name": "Ops 2"})), "t-ws2").await;
    assert_eq!(s, 200);
    assert_eq!(log(&server).await[0].action, actions::WORKSPACE_UPDATED);

    let (s, created) = call(
        &server,
        &admin,
        (Method::POST, "/v1/organizations"),
        Some(json!({"name": "Initech", "requested_by_actor_id": "x"})),
        "t-org",
    )
    .await;
    assert_eq!(s, 200, "{created}");
    // Recorded in the new organization's log, which its creator (now its owner) reads.
    let new_org: axp_core::OrgId = created["organization"]["org_id"].as_str().unwrap().parse().unwrap();
    let filter = axp_store::AuditFilter {
        org_id: new_org,
        workspace_id: None,
        org_wide: false,
        action: None,
        actor_id: None,
        target_id: None,
        since: None,
        until: None,
        before: None,
        limit: 10,
    };
    let (entries, _) = server.state().store.list_audit(&filter).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, [actions::MEMBER_ADDED, actions::ORGANIZATION_CREATED], "the org and its owner");
    assert!(entries.iter().all(|e| e.trace_id.as_deref() == Some("t-org")));

    let (requester, _) = account(&server, "requester", None).await;
    let (s, request) = call(
        &server,
        &admin,
        (Method::POST, "/v1/access-requests"),
        Some(json!({"request_type": "join_organization", "requester_actor_id": requester, "org_id": org})),
        "t-req",
    )
    .await;
    assert_eq!(s, 200, "{request}");
    let id = request["access_request"]["access_request_id"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &server,
        &admin,
        (Method::POST, &format!("/v1/access-requests/{id}/review")),
        Some(json!({"decision": "approve", "reviewer_actor_id": "admin"})),
        "t-review",
    )
    .await;
    assert_eq!(s, 200);
    let recent: Vec<String> = log(&server).await.iter().take(2).map(|e| e.action.clone()).collect();
    assert_eq!(
        recent,
        [actions::ACCESS_REQUEST_REVIEWED, actions::MEMBER_ADDED],
        "the review and its membership"
    );

    let (s, user) = call(
        &server,
        &admin,
        (Method::POST, "/v1/users/register-nick"),
        Some(json!({"nick": "auditee"})),
        "t-u",
    )
    .await;
    assert_eq!(s, 200, "{user}");
    let user_id = user["user_id"].as_str().unwrap();
    let (s, token) = call(
        &server,
        &admin,
        (Method::POST, &format!("/v1/users/{user_id}/tokens")),
        Some(json!({})),
        "t-tok",
    )
    .await;
    assert_eq!(s, 200, "{token}");
    let token_id = token["token_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/users/{user_id}/tokens/{token_id}/revoke");
    let (s, _) = call(&server, &admin, (Method::POST, &path), None, "t-rev").await;
    assert_eq!(s, 200);
    let entries = log(&server).await;
    let about: Vec<&str> =
        entries.iter().filter(|e| e.target.id == token_id).map(|e| e.action.as_str()).collect();
    assert_eq!(about, [actions::ACTOR_TOKEN_REVOKED, actions::ACTOR_TOKEN_ISSUED]);
    let secret = token["token"].as_str().unwrap();
    assert!(entries.iter().all(|e| !serde_json::to_string(e).unwrap().contains(secret)), "never the token");
}
