//! Operator calls (axp extensions): `POST /v1/admin/backup` and `GET /v1/admin/stats`, for an
//! `org_owner` of the server's first organization only (403 `policy_denied` for any other key).

use std::time::Duration;

use axp_core::api::StoreStats;
use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::client::Client;
use crate::error::{Error, Result};

impl Client {
    /// `GET /v1/admin/stats`: rows per table, database and WAL sizes, the oldest unfinished
    /// intent and the dead-letter count, across the whole server.
    pub async fn admin_stats(&self) -> Result<StoreStats> {
        self.get_json(self.url(["v1", "admin", "stats"])).await
    }

    /// `POST /v1/admin/backup`: the server's backup archive (a tar file), as a stream of chunks
    /// that may take up to `timeout` in all. Sent once, never retried. A stream that ends with
    /// an error was cut off: what came before is not a whole backup. Errors: 403 for a key that
    /// is not the operator's; 501 `not_implemented` on a PostgreSQL server (use `pg_dump` or
    /// PITR).
    pub async fn backup(&self, timeout: Duration) -> Result<impl Stream<Item = Result<Bytes>> + use<>> {
        let url = self.url(["v1", "admin", "backup"]);
        let response = self.post_for_download(url, "application/x-tar", timeout).await?;
        Ok(response.bytes_stream().map(|chunk| chunk.map_err(Error::Transport)))
    }
}
