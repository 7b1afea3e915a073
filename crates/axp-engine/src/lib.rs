//! axp's background machinery, independent of HTTP.
//!
//! - [`clock`]: the only place that reads the wall clock ([`SystemClock`]), and a
//!   [`ManualClock`] tests move by hand.
//! - [`ledger`]: the write rules of every aggregate, once, over the storage traits; a
//!   [`Ledger`] over a backend is the server's [`axp_store::Store`].
//! - [`notifier`]: turns store commits into wake-ups for SSE handlers and the scheduler, keyed
//!   by topic.
//! - [`scheduler`]: fires durable timers (deadlines, lease expiry) when due.
//! - [`delivery`]: the push dispatcher: signing, retries, dead letters.
//! - [`outbound`]: the SSRF guard for every outbound URL.
//! - [`wake`]: [`wait_until`], how those loops (and the server's streams) wait: until due,
//!   woken, a fallback interval, or cancelled.

pub mod clock;
pub mod delivery;
pub mod ledger;
pub mod notifier;
pub mod outbound;
mod presence;
pub mod scheduler;
pub mod wake;

pub use clock::{Clock, ManualClock, SystemClock};
pub use delivery::{Dispatcher, DispatcherOptions, RetrySchedule};
pub use ledger::Ledger;
pub use notifier::{Notifier, Subscription};
pub use outbound::OutboundPolicy;
pub use presence::{Presence, PresenceGuard};
pub use scheduler::Scheduler;
pub use wake::{Wake, wait_until};
