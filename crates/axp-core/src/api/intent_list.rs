//! Listing intents, `GET /v1/intents` (contract §5.8, plus axp's filters and keyset pages,
//! `GET /openapi.json`): the query, the order, and the opaque `next_cursor`.
//!
//! A listing is ordered by `(created_at, intent_id)`, ascending (oldest first, the SDK's
//! default) or descending (newest first). A cursor names the last row of a page and the order,
//! so the next page starts right after that row: rows never repeat or go missing across pages,
//! even when rows share a `created_at` or new intents arrive meanwhile (a walk sees every
//! intent that existed when it started; one created later is seen only if it sorts after the
//! cursor).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::ids::IntentId;
use crate::intent::Intent;
use crate::status::Status;
use crate::time::Timestamp;

/// Which way a listing runs by `(created_at, intent_id)`: `asc` (oldest first, the default)
/// or `desc` (newest first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Oldest first.
    #[default]
    Asc,
    /// Newest first.
    Desc,
}

impl SortOrder {
    /// `asc` or `desc`, as the `order` query parameter spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

impl fmt::Display for SortOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SortOrder {
    type Err = String;

    /// `asc` or `desc` (case-insensitive); otherwise an error message naming both.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(format!("unknown order {s:?}; expected asc or desc")),
        }
    }
}

/// An intent's place in a listing: its sort key `(created_at, intent_id)`. `created_at` has the
/// millisecond precision of [`Timestamp`], which is what the stores order by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntentPosition {
    /// When the intent was created.
    pub created_at: Timestamp,
    /// Its id: orders intents created in the same millisecond.
    pub intent_id: IntentId,
}

impl IntentPosition {
    /// The position of `intent`.
    pub fn of(intent: &Intent) -> Self {
        Self { created_at: intent.created_at, intent_id: intent.intent_id }
    }
}

/// A `next_cursor` of `GET /v1/intents`: the last row of a page and the page's order. On the
/// wire it is opaque (URL-safe base64 without padding); clients pass it back unchanged.
///
/// ```
/// use axp_core::api::{IntentCursor, IntentPosition, SortOrder};
/// use axp_core::{IntentId, Timestamp};
///
/// let cursor = IntentCursor {
///     order: SortOrder::Desc,
///     position: IntentPosition { created_at: Timestamp::from_millis(1_780_000_000_000), intent_id: IntentId::new() },
/// };
/// assert_eq!(IntentCursor::decode(&cursor.encode()), Some(cursor));
/// assert_eq!(IntentCursor::decode("not-a-cursor"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IntentCursor {
    /// The order of the listing it continues.
    pub order: SortOrder,
    /// The last row of the page it ends: the next page starts strictly after it.
    pub position: IntentPosition,
}

/// The version tag of the cursor text, so its layout can change without misreading old ones.
const CURSOR_VERSION: &str = "i1";

