//! axp's background machinery, independent of HTTP.
//!
//! - [`clock`]: the only place that reads the wall clock ([`SystemClock`]), and a
//!   [`ManualClock`] tests move by hand.
//! - [`ledger`]: the write rules of every aggregate, once, over the storage traits; a
//!   [`Ledger`] over a backend is the server's [`axp_store::Store`].
//! - [`retention`]: the pruner that removes finished work past retention, and the archive.
//! - [`scheduler`]: fires durable timers (deadlines, lease expiry) when due.
//! - [`schemas`]: the compiled payload schemas of each workspace, cached until one changes.
//! - [`delivery`]: the push dispatcher: signing, retries, dead letters.
//! - [`outbound`]: the SSRF guard for every outbound URL.
//! - [`metrics`]: the engine's series (intents, pushes, timer lag) and the `intent_type` label
//!   allow-list.
//! - [`wake`]: the wake-up path: the [`Notifier`] that turns commits into wake-ups, the
//!   [`Presence`] of agent streams, and [`wait_until`], how the loops (and the server's
//!   streams) wait: until due, woken, a fallback interval, or cancelled.

pub mod clock;
pub mod delivery;
pub mod ledger;
pub mod metrics;
pub mod outbound;
pub mod retention;
pub mod scheduler;
pub mod schemas;
pub mod usage;
pub mod wake;

pub use clock::{Clock, ManualClock, SystemClock};
pub use delivery::{Dispatcher, DispatcherOptions, RetrySchedule};
pub use ledger::Ledger;
pub use metrics::IntentTypeLabels;
pub use outbound::OutboundPolicy;
pub use retention::{Pruner, RetentionOptions};
pub use scheduler::Scheduler;
pub use schemas::SchemaCache;
pub use usage::UsageMeter;
pub use wake::{Notifier, Presence, PresenceGuard, Subscription, Wake, wait_until};
