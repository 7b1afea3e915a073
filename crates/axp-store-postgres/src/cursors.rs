//! The cursor base: cursors (agent queue cursors, inbox change cursors, audit ids) are
//! `(xid + base) << 20 | n`, read up to `(xmin + base) << 20` (SQL functions `axp_xid` and
//! `axp_horizon`, migration `20261211000000_cursor_base`; the scheme is `tables`' module doc).
//!
//! The base is 0 on the cluster the database was made on. A database restored into another
//! cluster (`pg_dump`, then `pg_restore`) keeps its cursors, but that cluster's transaction ids
//! may be far behind them: without a base, new rows would take smaller cursors than the restored
//! ones (a reader past those would never see them) and the restored rows would stay behind the
//! horizon. [`align`] raises the base past every cursor already written when it finds one at or
//! past the next cursor.

use axp_store::{Error, Result};
use sqlx_core::pool::Pool;
use sqlx_core::query_scalar::query_scalar;
use sqlx_postgres::Postgres;

use crate::tables::db;

/// Raises the base so that the next cursor is past every cursor written, if one is at or past
/// it (the new base: this transaction's id plus it is one past the highest cursor's). Reads
/// only rows at or past the next cursor, through the tables' range indexes. Returns how far the
/// base rose (0 when no cursor was ahead: on the cluster the rows were written on).
///
/// Run it when a store connects, before it serves. Replicas connecting together after a
/// restore are safe: the base only rises, to the same value or less from a later transaction.
///
/// Errors: the database's, as [`Error::Unavailable`].
pub(crate) async fn align(pool: &Pool<Postgres>) -> Result<i64> {
    let raised: Option<i64> = query_scalar(
        "WITH next AS (SELECT axp_xid() << 20 AS cursor),
              ahead AS (
                SELECT GREATEST(
                         (SELECT max(cursor) FROM agent_queue WHERE cursor >= (SELECT cursor FROM next)),
                         (SELECT max(change_seq) FROM thread_participants
                           WHERE change_seq >= (SELECT cursor FROM next)),
                         (SELECT max(audit_id) FROM audit_log WHERE audit_id >= (SELECT cursor FROM next))
                       ) AS top),
              old AS (SELECT xids FROM cursor_base)
         UPDATE cursor_base
            SET xids = GREATEST(xids, ((SELECT top FROM ahead) >> 20) + 1 - pg_current_xact_id()::text::bigint)
          WHERE (SELECT top FROM ahead) IS NOT NULL
         RETURNING xids - (SELECT xids FROM old)",
    )
    .fetch_optional(pool)
    .await
    .map_err(|e| Error::Unavailable(format!("aligning the cursor base: {}", db(e))))?;
    Ok(raised.unwrap_or(0))
}
