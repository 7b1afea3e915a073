//! Server-sent event frames of the intent and agent streams (contract §4.5, §4.11).
//!
//! The server writes `id: N\nevent: <name>\ndata: <one-line JSON>\n\n` per frame, `: keepalive`
//! comment lines while idle, and when the wait window ends a last `event: stream.timeout` frame
//! before closing. Byte-level parsing (chunks split anywhere, even inside a UTF-8 sequence, and
//! comment lines) is done by `eventsource-stream`; this module turns its events into typed items.

use axp_core::IntentEvent;
use axp_core::api::AgentDelivery;
use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The event name of the frame that ends a stream response when its wait window has elapsed.
pub const TIMEOUT_EVENT: &str = "stream.timeout";

/// One frame of the intent event stream (`GET /v1/intents/{id}/events/stream`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StreamItem {
    /// A lifecycle event (`event: intent.*`).
    Event(IntentEvent),
    /// `event: stream.timeout`: the wait window elapsed and the server is closing the response.
    /// Reconnect with `since = next_seq` (the highest seq sent, or the request's `since`).
    Timeout {
        /// The cursor to resume from.
        next_seq: u64,
    },
    /// A named frame this SDK does not know; kept for diagnostics, safe to ignore.
    Other {
        /// The frame's event name (`message` when it had none).
        event: String,
        /// The frame's data lines, joined with `\n`.
        data: String,
    },
}

/// One frame of an agent's intent stream (`GET /v1/agents/{address}/intents/stream`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AgentStreamItem {
    /// An intent delivered to the agent (`event: intent.*`). Boxed: it is much larger than the
    /// other variants.
    Delivery(Box<AgentDelivery>),
    /// `event: stream.timeout`: the wait window elapsed and the server is closing the response.
    /// Reconnect with `since = next_since` (the highest agent cursor sent, or the request's
    /// `since`).
    Timeout {
        /// The agent cursor to resume from.
        next_since: u64,
    },
    /// A named frame this SDK does not know; kept for diagnostics, safe to ignore.
    Other {
        /// The frame's event name (`message` when it had none).
        event: String,
        /// The frame's data lines, joined with `\n`.
        data: String,
    },
}

/// One dispatched SSE frame, before its data is interpreted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The `id:` field (empty when the frame had none and no earlier frame set one).
    pub id: String,
    /// The `event:` field, `message` when absent.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

impl Frame {
    fn decode<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_str(&self.data).map_err(|source| Error::Decode {
            context: format!("{what} frame `{}` (id {:?})", self.event, self.id),
            source,
        })
    }

    fn is_intent_event(&self) -> bool {
        self.event.starts_with("intent.")
    }
}

#[derive(Deserialize)]
struct IntentTimeout {
    next_seq: u64,
}

#[derive(Deserialize)]
struct AgentTimeout {
    next_since: u64,
}

impl StreamItem {
    pub(crate) fn from_frame(frame: Frame) -> Result<Self> {
        if frame.is_intent_event() {
            return frame.decode("intent stream").map(StreamItem::Event);
        }
        if frame.event == TIMEOUT_EVENT {
            let t: IntentTimeout = frame.decode("intent stream")?;
            return Ok(StreamItem::Timeout { next_seq: t.next_seq });
        }
        Ok(StreamItem::Other { event: frame.event, data: frame.data })
    }
}

impl AgentStreamItem {
    pub(crate) fn from_frame(frame: Frame) -> Result<Self> {
        if frame.is_intent_event() {
            return frame.decode("agent stream").map(|d| AgentStreamItem::Delivery(Box::new(d)));
        }
        if frame.event == TIMEOUT_EVENT {
            let t: AgentTimeout = frame.decode("agent stream")?;
            return Ok(AgentStreamItem::Timeout { next_since: t.next_since });
        }
        Ok(AgentStreamItem::Other { event: frame.event, data: frame.data })
    }
}

