//! [`AppState`]: what every handler can reach.

use std::sync::Arc;

use axp_engine::{Clock, Notifier};
use axp_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Options};

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Commit wake-ups for SSE streams.
    pub notifier: Notifier,
    /// The only source of time.
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the server shuts down; open streams end on it.
    pub shutdown: CancellationToken,
    /// Configuration.
    pub config: Arc<Config>,
    /// Background-work options (outbound policy, retry schedule).
    pub options: Arc<Options>,
    /// Open agent streams, for the agents API.
    pub presence: Presence,
    /// Intent event reads shared by SSE streams woken by the same commit.
    pub(crate) reads: crate::sse::SharedReads,
}

/// Which agents have intent streams open on this server, and how many: the agents API's
/// connection state. In memory and per server: with several replicas each reports its own.
#[derive(Clone, Default)]
pub struct Presence {
    open: Arc<std::sync::Mutex<std::collections::HashMap<(axp_core::WorkspaceId, String), usize>>>,
}

impl Presence {
    /// Records an open stream until the guard is dropped.
    pub fn enter(&self, workspace: axp_core::WorkspaceId, address: &str) -> PresenceGuard {
        let key = (workspace, address.to_owned());
        *self.open.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_insert(0) += 1;
        PresenceGuard { presence: self.clone(), key }
    }

    /// Open streams of an agent.
    pub fn streams(&self, workspace: axp_core::WorkspaceId, address: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&(workspace, address.to_owned())).copied().unwrap_or(0)
    }
}

/// One open agent stream; dropping it ends the count.
pub struct PresenceGuard {
    presence: Presence,
    key: (axp_core::WorkspaceId, String),
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
