//! Commit wake-ups, keyed by [`Topic`].
//!
//! Each topic with at least one subscriber has a `watch` channel holding a version number; a
//! commit bumps the version of every topic it touched. A subscriber marks the version it has
//! seen *before* reading the store, then waits for a newer one, so a commit that lands between
//! its read and its wait still wakes it. A wake-up carries no data: handlers re-read the store by
//! cursor, so a missed or merged wake-up can delay an event but never lose it.
//!
//! Agent streams subscribe with [`Notifier::subscribe_stream`], which also counts them, so that
//! [`CommitListener::watched`] can tell a store that an agent has a stream connected (the store
//! then hands a new intent over in its create transaction). Long-poll claims subscribe to the
//! same topic with [`Notifier::subscribe`] and are not counted: a claim must find the intent
//! still unhanded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axp_store::{CommitListener, Topic};
use tokio::sync::watch;

/// Fans store commits out to subscribed stream handlers. Cheap to clone.
#[derive(Clone, Default)]
pub struct Notifier {
    topics: Arc<Mutex<HashMap<Topic, Entry>>>,
}

/// A topic's wake-up channel and how many of its subscribers are agent streams.
struct Entry {
    tx: watch::Sender<u64>,
    streams: usize,
}

impl Notifier {
    /// A notifier with no subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes to `topic`. Dropping the subscription unsubscribes.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        self.subscribe_as(topic, false)
    }

    /// Subscribes an agent stream, which sends what is handed to its agent as soon as it is
    /// woken, to `topic` (a [`Topic::Agent`]): while it lasts, [`Notifier::watched`] says yes.
    pub fn subscribe_stream(&self, topic: Topic) -> Subscription {
        self.subscribe_as(topic, true)
    }

    fn subscribe_as(&self, topic: Topic, stream: bool) -> Subscription {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        let entry =
            topics.entry(topic.clone()).or_insert_with(|| Entry { tx: watch::channel(0).0, streams: 0 });
        entry.streams += usize::from(stream);
        Subscription { rx: entry.tx.subscribe(), topic, stream, notifier: self.clone() }
    }

    /// Wakes every subscriber of `topics`.
    pub fn notify(&self, topics: &[Topic]) {
        let map = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        for topic in topics {
            if let Some(entry) = map.get(topic) {
                entry.tx.send_modify(|v| *v = v.wrapping_add(1));
            }
        }
    }

    /// Whether an agent stream ([`Notifier::subscribe_stream`]) is subscribed to `topic`.
    pub fn watched(&self, topic: &Topic) -> bool {
        self.topics.lock().unwrap_or_else(|e| e.into_inner()).get(topic).is_some_and(|e| e.streams > 0)
    }

    /// How many topics have subscribers (for metrics and tests).
    pub fn topic_count(&self) -> usize {
        self.topics.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl CommitListener for Notifier {
    fn committed(&self, topics: &[Topic]) {
        self.notify(topics);
    }

    fn watched(&self, topic: &Topic) -> bool {
        Notifier::watched(self, topic)
    }
}

/// One handler's interest in a topic.
pub struct Subscription {
    rx: watch::Receiver<u64>,
    topic: Topic,
    /// Counted in its topic's `streams`.
    stream: bool,
    notifier: Notifier,
}

impl Subscription {
    /// Marks everything up to now as seen. Call before reading the store.
    pub fn mark_seen(&mut self) {
        self.rx.borrow_and_update();
    }

    /// Waits until a commit touches the topic after the last [`Subscription::mark_seen`].
    pub async fn changed(&mut self) {
        // The sender lives in the notifier's map while this receiver exists, so `changed`
        // only fails if the notifier itself is gone; then nothing will ever wake us.
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut topics = self.notifier.topics.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = topics.get_mut(&self.topic) else { return };
        entry.streams -= usize::from(self.stream);
        // `self.rx` still counts; the entry goes when we were its last receiver.
        if entry.tx.receiver_count() <= 1 {
            topics.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axp_core::IntentId;

    use super::*;

    #[tokio::test]
    async fn a_commit_between_read_and_wait_still_wakes() {
        let n = Notifier::new();
        let topic = Topic::Intent(IntentId::new());
        let mut sub = n.subscribe(topic.clone());
        sub.mark_seen();
        n.committed(std::slice::from_ref(&topic)); // lands "during the read"
        tokio::time::timeout(Duration::from_secs(5), sub.changed()).await.expect("woken");
    }

    #[test]
    fn other_topics_do_not_wake() {
        let n = Notifier::new();
        let mut sub = n.subscribe(Topic::Intent(IntentId::new()));
        sub.mark_seen();
        n.committed(&[Topic::Intent(IntentId::new())]);
        assert!(!sub.rx.has_changed().unwrap());
    }

    #[test]
    fn a_topic_is_watched_while_an_agent_stream_is_subscribed() {
        let n = Notifier::new();
        let topic = Topic::Intent(IntentId::new());
        let claim = n.subscribe(topic.clone());
        assert!(!CommitListener::watched(&n, &topic), "a long-poll claim is no stream");
        let first = n.subscribe_stream(topic.clone());
        let second = n.subscribe_stream(topic.clone());
        assert!(CommitListener::watched(&n, &topic));
        assert!(!n.watched(&Topic::Intent(IntentId::new())));
        drop(first);
        assert!(n.watched(&topic), "one stream is left");
        drop(second);
        assert!(!n.watched(&topic));
        drop(claim);
        assert_eq!(n.topic_count(), 0);
    }

    #[test]
    fn dropping_the_last_subscription_removes_the_topic() {
        let n = Notifier::new();
        let topic = Topic::Intent(IntentId::new());
        let a = n.subscribe(topic.clone());
        let b = n.subscribe(topic);
        assert_eq!(n.topic_count(), 1);
        drop(a);
        assert_eq!(n.topic_count(), 1);
        drop(b);
        assert_eq!(n.topic_count(), 0);
    }
}
