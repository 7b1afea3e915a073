//! [`Presence`]: which agents have intent streams open on this server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axp_core::WorkspaceId;

/// Which agents have intent streams open on this server, and how many. In memory and per
/// server: with several replicas each knows its own. The agents API reports it as the
/// connection state, and the ledger reads it to hand a new intent to a connected stream inside
/// its create transaction. Cheap to clone.
#[derive(Clone, Default)]
pub struct Presence {
    open: Arc<Mutex<HashMap<(WorkspaceId, String), usize>>>,
}

impl Presence {
    /// Records an open stream of `address` until the guard is dropped.
    pub fn enter(&self, workspace: WorkspaceId, address: &str) -> PresenceGuard {
        let key = (workspace, address.to_owned());
        *self.open.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_insert(0) += 1;
        PresenceGuard { presence: self.clone(), key }
    }

    /// Open streams of an agent.
    pub fn streams(&self, workspace: WorkspaceId, address: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&(workspace, address.to_owned())).copied().unwrap_or(0)
    }
}

/// One open agent stream; dropping it ends the count.
pub struct PresenceGuard {
    presence: Presence,
    key: (WorkspaceId, String),
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let mut open = self.presence.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_open_streams_until_their_guards_drop() {
        let presence = Presence::default();
        let ws = WorkspaceId::new();
        let a = presence.enter(ws, "agent://o/w/a");
        let b = presence.enter(ws, "agent://o/w/a");
        assert_eq!(presence.streams(ws, "agent://o/w/a"), 2);
        assert_eq!(presence.streams(WorkspaceId::new(), "agent://o/w/a"), 0, "per workspace");
        drop(a);
        assert_eq!(presence.streams(ws, "agent://o/w/a"), 1);
        drop(b);
        assert_eq!(presence.streams(ws, "agent://o/w/a"), 0);
    }
}
