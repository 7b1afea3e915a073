//! [`SqliteTx`]: the storage traits on one SQLite connection, one module per aggregate (SQL
//! and row mapping only; the rules are the engine's).
//!
//! Every method body is synchronous: the future it returns is ready at once, so the writer
//! thread runs a whole job without an executor (see `writer.rs`).

mod access_requests;
mod accounts;
mod audit;
mod deliveries;
mod directory;
mod idempotency;
mod inbox;
mod intents;
mod media;
mod members;
mod mesh;
mod orgs;
mod people;
mod queue;
mod quotas;
mod retention;
mod routing;
mod schemas;
mod timers;
mod ui_sessions;
mod webhooks;

use std::collections::HashMap;

use axp_core::delivery::{Delivery, DeliveryStatus, EventCounters, Subscription, WebhookEvent};
use axp_core::ids::{
    ApiKeyId, ApprovalId, DeliveryId, EventId, IntentId, OrgId, ServiceAccountId, SubscriptionId, WorkspaceId,
};
use axp_core::inbox::{Approval, TimelineEntry};
use axp_core::timer::Timer;
use axp_core::{AgentAddress, Intent, IntentEvent, Status, Timestamp};
use axp_store::tables::{
    AccessRequestTable, AccountTable, AuditTable, DeliveryTable, DirectoryTable, IdempotencyTable,
    InboxTable, IntentTable, MemberTable, OrgTable, PeopleTable, QueueTable, TimerTable, WebhookTable,
};
use axp_store::{
    ApiKeyRecord, DueTimer, Error, IdempotencyClaim, IntentFilter, IntentRows, Membership, NewApiKey,
    NewServiceAccount, Participant, Principal, QueueItem, QueueRead, Queued, Result, ServiceAccountRecord,
    Tenant, Topic, Transaction, from_json, to_json,
};
use r2d2_sqlite::rusqlite::{self, Connection, params};

use crate::counters::Counters;
use crate::keys::{BatchKeys, Keyed, Keys, NO_KEY, insert_key, stored_key};

/// The storage traits over one connection: the writer's (inside its batch transaction, with
/// the in-memory cursor counters) or a reader's (no counters: it cannot queue).
pub(crate) struct SqliteTx<'c> {
    pub(crate) conn: &'c mut Connection,
    /// Agent cursors and thread `change_seq`s handed out from memory (the writer's only).
    pub(crate) counters: Option<&'c mut Counters>,
    /// The committed keys remembered (`keys.rs`).
    pub(crate) keys: &'c Keys,
    /// The writer's keys of this batch not yet committed: given by its jobs, or read back from
    /// the rows they wrote. The writer remembers them once the batch commits and forgets them
    /// when a job or the batch rolls back.
    pub(crate) new_keys: BatchKeys,
    /// Topics the jobs announced.
    pub(crate) topics: Vec<Topic>,
    /// Set by a job that changed a key or service account.
    pub(crate) principals_changed: bool,
}

impl<'c> SqliteTx<'c> {
    /// Over a read connection.
    pub(crate) fn reader(conn: &'c mut Connection, keys: &'c Keys) -> Self {
        Self::new(conn, None, keys)
    }

    /// Over the write connection, for one batch: no keys given, no topics announced yet.
    pub(crate) fn writer(conn: &'c mut Connection, counters: &'c mut Counters, keys: &'c Keys) -> Self {
        Self::new(conn, Some(counters), keys)
    }

    fn new(conn: &'c mut Connection, counters: Option<&'c mut Counters>, keys: &'c Keys) -> Self {
        Self {
            conn,
            counters,
            keys,
            new_keys: BatchKeys::default(),
            topics: Vec::new(),
            principals_changed: false,
        }
    }

    /// The key of `name` in the keyed tables (`keys.rs`), or [`NO_KEY`] when it has none,
    /// which matches no row.
    ///
    /// Errors: the database's.
    pub(crate) fn key(&mut self, name: &Keyed) -> Result<i64> {
        if let Some(key) = self.known_key(name) {
            return Ok(key);
        }
        let Some(key) = stored_key(self.conn, name)? else { return Ok(NO_KEY) };
        if self.counters.is_some() {
            // Perhaps written by this batch: committed only with it.
            self.new_keys.insert(name.clone(), key);
        } else {
            self.keys.learn([(name.clone(), key)]);
        }
        Ok(key)
    }

