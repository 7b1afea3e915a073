//! Quota policies and usage counters: a workspace starts on the default policy; a change is
//! stored, stamped and audited, and is the workspace's alone; usage increments add up per
//! (workspace, dimension, day) and stay in their workspace.

use axp_core::api::actions;
use axp_core::quota::{Dimension, OverageMode, QuotaPolicy};
use serde_json::json;

use super::{T0, after_ms, obj, tenant};
use crate::tables::UsageCount;
use crate::{Audit, AuditFilter, Store};

pub(super) async fn policies_and_usage(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (other, _) = tenant(store).await;
    // The default, in force since the workspace was created.
    let default = QuotaPolicy {
        updated_at: Some(T0),
        ..QuotaPolicy::default_for(p.tenant.org_id, p.tenant.workspace_id)
    };
    assert_eq!(store.get_quota_policy(&p.tenant).await.unwrap(), default);

    let patch = obj(json!({"dimensions": {"intents_per_day": 7}, "overage_mode": "grace"}));
    let by = Audit::new(&p.actor, Some("trace-q".into()));
    let updated = store.update_quota_policy(&p.tenant, patch, after_ms(5), &by).await.unwrap();
    assert_eq!(updated.limit(Dimension::IntentsPerDay), 7);
    assert_eq!(updated.limit(Dimension::InboxWritesPerDay), Dimension::InboxWritesPerDay.default_limit());
    assert_eq!(updated.overage_mode, OverageMode::Grace);
    assert_eq!(updated.updated_at, Some(after_ms(5)));
    assert_eq!(updated.updated_by_actor_id, Some(p.actor.id().to_string()));
    assert_eq!(store.get_quota_policy(&p.tenant).await.unwrap(), updated);
    // A second patch keeps the first one's fields.
    let again = store
        .update_quota_policy(&p.tenant, obj(json!({"soft_threshold_percent": 50})), after_ms(6), &by)
        .await
        .unwrap();
    assert_eq!((again.limit(Dimension::IntentsPerDay), again.soft_threshold_percent), (7, 50));
    let other_default = QuotaPolicy {
        updated_at: Some(T0),
        ..QuotaPolicy::default_for(other.tenant.org_id, other.tenant.workspace_id)
    };
    assert_eq!(store.get_quota_policy(&other.tenant).await.unwrap(), other_default);

    let filter =
        AuditFilter { action: Some(actions::QUOTA_UPDATED.into()), ..AuditFilter::org(p.tenant.org_id, 10) };
    let (entries, _) = store.list_audit(&filter).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].trace_id.as_deref(), Some("trace-q"));
    assert_eq!(entries[1].details["dimensions"]["intents_per_day"], 7);
    assert_eq!(entries[1].workspace_id, Some(p.tenant.workspace_id));

    let day = axp_core::quota::day_of(T0);
    let count = |ws, dimension, day, count| UsageCount { workspace_id: ws, dimension, day, count };
    let ws = p.tenant.workspace_id;
    store
        .add_usage(vec![
            count(ws, Dimension::IntentsPerDay, day, 3),
            count(ws, Dimension::IntentsPerDay, day - 1, 1),
        ])
        .await
        .unwrap();
    store
        .add_usage(vec![
            count(ws, Dimension::IntentsPerDay, day, 2),
            count(ws, Dimension::RequestsPerMinute, day, 9),
        ])
        .await
        .unwrap();
    store.add_usage(Vec::new()).await.unwrap();
    let rows = store.usage(&p.tenant, day - 1, day).await.unwrap();
    let mut got: Vec<_> = rows.iter().map(|c| (c.day, c.dimension, c.count)).collect();
    got.sort();
    let mut want = vec![
        (day - 1, Dimension::IntentsPerDay, 1),
        (day, Dimension::IntentsPerDay, 5),
        (day, Dimension::RequestsPerMinute, 9),
    ];
    want.sort();
    assert_eq!(got, want);
    assert!(store.usage(&other.tenant, day - 1, day).await.unwrap().is_empty());
}
