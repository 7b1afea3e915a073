//! Tenants, service accounts, agents and API keys; tenancy of intents.

use axp_core::ids::{ApiKeyId, ServiceAccountId};
use axp_core::lifecycle::Command;
use axp_core::{AgentAddress, Status};
use serde_json::Map;

use super::{T0, account, address, by, new_intent, request, sa, tenant};
use crate::{Actor, Error, IntentFilter, KeyHash, Principal, Store, generate_api_key};

/// Keys authenticate to their principal until revoked; unknown keys do not.
pub async fn authentication(store: &dyn Store, admin: &Principal, token: &str) {
    let found = store.authenticate(&KeyHash::of(token), T0).await.unwrap().expect("key authenticates");
    assert_eq!(&found, admin);
    assert!(store.authenticate(&KeyHash::of("axme_sa_nope"), T0).await.unwrap().is_none());

    let (token2, key2) = generate_api_key(sa(admin), T0, Some(T0.plus_seconds(60)));
    let key_id = key2.key_id;
    let created = store.create_api_key(&admin.tenant, sa(admin), key2, &by()).await.unwrap();
    assert_eq!(created.key_id, key_id);
    assert!(created.token.is_none(), "a stored key never carries its token");
    assert!(store.authenticate(&KeyHash::of(&token2), T0).await.unwrap().is_some());
    assert!(
        store.authenticate(&KeyHash::of(&token2), T0.plus_seconds(61)).await.unwrap().is_none(),
        "expired key"
    );
    let revoked = store.revoke_api_key(&admin.tenant, sa(admin), key_id, T0, &by()).await.unwrap();
    assert_eq!(revoked.status, "revoked");
    assert!(store.authenticate(&KeyHash::of(&token2), T0).await.unwrap().is_none(), "revoked key");
    let again =
        store.revoke_api_key(&admin.tenant, sa(admin), key_id, T0.plus_seconds(5), &by()).await.unwrap();
    assert_eq!(again.revoked_at, Some(T0), "revoking twice keeps the first time");
    assert!(
        store.authenticate(&KeyHash::of(token), T0).await.unwrap().is_some(),
        "revoking one key leaves the others"
    );
}

/// Nothing written in one workspace is visible from another.
pub async fn tenancy(store: &dyn Store) {
    let (a, _) = tenant(store).await;
    let (b, _) = tenant(store).await;
    let (intent, events) = new_intent(&a, "agent://shared/name");
    let id = intent.intent_id;
    store.create_intent(&a.tenant, intent, events, None).await.unwrap();
    assert!(matches!(store.get_intent(&b.tenant, id).await, Err(Error::NotFound)));
    assert!(matches!(store.events_since(&b.tenant, id, 0, 10).await, Err(Error::NotFound)));
    assert!(matches!(
        store.execute(&b.tenant, id, request(Command::Resume(Map::new())), T0, None, &by()).await,
        Err(Error::NotFound)
    ));
    assert!(
        store
            .list_intents(&b.tenant, &IntentFilter { limit: 10, ..Default::default() })
            .await
            .unwrap()
            .is_empty()
    );
    let agent = AgentAddress::parse("agent://shared/name", &b.tenant.scope()).unwrap();
    assert!(store.deliver_to_agent(&b.tenant, &agent, 0, &Status::OPEN, 10, T0).await.unwrap().is_empty());
    assert!(store.claim_for_agent(&b.tenant, &agent, 10, T0).await.unwrap().is_empty());
    assert!(matches!(store.get_service_account(&b.tenant, sa(&a)).await, Err(Error::NotFound)));
    assert_eq!(store.get_intent(&a.tenant, id).await.unwrap().status, Status::Submitted);
}

/// Names and agent addresses are unique per workspace; lookups by address work; deleting an
/// account revokes its keys.
pub async fn service_accounts(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let sa = store
        .create_service_account(&p.tenant, account(&p, "owner", "agent://conformance/owner"), &by())
        .await
        .unwrap();
    assert_eq!(sa.agent_address, "agent://conformance/owner");
    assert_eq!(sa.status, "active");
    assert_eq!(store.get_service_account(&p.tenant, sa.service_account_id).await.unwrap(), sa);
    let found = store
        .find_agent(&p.tenant, &AgentAddress::from_trusted("agent://conformance/owner".into()))
        .await
        .unwrap();
    assert_eq!(found.map(|f| f.service_account_id), Some(sa.service_account_id));
    let dup_address = store
        .create_service_account(&p.tenant, account(&p, "other", "agent://conformance/owner"), &by())
        .await;
    assert!(matches!(dup_address, Err(Error::Conflict { .. })));
    let dup_name = store.create_service_account(&p.tenant, account(&p, "owner", "elsewhere"), &by()).await;
    assert!(matches!(dup_name, Err(Error::Conflict { .. })));
    let (token, key) = generate_api_key(sa.service_account_id, T0, None);
    let (token2, key2) = generate_api_key(sa.service_account_id, T0, None);
    store.create_api_key(&p.tenant, sa.service_account_id, key, &by()).await.unwrap();
    store.create_api_key(&p.tenant, sa.service_account_id, key2, &by()).await.unwrap();
    assert!(store.authenticate(&KeyHash::of(&token), T0).await.unwrap().is_some());
    let (q, _) = tenant(store).await;
    assert!(matches!(
        store.delete_service_account(&q.tenant, sa.service_account_id, T0, &by()).await,
        Err(Error::NotFound)
    ));
    assert!(store.authenticate(&KeyHash::of(&token), T0).await.unwrap().is_some(), "nothing was deleted");
    let deleted = store.delete_service_account(&p.tenant, sa.service_account_id, T0, &by()).await.unwrap();
    assert_eq!(deleted.status, "deleted");
    assert_eq!(deleted.service_account_id, sa.service_account_id);
    for t in [&token, &token2] {
        assert!(
            store.authenticate(&KeyHash::of(t), T0).await.unwrap().is_none(),
            "deleting revokes its keys"
        );
    }
    assert_eq!(store.get_service_account(&p.tenant, sa.service_account_id).await.unwrap().status, "deleted");
    assert_eq!(
        store.delete_service_account(&p.tenant, sa.service_account_id, T0, &by()).await.unwrap().status,
        "deleted"
    );
    assert!(matches!(
        store.delete_service_account(&p.tenant, ServiceAccountId::new(), T0, &by()).await,
        Err(Error::NotFound)
    ));
    store
        .create_service_account(&q.tenant, account(&q, "owner", "agent://conformance/owner"), &by())
        .await
        .expect("other workspace may reuse it");
    assert!(matches!(
        store
            .create_api_key(
                &p.tenant,
                ServiceAccountId::new(),
                generate_api_key(ServiceAccountId::new(), T0, None).1,
                &by()
            )
            .await,
        Err(Error::NotFound)
    ));
}

