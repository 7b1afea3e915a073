//! Media bytes: [`MediaBlobs`], where each backend keeps the bytes of uploads (SQLite: files
//! under the data dir; PostgreSQL: chunks in the database, so every replica reads them), and
//! [`Metered`], which counts and hashes a body while it streams to a backend and stops it at a
//! limit, so no backend repeats that rule and no body is ever held whole in memory.
//!
//! The uploads' metadata is a table ([`crate::tables::MediaTable`]); the bytes are not part of
//! a job's transaction: a `put` is durable when it returns (the ledger records it afterwards),
//! and the ledger removes the bytes of an expired, deleted or replaced upload once that
//! committed.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_trait::async_trait;
use axp_core::ids::WorkspaceId;
use axp_core::media::{MediaConflict, StoredBytes};
use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Result;

/// A body of bytes, streamed in chunks.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Where a backend keeps uploads' bytes: objects named by a UUID within a workspace, each
/// written once (every `PUT` of an upload writes a new object; the upload records which one
/// holds its bytes, see [`axp_core::media::StoredBytes`]).
#[async_trait]
pub trait MediaBlobs: Send + Sync + 'static {
    /// Stores `body` as object `object`, durable once this returns Ok (an acknowledged put
    /// survives a crash); a failed or cut-off put leaves nothing readable. Errors:
    /// [`crate::Error::Unavailable`] when `body` fails (the client went away, or [`Metered`]
    /// stopped it) or the storage does.
    async fn put(&self, ws: WorkspaceId, object: Uuid, body: ByteStream) -> Result<()>;

    /// The bytes of `object`, streamed; `None` when there is no such object.
    async fn open(&self, ws: WorkspaceId, object: Uuid) -> Result<Option<ByteStream>>;

    /// Removes `object`; removing what is not there is not an error.
    async fn delete(&self, ws: WorkspaceId, object: Uuid) -> Result<()>;
}

/// Why bytes sent to an upload were not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadRefused {
    /// More than the limit (the declared size, capped by the server's maximum) arrived.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The upload is not pending, or its declared `sha256` differs from the bytes'.
    Conflict(MediaConflict),
}

#[derive(Default)]
struct Meter {
    size: u64,
    hash: Sha256,
    over: bool,
}

/// What [`Metered`] saw: shared with the stream, read once the backend is done with it.
#[derive(Clone, Default)]
pub struct MeterReading(Arc<Mutex<Meter>>);

impl MeterReading {
    fn lock(&self) -> std::sync::MutexGuard<'_, Meter> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the body went past the limit (and was stopped there).
    pub fn over_limit(&self) -> bool {
        self.lock().over
    }

    /// The bytes counted and their SHA-256 (lowercase hex), as held by `object_id`.
    pub fn stored(&self, object_id: Uuid) -> StoredBytes {
        let meter = self.lock();
        StoredBytes { size_bytes: meter.size, sha256: hex::encode(meter.hash.clone().finalize()), object_id }
    }
}

/// A body that counts and hashes its bytes as they pass, and fails (with
/// `std::io::ErrorKind::FileTooLarge`) once more than `limit` bytes came.
pub struct Metered {
    inner: ByteStream,
    limit: u64,
    reading: MeterReading,
}

impl Metered {
    /// `body` metered against `limit` bytes, and the reading to consult afterwards.
    pub fn wrap(body: ByteStream, limit: u64) -> (ByteStream, MeterReading) {
        let reading = MeterReading::default();
        (Box::pin(Self { inner: body, limit, reading: reading.clone() }), reading)
    }
}

impl Stream for Metered {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            let mut meter = self.reading.lock();
            meter.size += chunk.len() as u64;
            if meter.size > self.limit {
                meter.over = true;
                return Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::FileTooLarge,
                    format!("more than {} bytes", self.limit),
                ))));
            }
            meter.hash.update(chunk);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use futures::{StreamExt, stream};

    use super::*;

    fn body(chunks: &[&'static [u8]]) -> ByteStream {
        stream::iter(chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect::<Vec<_>>()).boxed()
    }

    #[tokio::test]
    async fn counts_and_hashes_under_the_limit() {
        let (mut s, reading) = Metered::wrap(body(&[b"ab", b"c"]), 3);
        while s.next().await.transpose().unwrap().is_some() {}
        let stored = reading.stored(Uuid::nil());
        assert_eq!(stored.size_bytes, 3);
        assert_eq!(stored.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(!reading.over_limit());
    }

    #[tokio::test]
    async fn stops_past_the_limit() {
        let (mut s, reading) = Metered::wrap(body(&[b"ab", b"cd"]), 3);
        assert!(s.next().await.unwrap().is_ok());
        assert!(s.next().await.unwrap().is_err());
        assert!(reading.over_limit());
    }
}
