//! Operator data of the whole server (axp extensions, `GET /openapi.json`):
//! `GET /v1/admin/stats`, for an `org_owner` of the first-start organization only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// `GET /v1/admin/stats` → `{ok, backend, schema_version, tables, database_bytes, wal_bytes,
/// oldest_unfinished_intent_at, dead_letters}`: what the store holds, across every workspace.
///
/// ```
/// let stats: axp_core::api::StoreStats = serde_json::from_value(serde_json::json!({
///     "ok": true, "backend": "sqlite", "schema_version": 14, "tables": {"intents": 3},
///     "database_bytes": 4096, "wal_bytes": 0, "oldest_unfinished_intent_at": null,
///     "dead_letters": 0
/// }))?;
/// assert_eq!(stats.tables["intents"], 3);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreStats {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The database's schema version: SQLite's `user_version` (migrations applied), or the
    /// newest applied PostgreSQL migration (`YYYYMMDDhhmmss`).
    pub schema_version: i64,
    /// Rows per table, by table name (every table of axp's schema).
    pub tables: BTreeMap<String, u64>,
    /// Bytes the database takes: SQLite's main file (its pages), PostgreSQL's
    /// `pg_database_size`.
    pub database_bytes: u64,
    /// Bytes of SQLite's write-ahead log (`axp.db-wal`; 0 when there is none); `null` on
    /// PostgreSQL.
    pub wal_bytes: Option<u64>,
    /// `created_at` of the oldest intent not in a terminal status, across workspaces; `null`
    /// when every intent has finished.
    pub oldest_unfinished_intent_at: Option<Timestamp>,
    /// Deliveries in the dead-letter list (status `dead_lettered`), across workspaces.
    pub dead_letters: u64,
}
