//! The audit log: every admin and security action leaves exactly one entry, written in its own
//! transaction (none when it fails or changes nothing); reads stay in one organization, come
//! newest first, filter, and page by cursor without a page ever changing.

use axp_core::Timestamp;
use axp_core::access::Acting;
use axp_core::access::Role;
use axp_core::api::{AuditActorType, AuditEntry, actions};
use axp_core::delivery::Binding;
use axp_core::ids::{ApprovalId, ServiceAccountId};
use axp_core::inbox::ThreadAction;
use axp_core::lifecycle::{Command, Request};
use serde_json::json;

use super::{T0, account, address, create, human_task_intent, new_intent, obj, request, sa, slug, tenant};
use crate::{
    Audit, AuditFilter, BindingUpdate, Error, MemberUpdate, Principal, Store, TenantSpec, generate_api_key,
};

/// The audit of a request by `p` carrying trace id `trace`.
fn by(p: &Principal, trace: &str) -> Audit {
    Audit::new(&p.actor, Some(trace.into()))
}

/// Every entry of `p`'s organization, newest first.
async fn log(store: &dyn Store, p: &Principal) -> Vec<AuditEntry> {
    let (entries, more) = store.list_audit(&AuditFilter::org(p.tenant.org_id, 500)).await.unwrap();
    assert!(!more);
    entries
}

/// The newest entry of `p`'s organization, asserting it is the only one after the `before`
/// entries there were.
async fn only_new(store: &dyn Store, p: &Principal, before: usize) -> AuditEntry {
    let entries = log(store, p).await;
    assert_eq!(entries.len(), before + 1, "one new entry: {entries:#?}");
    entries.into_iter().next().unwrap()
}

/// Mints a key for `p`'s own service account at `at`, audited with trace `trace`.
async fn mint(store: &dyn Store, p: &Principal, at: Timestamp, trace: &str) -> AuditEntry {
    let (_, key) = generate_api_key(sa(p), at, None);
    let id = key.key_id.to_string();
    store.create_api_key(&p.tenant, sa(p), key, &by(p, trace)).await.unwrap();
    let filter = AuditFilter { target_id: Some(id), ..AuditFilter::org(p.tenant.org_id, 10) };
    store.list_audit(&filter).await.unwrap().0.remove(0)
}

