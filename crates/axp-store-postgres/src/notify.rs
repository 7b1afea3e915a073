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
//! Lines: `i <intent id>`, `a <workspace id> <agent address>`, `t` (timers), `d` (deliveries).

use std::sync::Arc;
use std::time::Duration;

use axp_core::WorkspaceId;
use axp_core::ids::IntentId;
use axp_store::{CommitListener, Topic};
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
        _ => None,
    }
}

/// The notification payloads for `topics`: distinct topics, newline-separated, each payload
/// under PostgreSQL's size limit.
pub(crate) fn payloads(topics: &[Topic]) -> Vec<String> {
    let mut lines: Vec<String> = topics.iter().map(encode).collect();
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

/// Listens on [`CHANNEL`] until `cancel` fires, handing every topic to `listener`. Reconnects
/// on its own after a lost connection.
pub(crate) async fn listen(pool: Pool<Postgres>, listener: Arc<dyn CommitListener>, cancel: Cancel) {
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
                    Ok(pg) => conn.insert(pg),
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
                let topics = topics(n.payload());
                if !topics.is_empty() {
                    listener.committed(&topics);
                }
            }
            Ok(None) => {
                // The connection dropped; the next call reconnects and listens again. What was
                // sent meanwhile is lost: readers catch up on their fallback read.
                tracing::warn!("LISTEN connection lost; reconnecting");
            }
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN failed; reconnecting in 1 s");
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
    fn topics_round_trip_through_payloads() {
        let ws = WorkspaceId::new();
        let topics_in = vec![
            Topic::Intent(IntentId::new()),
            Topic::Agent(ws, "agent://org/ws/name with space".into()),
            Topic::Timers,
            Topic::Deliveries,
            Topic::Timers,
        ];
        let payloads = payloads(&topics_in);
        assert_eq!(payloads.len(), 1);
        let mut out = topics(&payloads[0]);
        assert_eq!(out.len(), 4, "duplicates are sent once");
        for t in &topics_in {
            assert!(out.contains(t), "{t:?}");
        }
        out.clear();
    }

    #[test]
    fn large_batches_are_split_under_the_limit() {
        let many: Vec<Topic> = (0..1000).map(|_| Topic::Intent(IntentId::new())).collect();
        let payloads = payloads(&many);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD));
        assert_eq!(payloads.iter().map(|p| topics(p).len()).sum::<usize>(), 1000);
    }
}
