//! Timestamps: milliseconds since the Unix epoch, RFC 3339 UTC on the wire.
//!
//! Stored as an integer (milliseconds) so both stores compare and index them cheaply; written on
//! the wire as `2026-02-28T00:00:10.123Z` (contract §1.3). Reading the current time is not this
//! crate's business: callers pass `now` in, so tests can drive time with a manual clock.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// The wire form (contract §1.3): RFC 3339 in UTC with exactly three fractional digits.
const WIRE: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// A point in time with millisecond precision (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = DateTime))]
pub struct Timestamp(i64);

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant plus `seconds` (saturating).
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// Parses an RFC 3339 date-time with any offset (`2026-02-28T00:00:10Z`,
    /// `2026-02-28T02:00:10+02:00`); sub-millisecond digits are truncated.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let dt = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok().map(Self)
    }

    fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with exactly three fractional digits: `2026-02-28T00:00:10.123Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Formatted into a buffer on the stack: a timestamp is written for every event and
        // access-log line, and `format` would allocate a `String` each time. `time` (without
        // its `large-dates` feature) spans years −9999 to 9999, so the longest output,
        // `-9999-12-31T23:59:59.999Z`, is 25 bytes.
        let mut buf = [0u8; 32];
        let mut out = &mut buf[..];
        let n = self.to_datetime().format_into(&mut out, WIRE).map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 date-time: {s}")))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn formats_utc_with_millis() {
        let t = Timestamp::from_millis(1_772_236_810_123);
        assert_eq!(t.to_string(), "2026-02-28T00:00:10.123Z");
    }

    #[test]
    fn parses_offsets() {
        let a = Timestamp::parse_rfc3339("2026-02-28T02:00:10+02:00").unwrap();
        let b = Timestamp::parse_rfc3339("2026-02-28T00:00:10Z").unwrap();
        assert_eq!(a, b);
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
    }

    proptest! {
        #[test]
        fn round_trips(ms in 0i64..4_102_444_800_000) {
            let t = Timestamp::from_millis(ms);
            prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Some(t));
        }

        /// Over every instant `time` can represent (years −9999 to 9999) and past it (the
        /// epoch then), the stack buffer gives what `time`'s allocating `format` gives.
        #[test]
        fn formats_as_time_does(ms in -400_000_000_000_000i64..400_000_000_000_000) {
            let t = Timestamp::from_millis(ms);
            prop_assert_eq!(t.to_string(), t.to_datetime().format(WIRE).unwrap());
        }
    }
}
