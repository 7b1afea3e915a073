//! When to try a failed push again: a schedule of delays, with jitter, honouring `Retry-After`.

use std::time::Duration;

use axp_core::Timestamp;
use rand::Rng;

/// Longest `Retry-After` honoured, in seconds; a receiver cannot park a delivery for longer.
pub const RETRY_AFTER_CAP_SECONDS: u64 = 3600;

/// The delay before each attempt: the first is usually `0s` (immediately), the rest the
/// backoff; the number of entries is the number of attempts before dead-lettering.
///
/// ```
/// use axp_engine::delivery::RetrySchedule;
/// let s = RetrySchedule::parse("0s,30s,2m,10m").unwrap();
/// assert_eq!(s.attempts(), 4);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl Default for RetrySchedule {
    /// Immediately, then after 30 s, 120 s and 600 s (DESIGN.md, contract §5.4).
    fn default() -> Self {
        Self([0, 30, 120, 600].into_iter().map(Duration::from_secs).collect())
    }
}

impl RetrySchedule {
    /// Parses `AXP_PUSH_RETRY_SCHEDULE`: comma-separated delays with an `ms`, `s`, `m` or `h`
    /// suffix (a bare number is seconds), at least one.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut delays = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (digits, unit_ms) = if let Some(n) = item.strip_suffix("ms") {
                (n, 1)
            } else if let Some(n) = item.strip_suffix('s') {
                (n, 1000)
            } else if let Some(n) = item.strip_suffix('m') {
                (n, 60_000)
            } else if let Some(n) = item.strip_suffix('h') {
                (n, 3_600_000)
            } else {
                (item, 1000)
            };
            let n: u64 = digits
                .trim()
                .parse()
                .map_err(|_| format!("retry schedule: {item:?} is not a duration like 30s"))?;
            delays.push(Duration::from_millis(n.saturating_mul(unit_ms)));
        }
        if delays.is_empty() {
            return Err("retry schedule: at least one delay is needed".into());
        }
        Ok(Self(delays))
    }

    /// How many attempts are made before dead-lettering.
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32
    }

    /// After attempt `attempt` (1-based) failed at `now`: when to try again, or `None` when the
    /// schedule is spent. The scheduled delay gets ±20 % jitter; a `Retry-After` (seconds,
    /// capped at [`RETRY_AFTER_CAP_SECONDS`]) longer than it wins.
    pub fn next(&self, attempt: u32, retry_after: Option<u64>, now: Timestamp) -> Option<Timestamp> {
        let base = *self.0.get(attempt as usize)?;
        let base_ms = base.as_millis() as i64;
        let jittered =
            if base_ms == 0 { 0 } else { base_ms + rand::rng().random_range(-(base_ms / 5)..=base_ms / 5) };
        let floor = retry_after.map_or(0, |s| s.min(RETRY_AFTER_CAP_SECONDS) as i64 * 1000);
        Some(Timestamp::from_millis(now.as_millis() + jittered.max(floor)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_000_000);

    #[test]
    fn default_is_immediately_then_30_120_600() {
        let s = RetrySchedule::default();
        assert_eq!(s.attempts(), 4);
        for (attempt, secs) in [(1u32, 30i64), (2, 120), (3, 600)] {
            let at = s.next(attempt, None, NOW).unwrap().as_millis() - NOW.as_millis();
            let (lo, hi) = (secs * 800, secs * 1200);
            assert!((lo..=hi).contains(&at), "attempt {attempt}: {at} ms not within ±20 % of {secs} s");
        }
        assert_eq!(s.next(4, None, NOW), None, "dead-letter after the fourth attempt");
    }

    #[test]
    fn retry_after_wins_when_longer_and_is_capped() {
        let s = RetrySchedule::parse("0s,1s").unwrap();
        assert_eq!(s.next(1, Some(90), NOW), Some(Timestamp::from_millis(NOW.as_millis() + 90_000)));
        assert_eq!(
            s.next(1, Some(1_000_000), NOW),
            Some(Timestamp::from_millis(NOW.as_millis() + 3_600_000))
        );
        let short = s.next(1, Some(0), NOW).unwrap().as_millis() - NOW.as_millis();
        assert!((800..=1200).contains(&short));
    }

    #[test]
    fn parses_units() {
        let s = RetrySchedule::parse("0s, 250ms, 2m, 1h, 5").unwrap();
        assert_eq!(s.0, [0, 250, 120_000, 3_600_000, 5_000].map(Duration::from_millis).to_vec());
        assert!(RetrySchedule::parse("").is_err());
        assert!(RetrySchedule::parse("soon").is_err());
    }
}