/// Accounts, keys, bindings, grants and memberships: one entry per change, with its actor,
/// target, trace id, time and place; nothing for a failed call or one that changed nothing.
pub async fn admin_actions(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    assert!(log(store, &p).await.is_empty(), "a new organization's log is empty");
    let at = T0.plus_seconds(1);

    let new = account(&p, "auditee", "auditee");
    let id = new.id;
    store.create_service_account(&p.tenant, new, &by(&p, "t-create")).await.unwrap();
    let e = only_new(store, &p, 0).await;
    assert_eq!(e.action, actions::SERVICE_ACCOUNT_CREATED);
    assert_eq!((e.actor.kind, e.actor.id.clone()), (AuditActorType::ServiceAccount, sa(&p).to_string()));
    assert_eq!((e.target.kind.as_str(), e.target.id.clone()), ("service_account", id.to_string()));
    assert_eq!((e.trace_id.as_deref(), e.created_at), (Some("t-create"), T0));
    assert_eq!((e.org_id, e.workspace_id), (p.tenant.org_id, Some(p.tenant.workspace_id)));
    let dup =
        store.create_service_account(&p.tenant, account(&p, "auditee", "other"), &by(&p, "t-dup")).await;
    assert!(matches!(dup, Err(Error::Conflict { .. })));
    assert_eq!(log(store, &p).await.len(), 1, "a failed action leaves no entry");

    let (token, key) = generate_api_key(id, at, None);
    let key_id = key.key_id;
    store.create_api_key(&p.tenant, id, key, &by(&p, "t-mint")).await.unwrap();
    let e = only_new(store, &p, 1).await;
    assert_eq!((e.action.as_str(), e.target.kind.as_str()), (actions::API_KEY_CREATED, "api_key"));
    assert_eq!((e.target.id.clone(), e.trace_id.as_deref()), (key_id.to_string(), Some("t-mint")));
    assert_eq!(e.details["service_account_id"], json!(id.to_string()));
    assert!(!serde_json::to_string(&e).unwrap().contains(&token), "the token is never recorded");
    let unknown = generate_api_key(ServiceAccountId::new(), at, None).1;
    assert!(store.create_api_key(&p.tenant, ServiceAccountId::new(), unknown, &by(&p, "x")).await.is_err());
    store.revoke_api_key(&p.tenant, id, key_id, at, &by(&p, "t-revoke")).await.unwrap();
    assert_eq!(only_new(store, &p, 2).await.action, actions::API_KEY_REVOKED);
    store.revoke_api_key(&p.tenant, id, key_id, at, &by(&p, "t-again")).await.unwrap();
    assert_eq!(log(store, &p).await.len(), 3, "revoking again changes nothing and records nothing");

    let poll = BindingUpdate { delivery_mode: Binding::Poll, push: None, lease_seconds: Some(30) };
    store.set_agent_binding(&p.tenant, &address(&p, "auditee"), poll, at, &by(&p, "t-bind")).await.unwrap();
    let e = only_new(store, &p, 3).await;
    assert_eq!((e.action.as_str(), e.target.id.clone()), (actions::BINDING_CHANGED, id.to_string()));
    assert_eq!(
        (&e.details["delivery_mode"], &e.details["previous_delivery_mode"]),
        (&json!("poll"), &json!("stream"))
    );

    let desk = "agent://elsewhere/ws/desk";
    store.set_grant(&p.tenant, id, desk, true, at, &by(&p, "t-grant")).await.unwrap();
    store.set_grant(&p.tenant, id, desk, true, at, &by(&p, "t-grant-again")).await.unwrap();
    store.set_grant(&p.tenant, id, desk, false, at, &by(&p, "t-ungrant")).await.unwrap();
    let entries = log(store, &p).await;
    assert_eq!(entries.len(), 6, "granting twice is one change");
    assert_eq!(
        [entries[1].action.as_str(), entries[0].action.as_str()],
        [actions::GRANT_ADDED, actions::GRANT_REMOVED]
    );
    assert_eq!(
        (&entries[0].details["agent_address"], entries[0].trace_id.as_deref()),
        (&json!(desk), Some("t-ungrant"))
    );

    let org = p.tenant.org_id;
    let member =
        store.add_member(org, None, &id.to_string(), Role::Member, at, &by(&p, "t-add")).await.unwrap();
    let e = only_new(store, &p, 6).await;
    assert_eq!((e.action.as_str(), e.target.kind.as_str()), (actions::MEMBER_ADDED, "member"));
    assert_eq!(
        (e.target.id.clone(), e.workspace_id),
        (member.member_id.to_string(), None),
        "organization-wide"
    );
    assert_eq!((&e.details["actor_id"], &e.details["role"]), (&json!(id.to_string()), &json!("member")));
    let again = store.add_member(org, None, &id.to_string(), Role::Member, at, &by(&p, "t-add-again")).await;
    assert!(matches!(again, Err(Error::Conflict { .. })));
    let update = MemberUpdate { role: Some(Role::SecurityAuditor), status: None };
    store.update_member(org, member.member_id, update, at, &by(&p, "t-update")).await.unwrap();
    let e = only_new(store, &p, 7).await;
    assert_eq!(e.action, actions::MEMBER_UPDATED);
    assert_eq!(
        (&e.details["role"], &e.details["previous_role"]),
        (&json!("security_auditor"), &json!("member"))
    );
    store.remove_member(org, member.member_id, at, &by(&p, "t-remove")).await.unwrap();
    assert_eq!(only_new(store, &p, 8).await.action, actions::MEMBER_REMOVED);
    let ws = Some(p.tenant.workspace_id);
    store.add_member(org, ws, &id.to_string(), Role::Member, at, &by(&p, "t-ws")).await.unwrap();
    assert_eq!(only_new(store, &p, 9).await.workspace_id, ws, "a workspace membership is the workspace's");

    let (_, second) = generate_api_key(id, at, None);
    let second_id = second.key_id;
    store.create_api_key(&p.tenant, id, second, &by(&p, "t-mint-2")).await.unwrap();
    store.delete_service_account(&p.tenant, id, at, &by(&p, "t-delete")).await.unwrap();
    let e = only_new(store, &p, 11).await;
    assert_eq!((e.action.as_str(), e.target.id.clone()), (actions::SERVICE_ACCOUNT_DELETED, id.to_string()));
    assert_eq!(e.details["revoked_key_ids"], json!([second_id.to_string()]), "the keys it revoked");
    store.delete_service_account(&p.tenant, id, at, &by(&p, "t-delete-again")).await.unwrap();
    assert_eq!(log(store, &p).await.len(), 12, "deleting again records nothing");
}

