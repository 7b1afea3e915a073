//! How an intent's event log is laid out in `intent_events`, for both backends.
//!
//! One row holds the events one write appended to one intent: a create's `intent.created` and
//! `intent.submitted` (seq 1 and 2, committed in the create's transaction as contract §3.1
//! requires) are one row, not two. A row is keyed by its first event's `seq`; its body is that
//! event's JSON object when it holds one event (the only layout rows written before this change
//! have, so they read back unchanged and need no migration), or a JSON array of its events in
//! `seq` order. Reads go through [`unpack_events`], which says which rows to read.
//!
//! An event is stored without what its row already says or what reads back the same when left
//! out: no `intent_id` (the row's key) and no `null` field (an absent `Option` reads as `None`).
//! That is about 70 bytes of each event's 400. Rows written with them read back the same.
//!
//! The body's JSON text is then compressed ([`crate::body_codec`]: zstd with a dictionary of
//! what events share; a quarter of the text for a create's row, under half for a single event);
//! bodies written as plain text read back too.

use axp_core::ids::IntentId;
use axp_core::{EventType, IntentEvent, Status, Timestamp, WaitingReason};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::body_codec::{self, Dictionary};
use crate::{Error, Result, to_json};

/// One row to write to `intent_events`.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// The intent the events belong to.
    pub intent_id: IntentId,
    /// The first event's `seq`: the row's key within the intent.
    pub seq: u64,
    /// The events' JSON, compressed (see the module doc): a BLOB in SQLite, `bytea` in
    /// PostgreSQL.
    pub body: Vec<u8>,
}

/// `events` as rows: each run of consecutive events of one intent with consecutive `seq`s
/// makes one row.
///
/// Errors: [`crate::Error::Internal`] if an event cannot be serialized.
pub fn pack_events(events: &[IntentEvent]) -> Result<Vec<EventRow>> {
    let mut rows = Vec::new();
    let mut start = 0;
    for end in 1..=events.len() {
        let run_goes_on = end < events.len()
            && events[end].intent_id == events[end - 1].intent_id
            && events[end].seq == events[end - 1].seq + 1;
        if run_goes_on {
            continue;
        }
        let run = &events[start..end];
        let json = row_json(run)?;
        let body = body_codec::encode(Dictionary::EVENTS, &json)?;
        rows.push(EventRow { intent_id: run[0].intent_id, seq: run[0].seq, body });
        start = end;
    }
    Ok(rows)
}

/// The JSON text of one row holding `run` (module doc): its one event's object, or an array
/// of them.
///
/// Errors: [`crate::Error::Internal`] if an event cannot be serialized.
pub(crate) fn row_json(run: &[IntentEvent]) -> Result<String> {
    match run {
        [one] => to_json(&Stored::of(one)),
        run => to_json(&run.iter().map(Stored::of).collect::<Vec<_>>()),
    }
}

/// An event as stored (module doc), serialized straight from the event: its fields but
/// `intent_id`, in the order of their names, with no `null` field. Rows written before went
/// through a JSON map (`serde_json::Value`), which sorts the keys, and gave these same bytes
/// (checked on every kind of event by `body_codec::training`'s tests); the dictionaries were
/// trained on them. The map's allocations and copies took about half of packing a create's
/// row (`bench/REPORT.md`, issue 16 tenth stop).
#[derive(Serialize)]
struct Stored<'a> {
    actor: &'a str,
    at: &'a Timestamp,
    details: &'a Map<String, Value>,
    event_type: &'a EventType,
    handler: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    human_task: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_with: Option<StoredPendingWith<'a>>,
    seq: u64,
    status: &'a Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_reason: Option<&'a WaitingReason>,
}

/// `pending_with` as stored: its keys in name order, as the JSON map had them.
#[derive(Serialize)]
struct StoredPendingWith<'a> {
    name: &'a str,
    #[serde(rename = "ref")]
    reference: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

