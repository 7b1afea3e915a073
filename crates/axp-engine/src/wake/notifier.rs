//! Commit wake-ups, keyed by [`Topic`].
//!
//! Each topic with at least one subscriber has a `watch` channel holding a version number; a
//! commit bumps the version of every topic it touched. A subscriber marks the version it has
//! seen *before* reading the store, then waits for a newer one, so a commit that lands between
//! its read and its wait still wakes it. A wake-up carries no data: handlers re-read the store by
//! cursor, so a missed or merged wake-up can delay an event but never lose it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axp_store::{CommitListener, Topic};
use tokio::sync::watch;

/// Fans store commits out to subscribed stream handlers. Cheap to clone.
#[derive(Clone, Default)]
pub struct Notifier {
    topics: Arc<Mutex<HashMap<Topic, watch::Sender<u64>>>>,
}

impl Notifier {
    /// A notifier with no subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes to `topic`. Dropping the subscription unsubscribes.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        let rx = topics.entry(topic.clone()).or_insert_with(|| watch::channel(0).0).subscribe();
        Subscription { rx, topic, notifier: self.clone() }
    }

    /// Wakes every subscriber of `topics`.
    pub fn notify(&self, topics: &[Topic]) {
        let map = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        for topic in topics {
            if let Some(tx) = map.get(topic) {
                tx.send_modify(|v| *v = v.wrapping_add(1));
            }
        }
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
}

/// One handler's interest in a topic.
pub struct Subscription {
    rx: watch::Receiver<u64>,
    topic: Topic,
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
        // `self.rx` still counts; the entry goes when we were its last receiver.
        if topics.get(&self.topic).is_some_and(|tx| tx.receiver_count() <= 1) {
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