/// A human task answered through the inbox, an approval or a resume records
/// `human_task.decided` with the intent and the outcome; a refused answer records nothing, as
/// its entry is rolled back with it.
pub async fn human_task_decisions(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let owner = p.agent_address.as_str();
    // The tenant's admin, who may decide the tasks it asked for.
    let acting = &Acting::new(owner, p.roles);
    let task = json!({"title": "Ship it?", "task_type": "approval"});
    let at = T0.plus_seconds(1);

    let a = create(store, &p, human_task_intent(&p, "desk", task.clone())).await;
    let decide = ThreadAction::Decide { approve: true, comment: None };
    store.act_on_thread(&p.tenant, acting, a, decide, at, &by(&p, "t-inbox")).await.unwrap();
    let e = only_new(store, &p, 0).await;
    assert_eq!((e.action.as_str(), e.target.kind.as_str()), (actions::HUMAN_TASK_DECIDED, "intent"));
    assert_eq!((e.target.id.clone(), e.trace_id.as_deref()), (a.to_string(), Some("t-inbox")));
    assert_eq!(e.details, obj(json!({"outcome": "approved", "via": "inbox", "as": owner})));
    assert_eq!(e.actor.id, sa(&p).to_string(), "the deciding caller");

    let strict = json!({"title": "Why?", "task_type": "approval", "required_comment": true});
    let s = create(store, &p, human_task_intent(&p, "desk", strict)).await;
    let bare = ThreadAction::Decide { approve: false, comment: None };
    let refused = store.act_on_thread(&p.tenant, acting, s, bare, at, &by(&p, "t-refused")).await;
    assert!(matches!(refused, Err(Error::Lifecycle(_))));
    assert_eq!(log(store, &p).await.len(), 1, "the refused decision's entry was rolled back");
    let read = store.act_on_thread(&p.tenant, acting, s, ThreadAction::Read, at, &by(&p, "t-read")).await;
    read.unwrap();
    assert_eq!(log(store, &p).await.len(), 1, "reading a thread is no decision");

    let b = create(store, &p, human_task_intent(&p, "desk", task.clone())).await;
    let approval = ApprovalId(b.0);
    store
        .decide_approval(&p.tenant, approval, false, Some("no".into()), acting, at, &by(&p, "t-approval"))
        .await
        .unwrap();
    let e = only_new(store, &p, 1).await;
    assert_eq!((e.action.as_str(), e.target.id.clone()), (actions::HUMAN_TASK_DECIDED, b.to_string()));
    assert_eq!((&e.details["outcome"], &e.details["via"]), (&json!("rejected"), &json!("approval")));
    store.decide_approval(&p.tenant, approval, false, None, acting, at, &by(&p, "t-same")).await.unwrap();
    assert_eq!(log(store, &p).await.len(), 2, "the same decision again records nothing");
    let loose = ApprovalId(uuid::Uuid::new_v4());
    store.decide_approval(&p.tenant, loose, true, None, acting, at, &by(&p, "t-loose")).await.unwrap();
    let e = only_new(store, &p, 2).await;
    assert_eq!((e.action.as_str(), e.target.kind.as_str()), (actions::APPROVAL_DECIDED, "approval"));
    assert_eq!((e.target.id.clone(), &e.details["decision"]), (loose.to_string(), &json!("approve")));

    let c = create(store, &p, human_task_intent(&p, "desk", task)).await;
    let answer = || request(Command::Resume(obj(json!({"task_result": {"outcome": "approved"}}))));
    store.execute(&p.tenant, c, answer(), at, None, &by(&p, "t-resume")).await.unwrap();
    let e = only_new(store, &p, 3).await;
    assert_eq!((e.action.as_str(), e.target.id.clone()), (actions::HUMAN_TASK_DECIDED, c.to_string()));
    assert_eq!((&e.details["outcome"], &e.details["via"]), (&json!("approved"), &json!("resume")));
    assert!(store.execute(&p.tenant, c, answer(), at, None, &by(&p, "t-late")).await.is_err());
    let plain = create(store, &p, new_intent(&p, "bot")).await;
    store
        .execute(&p.tenant, plain, request(Command::Resume(obj(json!({})))), at, None, &by(&p, "t-go"))
        .await
        .unwrap();
    assert_eq!(log(store, &p).await.len(), 4, "no task was open: nothing recorded");
}

