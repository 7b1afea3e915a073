//! [`ChunkBlobs`]: media bytes in PostgreSQL itself, as `media_chunks` rows of at most
//! [`CHUNK`] bytes, so every replica reads what any replica received.
//!
//! A put is one transaction on its own pooled connection: it inserts each chunk as soon as it
//! is full (so at most one chunk is held in memory) and commits once the body ended: an
//! acknowledged put is durable, a cut-off one rolls back and leaves nothing. A download reads
//! one chunk per query, in order.

use async_trait::async_trait;
use axp_core::ids::WorkspaceId;
use axp_store::{ByteStream, Error, MediaBlobs, Result};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sqlx_core::pool::Pool;
use sqlx_core::query::query;
use sqlx_core::row::Row;
use sqlx_postgres::{PgConnection, Postgres};
use uuid::Uuid;

use crate::tables::db;

/// Bytes per chunk row: 1 MiB.
const CHUNK: usize = 1 << 20;

/// Media bytes as chunk rows, over the store's pool.
pub(crate) struct ChunkBlobs {
    pool: Pool<Postgres>,
}

async fn insert_chunk(
    conn: &mut PgConnection,
    (ws, id): (WorkspaceId, Uuid),
    seq: i32,
    data: &[u8],
) -> Result<()> {
    query("INSERT INTO media_chunks (workspace_id, object_id, seq, data) VALUES ($1, $2, $3, $4)")
        .bind(ws.0)
        .bind(id)
        .bind(seq)
        .bind(data)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

impl ChunkBlobs {
    /// Chunks over `pool`.
    pub(crate) fn new(pool: Pool<Postgres>) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl MediaBlobs for ChunkBlobs {
    async fn put(&self, ws: WorkspaceId, id: Uuid, mut body: ByteStream) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let (mut buf, mut seq) = (BytesMut::new(), 0);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Error::Unavailable(format!("the upload body failed: {e}")))?;
            buf.extend_from_slice(&chunk);
            while buf.len() >= CHUNK {
                let full = buf.split_to(CHUNK);
                insert_chunk(&mut tx, (ws, id), seq, &full).await?;
                seq += 1;
            }
        }
        if !buf.is_empty() {
            insert_chunk(&mut tx, (ws, id), seq, &buf).await?;
        }
        tx.commit().await.map_err(db)
    }

    async fn open(&self, ws: WorkspaceId, id: Uuid) -> Result<Option<ByteStream>> {
        let first =
            query("SELECT EXISTS (SELECT 1 FROM media_chunks WHERE workspace_id = $1 AND object_id = $2)")
                .bind(ws.0)
                .bind(id)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        if !first.try_get::<bool, _>(0).map_err(db)? {
            return Ok(None);
        }
        let pool = self.pool.clone();
        let chunks = futures::stream::try_unfold(0i32, move |seq| {
            let pool = pool.clone();
            async move {
                let row = query(
                    "SELECT data FROM media_chunks WHERE workspace_id = $1 AND object_id = $2 AND seq = $3",
                )
                .bind(ws.0)
                .bind(id)
                .bind(seq)
                .fetch_optional(&pool)
                .await
                .map_err(std::io::Error::other)?;
                let Some(row) = row else { return Ok(None) };
                let data: Vec<u8> = row.try_get(0).map_err(std::io::Error::other)?;
                Ok(Some((Bytes::from(data), seq + 1)))
            }
        });
        Ok(Some(chunks.boxed()))
    }

    async fn delete(&self, ws: WorkspaceId, id: Uuid) -> Result<()> {
        query("DELETE FROM media_chunks WHERE workspace_id = $1 AND object_id = $2")
            .bind(ws.0)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
