//! Caps on what holds a connection open (issue 12, "Caps"): SSE streams and long-poll claims,
//! counted per credential and per workspace.
//!
//! Every open stream (intent events, agent intents) and every waiting claim
//! (`wait_seconds > 0`) holds a [`StreamSlot`] for as long as it lives; the slot is given back
//! when it is dropped, which happens when the stream ends for any reason (timeout, terminal
//! event, shutdown, or the client going away: hyper drops the response body). A request that
//! would go over a cap is refused before it does anything: 429 `rate_limit_exceeded` with an
//! integer `Retry-After` (contract §1.4, §1.5), logged once per credential or workspace while
//! it holds slots.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use axp_core::error::ErrorCode;
use axp_core::ids::WorkspaceId;
use axp_store::{Actor, Principal};
use serde_json::json;

use crate::error::ApiError;
use crate::metrics::STREAMS_OPEN;

/// Seconds a refused client is told to wait (`Retry-After`): streams end within
/// `wait_seconds` (at most 60, default 15), so a slot is usually free again within seconds.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// How many streams and long-poll claims may be open at once.
///
/// Read from `AXP_MAX_STREAMS_PER_KEY` (default [`StreamCaps::DEFAULT_PER_KEY`]) and
/// `AXP_MAX_STREAMS_PER_WORKSPACE` (default [`StreamCaps::DEFAULT_PER_WORKSPACE`]) by
/// [`crate::Options::from_env`]. `0` means no cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamCaps {
    /// Per credential: one API key, or one actor token (a person's session).
    pub per_key: usize,
    /// Per workspace, over all its credentials.
    pub per_workspace: usize,
}

impl StreamCaps {
    /// Issue 12: "default 1,000" per key.
    pub const DEFAULT_PER_KEY: usize = 1_000;
    /// Ten keys at their cap; well under the default fd limits of a tuned host.
    pub const DEFAULT_PER_WORKSPACE: usize = 10_000;
}

impl Default for StreamCaps {
    fn default() -> Self {
        Self { per_key: Self::DEFAULT_PER_KEY, per_workspace: Self::DEFAULT_PER_WORKSPACE }
    }
}

/// The registry of open slots, shared by every handler through `AppState`. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct StreamSlots {
    inner: Arc<Registry>,
}

#[derive(Default)]
struct Registry {
    caps: StreamCaps,
    held: Mutex<Held>,
}

/// Open slots per credential and per workspace; an entry goes when its count reaches zero.
#[derive(Default)]
struct Held {
    keys: HashMap<Actor, Count>,
    workspaces: HashMap<WorkspaceId, Count>,
}

#[derive(Default)]
struct Count {
    open: usize,
    /// A refusal was logged since this entry was created (one log line per burst).
    logged: bool,
}

/// What holds a slot; the `kind` label of the `axp_streams_open` gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    /// An SSE stream (intent events, agent intents).
    Stream,
    /// A claim (or MCP wait) waiting for work or events.
    LongPoll,
}

impl Hold {
    fn label(self) -> &'static str {
        match self {
            Hold::Stream => "sse",
            Hold::LongPoll => "long_poll",
        }
    }
}

/// One open stream or waiting claim; gives its slot back (and lowers the open gauge) when
/// dropped.
pub(crate) struct StreamSlot {
    registry: Arc<Registry>,
    key: Actor,
    workspace: WorkspaceId,
    hold: Hold,
}

impl StreamSlots {
    /// An empty registry enforcing `caps`.
    pub(crate) fn new(caps: StreamCaps) -> Self {
        Self { inner: Arc::new(Registry { caps, held: Mutex::default() }) }
    }

    /// Takes a slot for `principal`'s credential and workspace, held by a `hold`, and counts it
    /// in the `axp_streams_open` gauge. Errors: 429 `rate_limit_exceeded` with `Retry-After`
    /// when either is at its cap (nothing is taken).
    pub(crate) fn acquire(&self, principal: &Principal, hold: Hold) -> Result<StreamSlot, ApiError> {
        let (key, workspace) = (principal.actor, principal.tenant.workspace_id);
        let caps = self.inner.caps;
        let mut held = self.inner.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = full(&mut held.keys, &key, caps.per_key) {
            if !std::mem::replace(&mut count.logged, true) {
                tracing::warn!(?key, %workspace, cap = caps.per_key, "stream cap per key reached; refusing (429)");
            }
            return Err(refused("API key", "streams_per_key", caps.per_key));
        }
        if let Some(count) = full(&mut held.workspaces, &workspace, caps.per_workspace) {
            if !std::mem::replace(&mut count.logged, true) {
                tracing::warn!(%workspace, cap = caps.per_workspace, "stream cap per workspace reached; refusing (429)");
            }
            return Err(refused("workspace", "streams_per_workspace", caps.per_workspace));
        }
        held.keys.entry(key).or_default().open += 1;
        held.workspaces.entry(workspace).or_default().open += 1;
        metrics::gauge!(STREAMS_OPEN, "kind" => hold.label()).increment(1);
        Ok(StreamSlot { registry: self.inner.clone(), key, workspace, hold })
    }

