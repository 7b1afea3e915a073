//! Wall-clock time behind a trait, so durable timers and timestamps can be driven by tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axp_core::Timestamp;
use tokio::sync::watch;

/// A boxed future, as returned by [`Clock::sleep_until`].
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of the current time. Durable timers are wall-clock, so the engine reads time only
/// through this trait (STYLE.md §6).
pub trait Clock: Send + Sync + 'static {
    /// Now, in milliseconds since the Unix epoch.
    fn now(&self) -> Timestamp;

    /// Resolves once [`Clock::now`] has reached `t`.
    fn sleep_until(&self, t: Timestamp) -> Sleep<'_>;
}

/// The real wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the wall clock
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_millis(ms)
    }

    fn sleep_until(&self, t: Timestamp) -> Sleep<'_> {
        Box::pin(async move {
            // Re-check after waking: the wall clock may have been adjusted meanwhile.
            loop {
                let left = t.as_millis() - self.now().as_millis();
                if left <= 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(left as u64)).await;
            }
        })
    }
}

/// A clock that moves only when told to. Clones share the same time, and sleepers wake when
/// it is moved past their instant.
#[derive(Clone, Debug)]
pub struct ManualClock {
    ms: Arc<watch::Sender<i64>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self { ms: Arc::new(watch::channel(start.as_millis()).0) }
    }

    /// Moves time forward by `seconds`.
    pub fn advance_seconds(&self, seconds: i64) {
        self.ms.send_modify(|ms| *ms += seconds.saturating_mul(1000));
    }

    /// Sets the time.
    pub fn set(&self, t: Timestamp) {
        self.ms.send_replace(t.as_millis());
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(*self.ms.borrow())
    }

    fn sleep_until(&self, t: Timestamp) -> Sleep<'_> {
        let mut rx = self.ms.subscribe();
        Box::pin(async move {
            // `wait_for` checks the current value first, then every change.
            let _ = rx.wait_for(|ms| *ms >= t.as_millis()).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_millis(1_000));
        let shared = clock.clone();
        assert_eq!(clock.now(), Timestamp::from_millis(1_000));
        shared.advance_seconds(2);
        assert_eq!(clock.now(), Timestamp::from_millis(3_000));
    }

    fn ready(sleep: &mut Sleep<'_>) -> bool {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        sleep.as_mut().poll(&mut cx).is_ready()
    }

    #[test]
    fn manual_sleepers_wake_when_time_passes_their_instant() {
        let clock = ManualClock::new(Timestamp::from_millis(0));
        let mut sleep = clock.sleep_until(Timestamp::from_millis(5_000));
        assert!(!ready(&mut sleep));
        clock.advance_seconds(4);
        assert!(!ready(&mut sleep));
        clock.advance_seconds(1);
        assert!(ready(&mut sleep));
        assert!(ready(&mut clock.sleep_until(Timestamp::from_millis(1))), "a past instant is ready at once");
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > Timestamp::from_millis(1_577_836_800_000));
    }
}