impl<'a> Stored<'a> {
    /// Every field named, so that a field added to [`IntentEvent`] or [`axp_core::PendingWith`]
    /// does not compile until it is stored (or said not to be, as `intent_id` is).
    fn of(e: &'a IntentEvent) -> Self {
        let IntentEvent {
            intent_id: _,
            seq,
            event_type,
            status,
            waiting_reason,
            handler,
            actor,
            at,
            details,
            pending_with,
            human_task,
        } = e;
        Self {
            actor,
            at,
            details,
            event_type,
            handler,
            human_task: human_task.as_ref(),
            pending_with: pending_with.as_ref().map(|axp_core::PendingWith { kind, reference, name }| {
                StoredPendingWith { name, reference, kind }
            }),
            seq: *seq,
            status,
            waiting_reason: waiting_reason.as_ref(),
        }
    }
}

/// A stored event of `intent` read back: its `intent_id` put back when the row left it out.
fn read_back(intent: IntentId, mut value: Value) -> Result<IntentEvent> {
    if let Value::Object(fields) = &mut value {
        fields.entry("intent_id").or_insert_with(|| Value::String(intent.to_string()));
    }
    serde_json::from_value(value).map_err(|e| Error::Internal(format!("corrupt row: {e}")))
}

/// The events of `intent` with `seq > since` in `bodies`, ascending, at most `limit`.
///
/// `bodies` are the intent's rows, in `seq` order, whose first `seq` is at least the largest
/// first `seq` that is `<= since` (0 when there is none: every row), at most `limit + 1` of
/// them. Only that first row can hold events at or before `since`, so `limit + 1` rows always
/// hold `limit` newer events when the log has them.
///
/// Errors: [`crate::Error::Internal`] naming a corrupt row.
pub fn unpack_events<S: AsRef<[u8]>>(
    intent: IntentId,
    bodies: impl IntoIterator<Item = S>,
    since: u64,
    limit: u32,
) -> Result<Vec<IntentEvent>> {
    let limit = limit as usize;
    let mut events = Vec::new();
    for body in bodies {
        let stored = match body_codec::decode_json::<Value>(body.as_ref())? {
            Value::Array(run) => run,
            one => vec![one],
        };
        for value in stored {
            let event = read_back(intent, value)?;
            if event.seq > since {
                events.push(event);
            }
        }
        if events.len() >= limit {
            events.truncate(limit);
            break;
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use axp_core::intent::NewIntent;
    use axp_core::{AgentAddress, EventType, Timestamp};
    use proptest::prelude::*;

    use super::*;

    /// A create's two events, then `more` single-event appends, for one intent.
    fn log(more: u64) -> Vec<IntentEvent> {
        let scope = axp_core::address::AddressScope { org_slug: "acme", workspace_slug: "default" };
        let to = AgentAddress::parse("agent://acme/billing", &scope).unwrap();
        let from = AgentAddress::parse("agent://acme/caller", &scope).unwrap();
        let (_, mut events) = NewIntent::new("notify.message.v1", to, serde_json::Map::new()).into_intent(
            IntentId::new(),
            &from,
            Timestamp::from_millis(0),
        );
        let last = events.last().unwrap().clone();
        for seq in last.seq + 1..=last.seq + more {
            events.push(IntentEvent { seq, event_type: EventType::Delivered, ..last.clone() });
        }
        events
    }

    /// Rows as a backend stores them: one per write, the create's events together.
    fn stored(events: &[IntentEvent]) -> Vec<EventRow> {
        let mut rows = pack_events(&events[..2]).unwrap();
        for e in &events[2..] {
            rows.extend(pack_events(std::slice::from_ref(e)).unwrap());
        }
        rows
    }

    /// What a backend's query returns for `since` and `limit` ([`unpack_events`]).
    fn query(rows: &[EventRow], since: u64, limit: u32) -> Vec<&[u8]> {
        let floor = rows.iter().map(|r| r.seq).filter(|&s| s <= since).max().unwrap_or(0);
        rows.iter().filter(|r| r.seq >= floor).take(limit as usize + 1).map(|r| r.body.as_slice()).collect()
    }

    /// A row's JSON text, decompressed.
    fn text(row: &EventRow) -> String {
        String::from_utf8(body_codec::decode(&row.body).unwrap().into_owned()).unwrap()
    }

    #[test]
    fn a_create_is_one_row_that_reads_back_as_its_two_events() {
        let events = log(0);
        assert_eq!(events.len(), 2);
        let rows = pack_events(&events).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].seq, 1);
        assert!(text(&rows[0]).starts_with('['));
        let id = events[0].intent_id;
        assert_eq!(unpack_events(id, [&rows[0].body], 0, 10).unwrap(), events);
        assert_eq!(unpack_events(id, [&rows[0].body], 1, 10).unwrap(), events[1..]);
    }

    #[test]
    fn a_single_event_row_is_the_event_object_without_its_intent_id_or_nulls() {
        let events = log(1);
        let rows = pack_events(&events[2..]).unwrap();
        assert_eq!((rows.len(), rows[0].intent_id, rows[0].seq), (1, events[2].intent_id, 3));
        let json = text(&rows[0]);
        let Value::Object(fields) = serde_json::from_str(&json).unwrap() else {
            panic!("not an object: {json}")
        };
        assert!(!fields.contains_key("intent_id"), "{json}");
        assert!(fields.values().all(|v| !v.is_null()), "{json}");
        let full = serde_json::to_string(&events[2]).unwrap();
        assert!(json.len() + 60 < full.len(), "{json} vs {full}");
        assert!(
            rows[0].body.len() * 2 < json.len(),
            "stored compressed: {} bytes for {json}",
            rows[0].body.len()
        );
        assert_eq!(unpack_events(events[2].intent_id, [&rows[0].body], 0, 10).unwrap(), events[2..]);
    }

    #[test]
    fn rows_written_before_with_every_field_read_back_the_same() {
        let events = log(1);
        let id = events[0].intent_id;
        let create = serde_json::to_string(&events[..2]).unwrap();
        let single = serde_json::to_string(&events[2]).unwrap();
        assert_eq!(unpack_events(id, [&create, &single], 0, 10).unwrap(), events);
    }

    #[test]
    fn runs_break_at_another_intent_or_a_gap() {
        let (a, b) = (log(1), log(0));
        let mixed = vec![a[0].clone(), a[1].clone(), b[0].clone(), b[1].clone(), a[2].clone()];
        let rows = pack_events(&mixed).unwrap();
        let keys: Vec<_> = rows.iter().map(|r| (r.intent_id, r.seq)).collect();
        assert_eq!(keys, vec![(a[0].intent_id, 1), (b[0].intent_id, 1), (a[0].intent_id, 3)]);
        let gap = pack_events(&[a[0].clone(), a[2].clone()]).unwrap();
        assert_eq!(gap.len(), 2);
    }

    #[test]
    fn a_corrupt_row_is_an_error() {
        let id = IntentId::new();
        assert!(unpack_events(id, ["[{\"seq\":"], 0, 10).is_err());
        assert!(unpack_events(id, ["{}"], 0, 10).is_err());
    }

    proptest! {
        /// Any `since` and `limit` read from the stored rows give exactly the events after
        /// `since`, in order, at most `limit`, as one row per event would.
        #[test]
        fn reads_match_one_row_per_event(more in 0u64..8, since in 0u64..12, limit in 1u32..12) {
            let events = log(more);
            let rows = stored(&events);
            let got = unpack_events(events[0].intent_id, query(&rows, since, limit), since, limit).unwrap();
            let want: Vec<_> =
                events.iter().filter(|e| e.seq > since).take(limit as usize).cloned().collect();
            prop_assert_eq!(got, want);
        }
    }
}
