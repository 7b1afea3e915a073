//! Long-lived streams built from short SSE responses: `observe` and `listen`.
//!
//! Every stream response ends after its wait window (with a `stream.timeout` frame) or, for an
//! intent, after its terminal event. [`follow`] chains responses into one stream: it remembers
//! the highest cursor it has yielded and reopens with `since = cursor`, so nothing is skipped
//! (the server replays everything after `since`) and nothing is yielded twice (frames at or below
//! the cursor are dropped).

use std::future::Future;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry;

/// What [`follow`] does with one item of a response.
pub(crate) enum Step<T> {
    /// Yield `value`, whose cursor is `cursor`; end the stream after it when `last`.
    Yield {
        /// The item's cursor (intent event seq or agent delivery cursor).
        cursor: u64,
        /// The item.
        value: T,
        /// Whether this is the final item (a terminal intent event).
        last: bool,
    },
    /// Proof the server is alive and well (a `stream.timeout` frame): not an item.
    Progress,
    /// Nothing to do.
    Ignore,
}

/// What opening a response gives: the response's items, or `None` when there is nothing left to
/// follow (the stream then ends cleanly).
pub(crate) type Opened<I> = Result<Option<BoxStream<'static, Result<I>>>>;

struct State<I, O> {
    client: Client,
    open: O,
    since: u64,
    current: Option<BoxStream<'static, Result<I>>>,
    /// Whether a response has been opened before (the next open is a reconnect).
    reconnect: bool,
    /// Whether the current response yielded a new item or a timeout frame.
    progressed: bool,
    /// Consecutive responses that failed mid-body or ended without progress.
    failures: u32,
    done: bool,
}

/// Chains stream responses: see the module docs. `open(client, since, reconnect)` opens the
/// next response; `reconnect` is false only for the first.
///
/// Error handling: opening a response already retries per the client's policy, so an error from
/// `open` is yielded and ends the stream. A transport failure in the middle of a response, or a
/// response that ends without any progress, is retried with backoff up to the client's
/// `max_retries` consecutive times, then yielded and the stream ends. Any other error (an
/// undecodable frame) is yielded and ends the stream.
pub(crate) fn follow<I, T, O, Fut, C>(
    client: Client,
    since: u64,
    open: O,
    classify: C,
) -> impl Stream<Item = Result<T>> + Send
where
    I: Send + 'static,
    T: Send + 'static,
    O: Fn(Client, u64, bool) -> Fut + Send + 'static,
    Fut: Future<Output = Opened<I>> + Send,
    C: Fn(I) -> Step<T> + Send + 'static,
{
    let state = State {
        client,
        open,
        since,
        current: None,
        reconnect: false,
        progressed: false,
        failures: 0,
        done: false,
    };
    futures::stream::unfold((state, classify), |(mut st, classify)| async move {
        loop {
            if st.done {
                return None;
            }
            if st.current.is_none() {
                match (st.open)(st.client.clone(), st.since, st.reconnect).await {
                    Ok(Some(opened)) => {
                        st.reconnect = true;
                        st.progressed = false;
                        st.current = Some(opened);
                    }
                    Ok(None) => return None,
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), (st, classify)));
                    }
                }
            }
            let next = match st.current.as_mut() {
                Some(current) => current.next().await,
                None => continue,
            };
            match next {
                Some(Ok(item)) => match classify(item) {
                    Step::Yield { cursor, value, last } => {
                        if cursor <= st.since {
                            continue;
                        }
                        st.since = cursor;
                        st.progressed = true;
                        st.failures = 0;
                        if last {
                            st.done = true;
                            st.current = None;
                        }
                        return Some((Ok(value), (st, classify)));
                    }
                    Step::Progress => {
                        st.progressed = true;
                        st.failures = 0;
                    }
                    Step::Ignore => {}
                },
                Some(Err(e)) => {
                    st.current = None;
                    let transient = matches!(&e, Error::Transport(t) if retry::is_retryable_transport(t));
                    if !transient || st.failures >= st.client.max_retries() {
                        st.done = true;
                        return Some((Err(e), (st, classify)));
                    }
                    tokio::time::sleep(retry::backoff(st.failures)).await;
                    st.failures += 1;
                }
                None => {
                    st.current = None;
                    if !st.progressed {
                        if st.failures >= st.client.max_retries() {
                            st.done = true;
                            let e = Error::Protocol(format!(
                                "stream response ended {} times in a row without a frame (since={})",
                                st.failures + 1,
                                st.since
                            ));
                            return Some((Err(e), (st, classify)));
                        }
                        tokio::time::sleep(retry::backoff(st.failures)).await;
                        st.failures += 1;
                    }
                }
            }
        }
    })
}
