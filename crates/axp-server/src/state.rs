//! [`AppState`]: what every handler can reach.

use std::ops::Deref;
use std::sync::Arc;

use axp_engine::{Clock, Notifier, Presence, SchemaCache, UsageMeter};
use axp_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Options};

/// Shared by every handler: one [`Shared`] behind an `Arc`, so a clone (axum clones the state
/// for every middleware layer and extractor of every request) is one reference-count increment,
/// not one per field (measured: cloning and dropping the fields one by one, the cancellation
/// token's under a mutex, took about 5% of the request threads' CPU in P1). Fields are read
/// through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the state every handler shares.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
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
    /// Quota use, counted in memory and flushed periodically (`axp_engine::usage`).
    pub meter: Arc<UsageMeter>,
    /// Intent event reads shared by SSE streams woken by the same commit.
    pub(crate) reads: crate::sse::SharedReads,
    /// Open SSE streams and waiting claims per key and workspace, against their caps.
    pub(crate) streams: crate::streams::StreamSlots,
    /// The compiled payload schemas of each workspace, for checking creates.
    pub schemas: Arc<SchemaCache>,
}