/// Changes of an intent's controls or policy emit no lifecycle event (contract §4.8): each
/// applied one is audited with its patch; a refused one is not.
pub async fn controls_and_policy(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let id = create(store, &p, new_intent(&p, "bot")).await;
    let controls = obj(json!({"priority": "high"}));
    let update = || request(Command::UpdateControls(controls.clone()));
    store.execute(&p.tenant, id, update(), T0, None, &by(&p, "t-controls")).await.unwrap();
    let e = only_new(store, &p, 0).await;
    assert_eq!((e.action.as_str(), e.target.kind.as_str()), (actions::CONTROLS_UPDATED, "intent"));
    assert_eq!((e.target.id.clone(), e.trace_id.as_deref()), (id.to_string(), Some("t-controls")));
    assert_eq!(e.details["controls_patch"], json!({"priority": "high"}));
    let grants = obj(json!({"delegate:agent://ops": {"allow": ["resume"]}}));
    let policy = Command::UpdatePolicy { grants_patch: grants, envelope_patch: obj(json!({})) };
    store.execute(&p.tenant, id, request(policy), T0, None, &by(&p, "t-policy")).await.unwrap();
    let e = only_new(store, &p, 1).await;
    assert_eq!((e.action.as_str(), e.target.id.clone()), (actions::POLICY_UPDATED, id.to_string()));
    assert_eq!(e.details["grants_patch"], json!({"delegate:agent://ops": {"allow": ["resume"]}}));
    let stale = Request { expected_policy_generation: Some(0), ..update() };
    assert!(store.execute(&p.tenant, id, stale, T0, None, &by(&p, "t-stale")).await.is_err());
    assert_eq!(log(store, &p).await.len(), 2, "a refused change records nothing");
}

/// Reads of one organization: its workspaces' entries and the organization-wide ones, never
/// another organization's; newest first; every filter; cursor pages that never change.
pub async fn reads(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (spec, _) = TenantSpec::with_admin(&p.tenant.org_slug, &slug(), "admin", T0).unwrap();
    let p2 = store.create_tenant(spec).await.unwrap();
    assert_eq!(p2.tenant.org_id, p.tenant.org_id, "a second workspace of the organization");
    let (q, _) = tenant(store).await;
    let mut minted = Vec::new();
    for i in 0..3 {
        minted.push(mint(store, &p, T0.plus_seconds(i), &format!("p-{i}")).await);
    }
    for i in 0..2 {
        minted.push(mint(store, &p2, T0.plus_seconds(10 + i), &format!("p2-{i}")).await);
    }
    let theirs = mint(store, &q, T0, "q").await;
    let org = p.tenant.org_id;
    let at = T0.plus_seconds(20);
    store.add_member(org, None, "someone", Role::Member, at, &by(&p, "m")).await.unwrap();

    let all = log(store, &p).await;
    assert_eq!(all.len(), 6, "both workspaces and the organization: {all:#?}");
    assert!(all.windows(2).all(|w| w[0].audit_id > w[1].audit_id), "newest first");
    assert_eq!(all[0].action, actions::MEMBER_ADDED);
    assert_eq!(log(store, &q).await, std::slice::from_ref(&theirs), "another organization sees only its own");
    assert!(all.iter().all(|e| e.audit_id != theirs.audit_id));

    let count = |f: AuditFilter| async move { store.list_audit(&f).await.unwrap().0.len() };
    let base = || AuditFilter::org(org, 100);
    let ws = |w: &Principal, org_wide| AuditFilter {
        workspace_id: Some(w.tenant.workspace_id),
        org_wide,
        ..base()
    };
    assert_eq!(count(ws(&p, false)).await, 3);
    assert_eq!(count(ws(&p2, false)).await, 2);
    assert_eq!(count(ws(&p2, true)).await, 3, "with the organization-wide entry");
    assert_eq!(count(AuditFilter { action: Some(actions::API_KEY_CREATED.into()), ..base() }).await, 5);
    assert_eq!(count(AuditFilter { actor_id: Some(sa(&p2).to_string()), ..base() }).await, 2);
    let key = minted[1].target.id.clone();
    let found = store.list_audit(&AuditFilter { target_id: Some(key), ..base() }).await.unwrap().0;
    assert_eq!(found, std::slice::from_ref(&minted[1]));
    let window = AuditFilter { since: Some(T0.plus_seconds(1)), until: Some(T0.plus_seconds(11)), ..base() };
    let traces: Vec<_> =
        store.list_audit(&window).await.unwrap().0.into_iter().filter_map(|e| e.trace_id).collect();
    assert_eq!(traces, ["p2-0", "p-2", "p-1"], "since is inclusive, until exclusive");

    let mut paged = Vec::new();
    let mut before = None;
    let first_page_ids = loop {
        let (page, more) = store.list_audit(&AuditFilter { before, limit: 4, ..base() }).await.unwrap();
        paged.extend(page.clone());
        before = page.last().map(|e| e.audit_id);
        if paged.len() == 4 {
            assert!(more);
            break before;
        }
    };
    // An action after the first page was read sorts above it: the next page is unchanged.
    mint(store, &p, T0.plus_seconds(30), "late").await;
    let (rest, more) =
        store.list_audit(&AuditFilter { before: first_page_ids, limit: 4, ..base() }).await.unwrap();
    assert!(!more, "the last page");
    paged.extend(rest);
    assert_eq!(paged, all, "the pages are the log");
    assert_eq!(log(store, &p).await.len(), 7);
}