impl IntentCursor {
    /// The wire form: base64url of `i1:<asc|desc>:<created_at ms>:<intent id>`.
    pub fn encode(&self) -> String {
        let text = format!(
            "{CURSOR_VERSION}:{}:{}:{}",
            self.order,
            self.position.created_at.as_millis(),
            self.position.intent_id
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    /// Reads a cursor [`encode`](Self::encode) wrote; `None` for anything else.
    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut parts = text.split(':');
        let (Some(CURSOR_VERSION), Some(order), Some(ms), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let order = match order {
            "asc" => SortOrder::Asc,
            "desc" => SortOrder::Desc,
            _ => return None,
        };
        Some(Self {
            order,
            position: IntentPosition {
                created_at: Timestamp::from_millis(ms.parse().ok()?),
                intent_id: id.parse().ok()?,
            },
        })
    }
}

/// The query of `GET /v1/intents`: every filter given must match. The empty query is the
/// SDK's call: the 50 oldest intents.
///
/// ```
/// use axp_core::api::{ListIntentsQuery, SortOrder};
/// use axp_core::Status;
///
/// let query = ListIntentsQuery {
///     statuses: vec![Status::Submitted, Status::Delivered],
///     order: Some(SortOrder::Desc),
///     limit: Some(20),
///     ..Default::default()
/// };
/// assert_eq!(
///     query.pairs(),
///     [("status", "SUBMITTED,DELIVERED".to_owned()), ("order", "desc".to_owned()), ("limit", "20".to_owned())]
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListIntentsQuery {
    /// Only intents in one of these statuses (empty: any).
    pub statuses: Vec<Status>,
    /// Only intents sent to this agent address.
    pub to_agent: Option<String>,
    /// Only intents sent by this agent address.
    pub from_agent: Option<String>,
    /// Only intents of this type.
    pub intent_type: Option<String>,
    /// Only intents created at or after this time (inclusive).
    pub created_after: Option<Timestamp>,
    /// Only intents created at or before this time (inclusive).
    pub created_before: Option<Timestamp>,
    /// Oldest or newest first (the server's default: oldest first; with a `cursor`, the
    /// cursor's order).
    pub order: Option<SortOrder>,
    /// At most this many per page (1 to 500; the server's default is 50).
    pub limit: Option<u32>,
    /// A previous page's `next_cursor`: continue after its last row.
    pub cursor: Option<String>,
}

impl ListIntentsQuery {
    /// The query string's pairs, in a fixed order, for the parameters that are set.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let statuses = (!self.statuses.is_empty())
            .then(|| self.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","));
        [
            ("status", statuses),
            ("to_agent", self.to_agent.clone()),
            ("from_agent", self.from_agent.clone()),
            ("intent_type", self.intent_type.clone()),
            ("created_after", self.created_after.map(|t| t.to_string())),
            ("created_before", self.created_before.map(|t| t.to_string())),
            ("order", self.order.map(|o| o.as_str().to_owned())),
            ("limit", self.limit.map(|l| l.to_string())),
            ("cursor", self.cursor.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn cursors_round_trip(desc: bool, ms: i64, id: u128) {
            let cursor = IntentCursor {
                order: if desc { SortOrder::Desc } else { SortOrder::Asc },
                position: IntentPosition {
                    created_at: Timestamp::from_millis(ms),
                    intent_id: IntentId(uuid::Uuid::from_u128(id)),
                },
            };
            let wire = cursor.encode();
            prop_assert!(wire.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{wire}");
            prop_assert_eq!(IntentCursor::decode(&wire), Some(cursor));
        }

        #[test]
        fn arbitrary_text_is_no_cursor_or_a_valid_one(raw in ".{0,80}") {
            if let Some(cursor) = IntentCursor::decode(&raw) {
                prop_assert_eq!(IntentCursor::decode(&cursor.encode()), Some(cursor));
            }
        }
    }

    #[test]
    fn rejects_near_misses() {
        let ok = |text: &str| IntentCursor::decode(&URL_SAFE_NO_PAD.encode(text));
        let id = IntentId::new();
        assert!(ok(&format!("i1:desc:5:{id}")).is_some());
        for bad in [
            format!("i2:desc:5:{id}"),
            format!("i1:down:5:{id}"),
            format!("i1:desc:five:{id}"),
            "i1:desc:5:not-a-uuid".to_owned(),
            format!("i1:desc:5:{id}:extra"),
            "i1:desc:5".to_owned(),
        ] {
            assert_eq!(ok(&bad), None, "{bad}");
        }
        assert_eq!(IntentCursor::decode("!!!"), None, "not base64");
    }

    #[test]
    fn orders_parse_and_print() {
        assert_eq!("DESC".parse::<SortOrder>(), Ok(SortOrder::Desc));
        assert_eq!("asc".parse::<SortOrder>(), Ok(SortOrder::Asc));
        assert!("newest".parse::<SortOrder>().is_err());
        assert_eq!(SortOrder::default().to_string(), "asc");
    }
}
