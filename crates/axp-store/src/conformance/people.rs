//! Users and nicks, invites, actor tokens and the people they authenticate.

use axp_core::access::{Role, Roles};
use axp_core::api::{Invite, User};
use axp_core::ids::{ActorTokenId, UserId};
use axp_core::users::{Nick, owner_agent};

use super::{T0, tenant};
use crate::{
    Actor, Error, InviteAcceptance, KeyHash, Principal, Store, UserUpdate, generate_actor_token,
    generate_invite_token,
};

fn nick(raw: &str) -> Nick {
    Nick::parse(raw).expect("a valid nick")
}

fn user(raw: &str) -> User {
    User::new(UserId::new(), &nick(raw), T0)
}

fn conflict<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Conflict { constraint }) => constraint,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// Nicks are unique per workspace; users are found by id and nick in their own workspace only;
/// updates rename and change profiles, never onto another user's nick.
pub async fn users(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let alice = store.register_user(&p.tenant, user("@Alice")).await.unwrap();
    assert_eq!((alice.nick.as_str(), alice.public_address.as_str()), ("@alice", "alice@ax"));
    assert_eq!(alice.owner_agent, owner_agent(alice.user_id));
    conflict(store.register_user(&p.tenant, user("alice")).await);
    store.register_user(&q.tenant, user("alice")).await.expect("another workspace may reuse a nick");
    assert_eq!(store.get_user(&p.tenant, alice.user_id).await.unwrap(), alice);
    assert!(matches!(store.get_user(&q.tenant, alice.user_id).await, Err(Error::NotFound)));
    assert_eq!(store.find_user_by_nick(&p.tenant, &nick("ALICE")).await.unwrap(), Some(alice.clone()));
    assert_ne!(
        store.find_user_by_nick(&q.tenant, &nick("alice")).await.unwrap().map(|u| u.user_id),
        Some(alice.user_id)
    );
    assert_eq!(store.find_user_by_nick(&p.tenant, &nick("nobody")).await.unwrap(), None);

    let bob = store.register_user(&p.tenant, user("bob")).await.unwrap();
    let taken = UserUpdate { nick: Some(nick("alice")), ..UserUpdate::default() };
    conflict(store.update_user(&p.tenant, bob.user_id, taken, T0.plus_seconds(1)).await);
    assert_eq!(store.get_user(&p.tenant, bob.user_id).await.unwrap(), bob, "nothing changed");
    let rename = UserUpdate {
        nick: Some(nick("robert")),
        display_name: Some("Robert".into()),
        email: Some("bob@example.com".into()),
        ..UserUpdate::default()
    };
    let renamed = store.update_user(&p.tenant, bob.user_id, rename, T0.plus_seconds(2)).await.unwrap();
    assert_eq!((renamed.nick.as_str(), renamed.public_address.as_str()), ("@robert", "robert@ax"));
    assert_eq!((renamed.display_name.as_deref(), renamed.phone.as_deref()), (Some("Robert"), None));
    assert_eq!((renamed.created_at, renamed.updated_at), (T0, T0.plus_seconds(2)));
    assert_eq!(store.get_user(&p.tenant, bob.user_id).await.unwrap(), renamed);
    assert_eq!(store.find_user_by_nick(&p.tenant, &nick("bob")).await.unwrap(), None, "the old nick is free");
    store.register_user(&p.tenant, user("bob")).await.expect("and can be taken");
    let same = UserUpdate { nick: Some(nick("robert")), phone: Some("+100".into()), ..UserUpdate::default() };
    let kept = store.update_user(&p.tenant, bob.user_id, same, T0.plus_seconds(3)).await.unwrap();
    assert_eq!((kept.nick.as_str(), kept.email.as_deref()), ("@robert", Some("bob@example.com")));
    let nobody = UserUpdate::default();
    assert!(matches!(store.update_user(&q.tenant, bob.user_id, nobody, T0).await, Err(Error::NotFound)));
}

