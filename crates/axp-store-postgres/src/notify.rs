//! Cross-replica wake-ups: `LISTEN/NOTIFY` as a doorbell.
//!
//! Every write transaction sends the [`Topic`]s it touched on channel [`CHANNEL`] (one line per
//! topic, several per notification), inside the transaction, so PostgreSQL delivers them when
//! and only when it commits. Each replica keeps one connection listening and hands what arrives
//! to its [`CommitListener`], exactly as its own commits are: SSE streams, long polls, the
//! scheduler and the dispatcher wake up and re-read the store by cursor. A notification carries
//! no data, so one that is lost (the listening connection dropped and reconnected) only delays
//! a reader until its periodic fallback read.
//!
//! Lines: `i <intent id>`, `a <workspace id> <agent address>`, `t` (timers), `d` (deliveries),
//! `s` (schemas), and `k` (a key or service account changed: every replica drops its cached principals,
//! [`PrincipalCache`]).

use std::sync::Arc;
use std::time::Duration;

use axp_core::WorkspaceId;
use axp_core::ids::IntentId;
use axp_store::{CommitListener, PrincipalCache, Topic};

use crate::rowcache::RowCache;
use sqlx_core::pool::Pool;
use sqlx_postgres::{PgListener, Postgres};
use tokio_util::sync::CancellationToken as Cancel;

/// The channel every replica listens on.
pub(crate) const CHANNEL: &str = "axp_topics";

/// Largest payload sent (PostgreSQL's limit is 8000 bytes).
const MAX_PAYLOAD: usize = 7900;

fn encode(topic: &Topic) -> String {
    match topic {
        Topic::Intent(id) => format!("i {id}"),
        Topic::Agent(ws, address) => format!("a {ws} {address}"),
        Topic::Timers => "t".into(),
        Topic::Deliveries => "d".into(),
        Topic::Schemas => "s".into(),
    }
}

fn decode(line: &str) -> Option<Topic> {
    let mut parts = line.splitn(3, ' ');
    match (parts.next()?, parts.next(), parts.next()) {
        ("i", Some(id), None) => id.parse().ok().map(|id| Topic::Intent(IntentId(id))),
        ("a", Some(ws), Some(address)) => {
            ws.parse().ok().map(|ws| Topic::Agent(WorkspaceId(ws), address.into()))
        }
        ("t", None, None) => Some(Topic::Timers),
        ("d", None, None) => Some(Topic::Deliveries),
        ("s", None, None) => Some(Topic::Schemas),
        _ => None,
    }
}

/// The line that tells every replica a key or service account changed.
const KEYS_CHANGED: &str = "k";

/// The notification payloads for `topics` (plus the `k` line when `keys_changed`): distinct
/// lines, newline-separated, each payload under PostgreSQL's size limit.
pub(crate) fn payloads(topics: &[Topic], keys_changed: bool) -> Vec<String> {
    let mut lines: Vec<String> = topics.iter().map(encode).collect();
    if keys_changed {
        lines.push(KEYS_CHANGED.into());
    }
    lines.sort_unstable();
    lines.dedup();
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        match out.last_mut() {
            Some(last) if last.len() + 1 + line.len() <= MAX_PAYLOAD => {
                last.push('\n');
                last.push_str(&line);
            }
            _ => out.push(line),
        }
    }
    out
}

/// The topics of a received payload (unknown lines are skipped).
pub(crate) fn topics(payload: &str) -> Vec<Topic> {
    payload.lines().filter_map(decode).collect()
}

/// Whether a received payload says a key or service account changed.
fn keys_changed(payload: &str) -> bool {
    payload.lines().any(|l| l == KEYS_CHANGED)
}

/// Listens on [`CHANNEL`] until `cancel` fires, handing every topic to `listener` and key and
/// row changes to the replica's caches (cached principals and [`RowCache`]), which are
/// suspended while this replica is not listening; `listener` is told
/// ([`CommitListener::listening`]) when it starts and stops hearing. Reconnects on its own after
/// a lost connection.
pub(crate) async fn listen(
    pool: Pool<Postgres>,
    listener: Arc<dyn CommitListener>,
    (keys, rows): (Arc<PrincipalCache>, Arc<RowCache>),
    cancel: Cancel,
) {
    let mut conn: Option<PgListener> = None;
    loop {
        let pg = match conn.as_mut() {
            Some(pg) => pg,
            None => {
                let connected = async {
                    let mut pg = PgListener::connect_with(&pool).await?;
                    pg.listen(CHANNEL).await?;
                    Ok::<_, sqlx_core::Error>(pg)
                };
                match tokio::select! { r = connected => r, () = cancel.cancelled() => return } {
                    Ok(pg) => {
                        keys.resume();
                        rows.resume();
                        listener.listening(true);
                        conn.insert(pg)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot LISTEN for cross-replica wake-ups; retrying in 1 s");
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                            () = cancel.cancelled() => return,
                        }
                    }
                }
            }
        };
        let received = tokio::select! {
            r = pg.try_recv() => r,
            () = cancel.cancelled() => return,
        };
        match received {
            Ok(Some(n)) => {
                if keys_changed(n.payload()) {
                    keys.invalidate();
                    rows.invalidate();
                }
                let topics = topics(n.payload());
                if !topics.is_empty() {
                    listener.committed(&topics);
                }
            }
            Ok(None) => {
                // The connection dropped: connect and listen again. What was sent meanwhile is
                // lost: readers catch up on their fallback read, and the key cache starts over.
                tracing::warn!("LISTEN connection lost; reconnecting");
                keys.suspend();
                rows.suspend();
                listener.listening(false);
                conn = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN failed; reconnecting in 1 s");
                keys.suspend();
                rows.suspend();
                listener.listening(false);
                conn = None;
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = cancel.cancelled() => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_changes_ride_along_and_are_no_topic() {
        let sent = payloads(&[Topic::Timers], true);
        assert_eq!(sent.len(), 1);
        assert!(keys_changed(&sent[0]));
        assert_eq!(topics(&sent[0]), vec![Topic::Timers]);
        assert!(keys_changed(&payloads(&[], true)[0]));
    }

    #[test]
    fn topics_round_trip_through_payloads() {
        let ws = WorkspaceId::new();
        let topics_in = vec![
            Topic::Intent(IntentId::new()),
            Topic::Agent(ws, "agent://org/ws/name with space".into()),
            Topic::Timers,
            Topic::Deliveries,
            Topic::Schemas,
            Topic::Timers,
        ];
        let payloads = payloads(&topics_in, false);
        assert_eq!(payloads.len(), 1);
        assert!(!keys_changed(&payloads[0]));
        let mut out = topics(&payloads[0]);
        assert_eq!(out.len(), 5, "duplicates are sent once");
        for t in &topics_in {
            assert!(out.contains(t), "{t:?}");
        }
        out.clear();
    }

    #[test]
    fn large_batches_are_split_under_the_limit() {
        let many: Vec<Topic> = (0..1000).map(|_| Topic::Intent(IntentId::new())).collect();
        let payloads = payloads(&many, false);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD));
        assert_eq!(payloads.iter().map(|p| topics(p).len()).sum::<usize>(), 1000);
    }
}