/// Agents are listed oldest first, per workspace; lookups of ids and addresses of another
/// workspace find nothing; keys cannot be added to or revoked on another workspace's accounts.
pub async fn agents_and_keys(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let mut created = Vec::new();
    for name in ["alpha", "bravo", "charlie"] {
        let sa = store.create_service_account(&p.tenant, account(&p, name, name), &by()).await.unwrap();
        assert_eq!(sa.agent_address, address(&p, name).as_str());
        assert_eq!(sa.workspace_id, p.tenant.workspace_id);
        created.push(sa);
    }
    let listed = store.list_agents(&p.tenant, 100).await.unwrap();
    let ids: Vec<ServiceAccountId> = listed.iter().map(|a| a.service_account_id).collect();
    let mut expected = vec![sa(&p)];
    expected.extend(created.iter().map(|a| a.service_account_id));
    assert_eq!(ids, expected, "the admin, then the agents in creation order");
    assert_eq!(listed[1], created[0], "listed as stored");
    let limited = store.list_agents(&p.tenant, 2).await.unwrap();
    assert_eq!(limited.iter().map(|a| a.service_account_id).collect::<Vec<_>>(), expected[..2]);
    let theirs = store.list_agents(&q.tenant, 100).await.unwrap();
    assert_eq!(theirs.iter().map(|a| a.service_account_id).collect::<Vec<_>>(), [sa(&q)]);

    let bravo = &created[1];
    assert_eq!(store.get_service_account(&p.tenant, bravo.service_account_id).await.unwrap(), *bravo);
    assert!(matches!(
        store.get_service_account(&q.tenant, bravo.service_account_id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.get_service_account(&p.tenant, ServiceAccountId::new()).await,
        Err(Error::NotFound)
    ));
    let found = store.find_agent(&p.tenant, &address(&p, "bravo")).await.unwrap();
    assert_eq!(found.as_ref(), Some(bravo));
    assert!(store.find_agent(&p.tenant, &address(&p, "nobody")).await.unwrap().is_none());
    let bravo_address = AgentAddress::from_trusted(bravo.agent_address.clone());
    assert!(store.find_agent(&q.tenant, &bravo_address).await.unwrap().is_none(), "another workspace");

    let (token, key) = generate_api_key(bravo.service_account_id, T0, None);
    let key_id = key.key_id;
    let foreign = store.create_api_key(&q.tenant, bravo.service_account_id, key.clone(), &by()).await;
    assert!(matches!(foreign, Err(Error::NotFound)));
    assert!(store.authenticate(&KeyHash::of(&token), T0).await.unwrap().is_none(), "nothing was written");
    let record = store.create_api_key(&p.tenant, bravo.service_account_id, key, &by()).await.unwrap();
    assert_eq!(record.status, "active");
    assert_eq!(record.revoked_at, None);
    let principal = store.authenticate(&KeyHash::of(&token), T0).await.unwrap().expect("bravo's key works");
    assert_eq!(principal.actor, Actor::ServiceAccount { id: bravo.service_account_id, key_id });
    assert_eq!(principal.agent_address.as_str(), bravo.agent_address);
    assert_eq!(principal.tenant, p.tenant);

    assert!(matches!(
        store.revoke_api_key(&q.tenant, bravo.service_account_id, key_id, T0, &by()).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.revoke_api_key(&p.tenant, bravo.service_account_id, ApiKeyId::new(), T0, &by()).await,
        Err(Error::NotFound)
    ));
    assert!(
        matches!(
            store.revoke_api_key(&p.tenant, created[0].service_account_id, key_id, T0, &by()).await,
            Err(Error::NotFound)
        ),
        "a key is revoked through its own account"
    );
    assert!(store.authenticate(&KeyHash::of(&token), T0).await.unwrap().is_some(), "still active");
    let revoked = store
        .revoke_api_key(&p.tenant, bravo.service_account_id, key_id, T0.plus_seconds(1), &by())
        .await
        .unwrap();
    assert_eq!((revoked.status.as_str(), revoked.revoked_at), ("revoked", Some(T0.plus_seconds(1))));
    assert!(store.authenticate(&KeyHash::of(&token), T0.plus_seconds(1)).await.unwrap().is_none());
}