    /// The key of `name` remembered ([`Keys`]) or given by this batch, without reading the
    /// database.
    fn known_key(&self, name: &Keyed) -> Option<i64> {
        self.keys.get(name).or_else(|| self.new_keys.get(name).copied())
    }

    /// The key of `name` for a row the writer inserts: the one it has, or a new one.
    ///
    /// A name not in memory is inserted first and read only when it was there already (see
    /// [`insert_key`]). A new name (an agent address seen for the first time) then costs one
    /// walk of the name's index instead of two (a lookup that misses, then the insert); a name
    /// with a key that memory forgot costs two instead of one, once per name after a restart
    /// or after memory evicted it ([`crate::keys::REMEMBERED`]).
    ///
    /// Errors: [`Error::Internal`] on a read connection; the database's.
    pub(crate) fn key_to_insert(&mut self, name: Keyed) -> Result<i64> {
        if let Some(key) = self.known_key(&name) {
            return Ok(key);
        }
        let (conn, _) = self.counters()?;
        let key = match insert_key(conn, &name)? {
            Some(key) => key,
            None => stored_key(conn, &name)?
                .ok_or_else(|| Error::Internal(format!("the key of {name:?} is neither new nor stored")))?,
        };
        // Committed only with this batch (a new key), or perhaps written by it (a stored one).
        self.new_keys.insert(name, key);
        Ok(key)
    }

    /// The key of workspace `ws` ([`Self::key`]).
    pub(crate) fn ws_key(&mut self, ws: WorkspaceId) -> Result<i64> {
        self.key(&Keyed::Workspace(ws))
    }

    /// The key of `agent` in the workspace with key `ws` ([`Self::key`]).
    pub(crate) fn agent_key(&mut self, ws: i64, agent: &str) -> Result<i64> {
        self.key(&Keyed::Agent(ws, agent.into()))
    }

    /// The writer's counters. Errors: [`Error::Internal`] on a read connection.
    fn counters(&mut self) -> Result<(&Connection, &mut Counters)> {
        match self.counters.as_deref_mut() {
            Some(counters) => Ok((&*self.conn, counters)),
            None => Err(Error::Internal("a write on a read connection".into())),
        }
    }
}

impl Transaction for SqliteTx<'_> {
    fn announce(&mut self, topic: Topic) {
        self.topics.push(topic);
    }

    fn principals_changed(&mut self) {
        self.principals_changed = true;
    }
}

/// Maps a SQLite error to a store error, naming the constraint of a uniqueness violation.
pub(crate) fn db(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e
        && f.code == rusqlite::ErrorCode::ConstraintViolation
    {
        let constraint = msg.strip_prefix("UNIQUE constraint failed: ").unwrap_or(msg).to_owned();
        return Error::Conflict { constraint };
    }
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::DiskFull
            ) =>
        {
            Error::Unavailable(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) =>
        {
            Error::Corrupt(e.to_string())
        }
        other => Error::Internal(other.to_string()),
    }
}

/// An intent id as the keyed tables store it (`intent_id`, `thread_id`): its 16 bytes, a BLOB,
/// which sorts as its text does (migration 0023).
fn id_blob(id: &IntentId) -> &[u8; 16] {
    id.0.as_bytes()
}

/// Column `i` of `r`, an intent id stored by [`id_blob`].
fn blob_id(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<IntentId> {
    let bytes = r.get_ref(i)?.as_blob()?;
    uuid::Uuid::from_slice(bytes)
        .map(IntentId)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e)))
}

/// `intents.status` as stored (migration 0024): the status's place in [`Status::ALL`], CREATED
/// 0 to TIMED_OUT 9 (the migration's CASE gives the same numbers).
pub(crate) fn status_code(status: Status) -> i64 {
    Status::ALL.iter().position(|s| *s == status).unwrap_or_default() as i64
}

/// A UUID column read back.
fn uuid_of(s: &str) -> Result<uuid::Uuid> {
    s.parse().map_err(|e: uuid::Error| Error::Internal(e.to_string()))
}
