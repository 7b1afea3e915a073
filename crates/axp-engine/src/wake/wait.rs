//! The one way a background loop waits: until its next item is due, a commit wakes it, its
//! fallback interval passes, or it is cancelled ([`wait_until`]).

use std::future::Future;
use std::time::Duration;

use axp_core::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

/// Why [`wait_until`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// The clock reached the `due` time.
    Due,
    /// The `woken` future finished (a commit touched what the caller watches).
    Woken,
    /// The `fallback` interval passed with nothing else happening: look again anyway (a
    /// wake-up from another replica may have been lost).
    Fallback,
    /// `cancel` was cancelled: stop.
    Cancelled,
}

/// Waits until the first of:
///
/// - `due`: a wall-clock instant (milliseconds since the Unix epoch), awaited through
///   [`Clock::sleep_until`], so a [`ManualClock`](crate::ManualClock) drives it in tests. An
///   instant already past is due at once. `None`: nothing is due.
/// - `woken`: typically [`Subscription::changed`](crate::Subscription::changed).
/// - `fallback`: a monotonic interval (tokio time, not the [`Clock`]) counted from the call.
///   `None`: no fallback.
/// - `cancel`.
///
/// and says which. When several are ready at once the order is `Cancelled`, `Due`,
/// `Fallback`, `Woken`: shutdown is never put off by a timer, and a fallback asks for a more
/// thorough look than a wake-up.
///
/// Cancellation safety: the future holds nothing but its timers and `woken`, so dropping it
/// loses nothing if `woken` is itself cancellation safe (as `Subscription::changed` is: a commit
/// not yet observed stays unseen until the next `mark_seen`).
pub async fn wait_until(
    clock: &dyn Clock,
    due: Option<Timestamp>,
    woken: impl Future<Output = ()>,
    cancel: &CancellationToken,
    fallback: Option<Duration>,
) -> Wake {
    let due = async {
        match due {
            Some(t) => clock.sleep_until(t).await,
            None => std::future::pending().await,
        }
    };
    let fallback = async {
        match fallback {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        () = cancel.cancelled() => Wake::Cancelled,
        () = due => Wake::Due,
        () = fallback => Wake::Fallback,
        () = woken => Wake::Woken,
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::Poll;

    use futures::poll;
    use tokio::sync::Notify;

    use super::*;
    use crate::clock::ManualClock;

    const START: Timestamp = Timestamp::from_millis(1_000_000);
    const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

    #[tokio::test]
    async fn due_fires_at_the_due_time_and_not_before() {
        let (clock, cancel) = (ManualClock::new(START), CancellationToken::new());
        let due = START.plus_seconds(5);
        let mut wait = pin!(wait_until(&clock, Some(due), std::future::pending(), &cancel, HOUR));
        assert!(poll!(wait.as_mut()).is_pending());
        clock.set(Timestamp::from_millis(due.as_millis() - 1));
        assert!(poll!(wait.as_mut()).is_pending());
        clock.set(due);
        assert_eq!(poll!(wait.as_mut()), Poll::Ready(Wake::Due));
    }

    #[tokio::test]
    async fn a_past_due_time_is_due_at_once() {
        let (clock, cancel) = (ManualClock::new(START), CancellationToken::new());
        let wait = wait_until(&clock, Some(START.plus_seconds(-1)), std::future::pending(), &cancel, None);
        assert_eq!(poll!(pin!(wait)), Poll::Ready(Wake::Due));
    }

    #[tokio::test]
    async fn a_wake_up_returns_early() {
        let (clock, cancel, notify) = (ManualClock::new(START), CancellationToken::new(), Notify::new());
        let due = Some(START.plus_seconds(60));
        let mut wait = pin!(wait_until(&clock, due, notify.notified(), &cancel, HOUR));
        assert!(poll!(wait.as_mut()).is_pending());
        notify.notify_waiters();
        assert_eq!(poll!(wait.as_mut()), Poll::Ready(Wake::Woken));
    }

    #[tokio::test]
    async fn cancel_returns_at_once_and_wins_over_everything_ready() {
        let (clock, cancel) = (ManualClock::new(START), CancellationToken::new());
        let mut wait = pin!(wait_until(&clock, None, std::future::pending(), &cancel, HOUR));
        assert!(poll!(wait.as_mut()).is_pending());
        cancel.cancel();
        assert_eq!(poll!(wait.as_mut()), Poll::Ready(Wake::Cancelled));

        let wait = wait_until(&clock, Some(START), std::future::ready(()), &cancel, Some(Duration::ZERO));
        assert_eq!(poll!(pin!(wait)), Poll::Ready(Wake::Cancelled));
    }

    #[tokio::test(start_paused = true)]
    async fn fallback_fires_after_its_interval() {
        let (clock, cancel) = (ManualClock::new(START), CancellationToken::new());
        let started = tokio::time::Instant::now();
        let wake = wait_until(
            &clock,
            Some(START.plus_seconds(60)),
            std::future::pending(),
            &cancel,
            Some(Duration::from_secs(5)),
        )
        .await;
        assert_eq!(wake, Wake::Fallback);
        assert_eq!(started.elapsed(), Duration::from_secs(5), "paused time: exactly the interval");
        assert_eq!(clock.now(), START, "the fallback runs on tokio time, not the clock");
    }

    #[tokio::test(start_paused = true)]
    async fn without_fallback_or_due_only_a_wake_up_or_cancel_ends_the_wait() {
        let (clock, cancel) = (ManualClock::new(START), CancellationToken::new());
        let mut wait = pin!(wait_until(&clock, None, std::future::pending(), &cancel, None));
        tokio::time::advance(Duration::from_secs(86_400)).await;
        clock.advance_seconds(86_400);
        assert!(poll!(wait.as_mut()).is_pending());
        cancel.cancel();
        assert_eq!(wait.await, Wake::Cancelled);
    }
}