/// Parses a byte stream into SSE frames. Comment lines (`: keepalive`) produce nothing, and a
/// frame is only dispatched at its terminating blank line, so a response cut mid-frame loses
/// only that unfinished frame.
pub(crate) fn frames<S, B, E>(body: S) -> impl Stream<Item = Result<Frame>>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    E: Into<Error>,
{
    body.eventsource().map(|item| match item {
        Ok(event) => Ok(Frame { id: event.id, event: event.event, data: event.data }),
        Err(EventStreamError::Transport(e)) => Err(e.into()),
        Err(EventStreamError::Utf8(e)) => Err(Error::Protocol(format!("SSE body is not UTF-8: {e}"))),
        Err(EventStreamError::Parser(e)) => Err(Error::Protocol(format!("malformed SSE body: {e}"))),
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures::TryStreamExt;
    use futures::stream;

    use super::*;

    const EVENT1: &str = r#"{"intent_id":"0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e","seq":1,"event_type":"intent.created","status":"CREATED","waiting_reason":null,"handler":"agent://o/w/bot","actor":"agent://o/w/me","at":"2026-02-28T00:00:10.000Z","details":{"intent_type":"notify.message.v1","note":"héllo ✓"},"pending_with":null}"#;
    const EVENT2: &str = r#"{"intent_id":"0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e","seq":2,"event_type":"intent.submitted","status":"SUBMITTED","waiting_reason":null,"handler":"agent://o/w/bot","actor":"gateway","at":"2026-02-28T00:00:10.000Z","details":{},"pending_with":{"type":"agent","ref":"agent://o/w/bot","name":"bot"}}"#;
    const DELIVERY: &str = r#"{"intent_id":"0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e","seq":57,"event_type":"intent.delivered","status":"DELIVERED","at":"2026-02-28T00:00:10.000Z","intent_type":"intent.report.generate.v1","from_agent":"agent://o/w/me","to_agent":"agent://o/w/bot","correlation_id":"0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8f","payload":{"x":1},"step_id":"generate_report","delivery_attempt":1,"pending_with":null}"#;

    fn body() -> String {
        format!(
            ": keepalive\n\nid: 1\nevent: intent.created\ndata: {EVENT1}\n\n: keepalive\n\n\
             id: 2\nevent: intent.submitted\ndata: {EVENT2}\n\n\
             event: stream.timeout\ndata: {{\"ok\":true,\"next_seq\":2}}\n\n"
        )
    }

    /// Splits `text` into chunks of `size` bytes (ignoring UTF-8 boundaries on purpose).
    fn chunks(text: &str, size: usize) -> Vec<Result<Bytes, Error>> {
        text.as_bytes().chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect()
    }

    async fn parse_intent(parts: Vec<Result<Bytes, Error>>) -> Vec<StreamItem> {
        frames(stream::iter(parts))
            .and_then(|f| async move { StreamItem::from_frame(f) })
            .try_collect()
            .await
            .unwrap()
    }

    fn assert_intent_items(items: &[StreamItem]) {
        assert_eq!(items.len(), 3, "{items:?}");
        match &items[0] {
            StreamItem::Event(e) => {
                assert_eq!(e.seq, 1);
                assert_eq!(e.details["note"], "héllo ✓");
            }
            other => panic!("{other:?}"),
        }
        match &items[1] {
            StreamItem::Event(e) => {
                assert_eq!((e.seq, e.pending_with.as_ref().unwrap().name.as_str()), (2, "bot"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(items[2], StreamItem::Timeout { next_seq: 2 });
    }

    #[tokio::test]
    async fn one_chunk() {
        assert_intent_items(&parse_intent(chunks(&body(), usize::MAX)).await);
    }

    #[tokio::test]
    async fn every_split_size_gives_the_same_frames() {
        // Sizes 1..=13 split frames mid-line, mid-field-name, between `\n\n`, and inside the
        // multi-byte characters of EVENT1.
        for size in 1..=13 {
            assert_intent_items(&parse_intent(chunks(&body(), size)).await);
        }
    }

    #[tokio::test]
    async fn split_inside_a_multibyte_character() {
        let text = body();
        let pos = text.find('✓').unwrap() + 1;
        let parts = vec![
            Ok(Bytes::copy_from_slice(&text.as_bytes()[..pos])),
            Ok(Bytes::copy_from_slice(&text.as_bytes()[pos..])),
        ];
        assert_intent_items(&parse_intent(parts).await);
    }

    #[tokio::test]
    async fn raw_frames_keep_id_and_skip_comments() {
        let frames: Vec<Frame> = frames(stream::iter(chunks(&body(), 7))).try_collect().await.unwrap();
        let names: Vec<&str> = frames.iter().map(|f| f.event.as_str()).collect();
        assert_eq!(names, ["intent.created", "intent.submitted", "stream.timeout"]);
        assert_eq!(frames[1].id, "2");
    }

    #[tokio::test]
    async fn unfinished_last_frame_is_dropped() {
        let text = format!(
            "id: 1\nevent: intent.created\ndata: {EVENT1}\n\nid: 2\nevent: intent.submitted\ndata: {{\"seq\":"
        );
        let items = parse_intent(chunks(&text, 5)).await;
        assert_eq!(items.len(), 1);
    }

    #[tokio::test]
    async fn unknown_frames_are_other() {
        let items = parse_intent(chunks("data: hi\n\nevent: ping\ndata: {}\n\n", 3)).await;
        assert_eq!(
            items,
            [
                StreamItem::Other { event: "message".into(), data: "hi".into() },
                StreamItem::Other { event: "ping".into(), data: "{}".into() },
            ]
        );
    }

    #[tokio::test]
    async fn bad_event_data_is_a_decode_error() {
        let results: Vec<Result<StreamItem>> =
            frames(stream::iter(chunks("event: intent.created\ndata: {\"seq\":1}\n\n", 4)))
                .and_then(|f| async move { StreamItem::from_frame(f) })
                .collect()
                .await;
        assert!(matches!(&results[..], [Err(Error::Decode { .. })]), "{results:?}");
    }

    #[tokio::test]
    async fn transport_error_passes_through() {
        let parts = vec![Ok(Bytes::from_static(b": keepalive\n\n")), Err(Error::Protocol("cut".into()))];
        let results: Vec<Result<Frame>> = frames(stream::iter(parts)).collect().await;
        assert!(matches!(&results[..], [Err(Error::Protocol(m))] if m == "cut"), "{results:?}");
    }

    #[tokio::test]
    async fn agent_frames() {
        let text = format!(
            "id: 57\nevent: intent.delivered\ndata: {DELIVERY}\n\n: keepalive\n\n\
             event: stream.timeout\ndata: {{\"ok\":true,\"next_since\":57}}\n\n"
        );
        for size in [1, 2, 9, usize::MAX] {
            let items: Vec<AgentStreamItem> = frames(stream::iter(chunks(&text, size)))
                .and_then(|f| async move { AgentStreamItem::from_frame(f) })
                .try_collect()
                .await
                .unwrap();
            match &items[..] {
                [AgentStreamItem::Delivery(d), AgentStreamItem::Timeout { next_since: 57 }] => {
                    assert_eq!(d.seq, 57);
                    assert_eq!(d.step_id.as_deref(), Some("generate_report"));
                    assert_eq!(d.payload["x"], 1);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn timeout_frame_without_cursor_is_a_decode_error() {
        let frame = Frame { id: String::new(), event: TIMEOUT_EVENT.into(), data: r#"{"ok":true}"#.into() };
        assert!(matches!(StreamItem::from_frame(frame.clone()), Err(Error::Decode { .. })));
        assert!(matches!(AgentStreamItem::from_frame(frame), Err(Error::Decode { .. })));
    }
}
