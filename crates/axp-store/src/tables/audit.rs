//! The audit log: one entry per admin or security action, written in the action's transaction.

use async_trait::async_trait;
use axp_core::api::AuditEntry;

use crate::{AuditFilter, Result};

/// Table `audit_log`, per organization (and workspace).
///
/// **Ids** are assigned by the backend: unique, increasing and *visible in order*, like the
/// queue's cursors ([`crate::tables::QueueTable`]): once a read returned entry N, no entry below
/// N can appear later, so a page below a cursor never changes. SQLite has one writer, which
/// commits in id order; PostgreSQL ids are `xid << 20 | n` and its reads stop at the safe
/// horizon (`crates/axp-store-postgres/src/tables/mod.rs`).
#[async_trait]
pub trait AuditTable {
    /// Appends `entry` and returns its id. `entry.audit_id` is ignored: the backend assigns it.
    async fn insert_audit(&mut self, entry: &AuditEntry) -> Result<u64>;

    /// The entries matching `filter`, newest (highest id) first, at most `filter.limit`.
    async fn list_audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
}