/// An invite is found by its token's hash in its workspace; it is accepted once, before it
/// expires, onto a free nick, creating the user and a working actor token at once.
pub async fn invites(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let invite = |ttl| Invite {
        owner_agent: p.agent_address.to_string(),
        recipient_hint: Some("a friend".into()),
        created_at: T0,
        expires_at: T0.plus_seconds(ttl),
        accepted_at: None,
        accepted_owner_agent: None,
        nick: None,
        public_address: None,
    };
    let (token, hash) = generate_invite_token();
    assert_eq!(store.create_invite(&p.tenant, hash, invite(60)).await.unwrap(), invite(60));
    assert_eq!(store.get_invite(&p.tenant, KeyHash::of(&token)).await.unwrap(), invite(60));
    assert!(matches!(store.get_invite(&q.tenant, hash).await, Err(Error::NotFound)));
    assert!(matches!(store.get_invite(&p.tenant, generate_invite_token().1).await, Err(Error::NotFound)));

    let accept = |raw: &str, at| {
        let mut user = User::new(UserId::new(), &nick(raw), at);
        user.display_name = Some("Carol".into());
        let (secret, token) = generate_actor_token(user.user_id, at, at.plus_seconds(3600));
        (secret, InviteAcceptance { user, token })
    };
    store.register_user(&p.tenant, user("taken")).await.unwrap();
    let (_, taken) = accept("taken", T0.plus_seconds(1));
    assert!(
        !conflict(store.accept_invite(&p.tenant, hash, taken, &super::by()).await).starts_with("invites.")
    );
    let (_, elsewhere) = accept("carol", T0.plus_seconds(1));
    assert!(matches!(
        store.accept_invite(&q.tenant, hash, elsewhere, &super::by()).await,
        Err(Error::NotFound)
    ));

    let (secret, carol) = accept("carol", T0.plus_seconds(1));
    let carol_id = carol.user.user_id;
    let (accepted, user, token) =
        store.accept_invite(&p.tenant, hash, carol.clone(), &super::by()).await.unwrap();
    assert_eq!(user, carol.user);
    assert_eq!(store.get_user(&p.tenant, carol_id).await.unwrap(), carol.user);
    assert_eq!((token.user_id, token.status.as_str()), (carol_id, "active"));
    assert_eq!(accepted.accepted_at, Some(T0.plus_seconds(1)));
    assert_eq!(accepted.accepted_owner_agent.as_deref(), Some(owner_agent(carol_id).as_str()));
    assert_eq!(
        (accepted.nick.as_deref(), accepted.public_address.as_deref()),
        (Some("@carol"), Some("carol@ax"))
    );
    assert_eq!(store.get_invite(&p.tenant, hash).await.unwrap(), accepted);
    let person = store.authenticate(&KeyHash::of(&secret), T0.plus_seconds(2)).await.unwrap().unwrap();
    assert_eq!(person.actor, Actor::User { id: carol_id, token_id: token.token_id });

    let (_, again) = accept("carol2", T0.plus_seconds(2));
    assert_eq!(conflict(store.accept_invite(&p.tenant, hash, again, &super::by()).await), "invites.accepted");
    let (_, hash2) = generate_invite_token();
    store.create_invite(&p.tenant, hash2, invite(60)).await.unwrap();
    let (late_secret, late) = accept("dave", T0.plus_seconds(60));
    assert_eq!(conflict(store.accept_invite(&p.tenant, hash2, late, &super::by()).await), "invites.expired");
    assert_eq!(store.find_user_by_nick(&p.tenant, &nick("dave")).await.unwrap(), None, "nothing written");
    assert!(store.authenticate(&KeyHash::of(&late_secret), T0.plus_seconds(61)).await.unwrap().is_none());
}

/// An actor token authenticates its person, in its workspace, with the roles of the user's
/// memberships, until it expires or is revoked; revoking is idempotent and workspace-scoped.
pub async fn actor_tokens(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let erin = store.register_user(&p.tenant, user("erin")).await.unwrap();
    let (secret, new) = generate_actor_token(erin.user_id, T0, T0.plus_seconds(60));
    let token_id = new.token_id;
    assert!(matches!(
        store.issue_actor_token(&q.tenant, new.clone(), &super::by()).await,
        Err(Error::NotFound)
    ));
    let stray = generate_actor_token(UserId::new(), T0, T0.plus_seconds(60)).1;
    assert!(matches!(store.issue_actor_token(&p.tenant, stray, &super::by()).await, Err(Error::NotFound)));
    let record = store.issue_actor_token(&p.tenant, new, &super::by()).await.unwrap();
    assert_eq!(
        (record.token_id, record.expires_at, record.revoked_at),
        (token_id, T0.plus_seconds(60), None)
    );

    let hash = KeyHash::of(&secret);
    let person = store.authenticate(&hash, T0).await.unwrap().expect("the token works");
    let expected = Principal {
        tenant: p.tenant.clone(),
        actor: Actor::User { id: erin.user_id, token_id },
        agent_address: axp_core::AgentAddress::from_trusted(erin.owner_agent.clone()),
        roles: Roles::NONE,
        grants: Vec::new(),
    };
    assert_eq!(person, expected, "no membership: acts only as agent://user/<id>");
    let at = T0.plus_seconds(1);
    store
        .add_member(
            p.tenant.org_id,
            Some(p.tenant.workspace_id),
            &erin.user_id.to_string(),
            Role::Member,
            at,
            &super::by(),
        )
        .await
        .unwrap();
    let member = store.authenticate(&hash, at).await.unwrap().unwrap();
    assert_eq!(member.roles, Roles::of(Role::Member), "the membership applies at the next request");
    assert!(store.authenticate(&hash, T0.plus_seconds(60)).await.unwrap().is_none(), "expired");

    let (secret2, new2) = generate_actor_token(erin.user_id, T0, T0.plus_seconds(3600));
    let id2 = new2.token_id;
    store.issue_actor_token(&p.tenant, new2, &super::by()).await.unwrap();
    let hash2 = KeyHash::of(&secret2);
    assert!(store.authenticate(&hash2, at).await.unwrap().is_some(), "cached now");
    for (tenant, user, id) in [
        (&q.tenant, erin.user_id, id2),
        (&p.tenant, UserId::new(), id2),
        (&p.tenant, erin.user_id, ActorTokenId::new()),
    ] {
        assert!(matches!(
            store.revoke_actor_token(tenant, user, id, at, &super::by()).await,
            Err(Error::NotFound)
        ));
    }
    assert!(store.authenticate(&hash2, at).await.unwrap().is_some(), "nothing was revoked");
    let revoked = store.revoke_actor_token(&p.tenant, erin.user_id, id2, at, &super::by()).await.unwrap();
    assert_eq!((revoked.status.as_str(), revoked.revoked_at), ("revoked", Some(at)));
    assert!(store.authenticate(&hash2, at).await.unwrap().is_none(), "revoked: refused at once");
    let again = store
        .revoke_actor_token(&p.tenant, erin.user_id, id2, at.plus_seconds(5), &super::by())
        .await
        .unwrap();
    assert_eq!(again.revoked_at, Some(at), "revoking twice keeps the first time");
}
