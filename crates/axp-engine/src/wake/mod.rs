//! The wake-up path: how a commit reaches whoever waits for it.
//!
//! - [`notifier`]: a backend's commits (through its `CommitListener`) bump a version per
//!   [`axp_store::Topic`]; SSE streams, the scheduler and the dispatcher subscribe.
//! - [`presence`]: which agents have a stream open on this server; the [`crate::Ledger`] hands a
//!   new intent to such an agent inside its create transaction.
//! - [`wait`]: [`wait_until`], the one way those loops wait: until due, woken, a fallback
//!   interval, or cancelled.
//!
//! A wake-up carries no data: waiters re-read the store by cursor, so a lost or merged wake-up
//! delays and never loses anything. Stores never call in here except to report commits.

pub mod notifier;
pub mod presence;
pub mod wait;

pub use notifier::{Notifier, Subscription};
pub use presence::{Presence, PresenceGuard};
pub use wait::{Wake, wait_until};