    /// Slots open for `key` and for `workspace` (for tests).
    #[cfg(test)]
    fn open(&self, key: &Actor, workspace: &WorkspaceId) -> (usize, usize) {
        let held = self.inner.held.lock().unwrap();
        let of = |c: Option<&Count>| c.map_or(0, |c| c.open);
        (of(held.keys.get(key)), of(held.workspaces.get(workspace)))
    }
}

/// The count of `id` when it is at `cap` (`0`: no cap).
fn full<'m, K: Hash + Eq>(map: &'m mut HashMap<K, Count>, id: &K, cap: usize) -> Option<&'m mut Count> {
    map.get_mut(id).filter(|c| cap > 0 && c.open >= cap)
}

fn refused(holder: &str, limit: &str, cap: usize) -> ApiError {
    ApiError::new(
        ErrorCode::RateLimitExceeded,
        format!("this {holder} already has {cap} open streams or waiting claims; close one or retry later"),
    )
    .with_details(json!({"limit": limit, "max": cap}))
    .with_retry_after(RETRY_AFTER_SECONDS.into())
}

/// Gives one slot of `id` back, forgetting the entry at zero.
fn release<K: Hash + Eq>(map: &mut HashMap<K, Count>, id: K) {
    if let Entry::Occupied(mut e) = map.entry(id) {
        e.get_mut().open -= 1;
        if e.get().open == 0 {
            e.remove();
        }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut held = self.registry.held.lock().unwrap_or_else(|e| e.into_inner());
        release(&mut held.keys, self.key);
        release(&mut held.workspaces, self.workspace);
        metrics::gauge!(STREAMS_OPEN, "kind" => self.hold.label()).decrement(1);
    }
}

#[cfg(test)]
mod tests {
    use axp_core::AgentAddress;
    use axp_core::access::Roles;
    use axp_core::ids::{ApiKeyId, OrgId, ServiceAccountId};
    use axp_store::Tenant;

    use super::*;

    fn principal(workspace: WorkspaceId) -> Principal {
        Principal {
            tenant: Tenant {
                org_id: OrgId::new(),
                workspace_id: workspace,
                org_slug: "o".into(),
                workspace_slug: "w".into(),
            },
            actor: Actor::ServiceAccount { id: ServiceAccountId::new(), key_id: ApiKeyId::new() },
            agent_address: AgentAddress::from_trusted("agent://o/w/a".into()),
            roles: Roles::default(),
            grants: Vec::new(),
        }
    }

    #[test]
    fn a_key_at_its_cap_is_refused_and_a_dropped_slot_frees_one() {
        let slots = StreamSlots::new(StreamCaps { per_key: 2, per_workspace: 10 });
        let ws = WorkspaceId::new();
        let (a, b) = (principal(ws), principal(ws));
        let first = slots.acquire(&a, Hold::Stream).unwrap();
        let _second = slots.acquire(&a, Hold::Stream).unwrap();
        let err = slots.acquire(&a, Hold::Stream).err().expect("the third is over the cap");
        let response = axum::response::IntoResponse::into_response(err);
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], RETRY_AFTER_SECONDS.to_string().as_str());
        let _other = slots.acquire(&b, Hold::Stream).expect("another key still has room");
        assert_eq!(slots.open(&a.actor, &ws), (2, 3));
        drop(first);
        assert_eq!(slots.open(&a.actor, &ws), (1, 2));
        let _again = slots.acquire(&a, Hold::Stream).expect("a freed slot is taken again");
    }

    #[test]
    fn a_workspace_at_its_cap_is_refused_for_every_key() {
        let slots = StreamSlots::new(StreamCaps { per_key: 10, per_workspace: 2 });
        let ws = WorkspaceId::new();
        let _a = slots.acquire(&principal(ws), Hold::Stream).unwrap();
        let _b = slots.acquire(&principal(ws), Hold::Stream).unwrap();
        assert!(slots.acquire(&principal(ws), Hold::Stream).is_err());
        let _elsewhere = slots
            .acquire(&principal(WorkspaceId::new()), Hold::LongPoll)
            .expect("other workspaces are apart");
    }

    #[test]
    fn zero_means_no_cap_and_entries_are_forgotten_at_zero() {
        let slots = StreamSlots::new(StreamCaps { per_key: 0, per_workspace: 0 });
        let p = principal(WorkspaceId::new());
        let held: Vec<_> = (0..100).map(|_| slots.acquire(&p, Hold::LongPoll).unwrap()).collect();
        drop(held);
        assert_eq!(slots.open(&p.actor, &p.tenant.workspace_id), (0, 0));
        assert!(slots.inner.held.lock().unwrap().keys.is_empty());
    }
}
