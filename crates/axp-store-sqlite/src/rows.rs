//! SQL for each aggregate, as functions over a connection. Writer jobs and readers share them.

use axp_core::api::{AgentDelivery, ServiceAccount};
use axp_core::delivery::{Delivery, DeliveryStatus, EventCounters, Subscription, WebhookEvent};
use axp_core::ids::{IntentId, OrgId, ServiceAccountId, WorkspaceId};
use axp_core::inbox::{Approval, TimelineEntry};
use axp_core::timer::{Timer, TimerKind};
use axp_core::{AgentAddress, Intent, IntentEvent, Status, Timestamp};
use axp_store::{
    ApiKeyRecord, Error, IdempotencyClaim, IntentFilter, NewApiKey, NewServiceAccount, Principal, Result,
    ServiceAccountRecord, Tenant,
};
use r2d2_sqlite::rusqlite::{self, Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
        other => Error::Internal(other.to_string()),
    }
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("corrupt row: {e}")))
}

// ---- tenants and identities ----

pub(crate) fn any_org(conn: &Connection) -> Result<bool> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM orgs)", [], |r| r.get(0)).map_err(db)
}

/// The org with `slug`, created if missing.
pub(crate) fn ensure_org(conn: &Connection, slug: &str, now: Timestamp) -> Result<OrgId> {
    let existing: Option<String> = conn
        .query_row("SELECT org_id FROM orgs WHERE slug = ?1", [slug], |r| r.get(0))
        .optional()
        .map_err(db)?;
    if let Some(id) = existing {
        return id.parse().map(OrgId).map_err(|e| Error::Internal(e.to_string()));
    }
    let id = OrgId::new();
    conn.execute(
        "INSERT INTO orgs (org_id, slug, created_at) VALUES (?1, ?2, ?3)",
        params![id.to_string(), slug, now.as_millis()],
    )
    .map_err(db)?;
    Ok(id)
}

pub(crate) fn insert_workspace(
    conn: &Connection,
    org: OrgId,
    slug: &str,
    now: Timestamp,
) -> Result<WorkspaceId> {
    let id = WorkspaceId::new();
    conn.execute(
        "INSERT INTO workspaces (workspace_id, org_id, slug, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id.to_string(), org.to_string(), slug, now.as_millis()],
    )
    .map_err(db)?;
    Ok(id)
}

/// The public part of an `http` binding's config: `{"url": …}` (the secret is stored apart).
pub(crate) fn push_config(url: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut config = serde_json::Map::new();
    config.insert("url".into(), serde_json::Value::String(url.to_owned()));
    config
}

pub(crate) fn insert_service_account(
    conn: &Connection,
    tenant: &Tenant,
    sa: &NewServiceAccount,
) -> Result<ServiceAccountRecord> {
    let record = ServiceAccount {
        service_account_id: sa.id,
        org_id: tenant.org_id,
        workspace_id: tenant.workspace_id,
        name: sa.name.clone(),
        description: sa.description.clone(),
        status: "active".into(),
        created_by_actor_id: sa.created_by.clone(),
        created_at: sa.created_at,
        updated_at: sa.created_at,
        agent_address: sa.agent_address.to_string(),
        address: sa.agent_address.to_string(),
        display_name: sa.display_name.clone(),
        delivery_mode: sa.delivery_mode.clone(),
        lease_seconds: sa.lease_seconds,
        delivery_config: sa.push.as_ref().map(|p| push_config(&p.url)),
    };
    conn.execute(
        "INSERT INTO service_accounts (workspace_id, service_account_id, name, agent_address, body, push_secret)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            tenant.workspace_id.to_string(),
            sa.id.to_string(),
            sa.name,
            sa.agent_address.as_str(),
            to_json(&record)?,
            sa.push.as_ref().map(|p| p.secret.as_str())
        ],
    )
    .map_err(db)?;
    Ok(record)
}

pub(crate) fn service_account(
    conn: &Connection,
    tenant: &Tenant,
    id: ServiceAccountId,
) -> Result<Option<ServiceAccountRecord>> {
    conn.query_row(
        "SELECT body FROM service_accounts WHERE workspace_id = ?1 AND service_account_id = ?2",
        params![tenant.workspace_id.to_string(), id.to_string()],
        |r| r.get::<_, String>(0),
    )
    .optional()
    .map_err(db)?
    .map(|b| from_json(&b))
    .transpose()
}

pub(crate) fn agent_by_address(
    conn: &Connection,
    ws: WorkspaceId,
    address: &str,
) -> Result<Option<ServiceAccountRecord>> {
    conn.prepare_cached("SELECT body FROM service_accounts WHERE workspace_id = ?1 AND agent_address = ?2")
        .map_err(db)?
        .query_row(params![ws.to_string(), address], |r| r.get::<_, String>(0))
        .optional()
        .map_err(db)?
        .map(|b| from_json(&b))
        .transpose()
}

pub(crate) fn insert_api_key(
    conn: &Connection,
    tenant: &Tenant,
    account: ServiceAccountId,
    key: &NewApiKey,
) -> Result<ApiKeyRecord> {
    let record = ApiKeyRecord {
        key_id: key.key_id,
        service_account_id: account,
        key_hint: key.hint.clone(),
        status: "active".into(),
        created_at: key.created_at,
        expires_at: key.expires_at,
        revoked_at: None,
        token: None,
    };
    conn.execute(
        "INSERT INTO api_keys (key_hash, workspace_id, key_id, service_account_id, body, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            key.hash.0.as_slice(),
            tenant.workspace_id.to_string(),
            key.key_id.to_string(),
            account.to_string(),
            to_json(&record)?,
            key.expires_at.map(Timestamp::as_millis)
        ],
    )
    .map_err(db)?;
    Ok(record)
}

pub(crate) fn api_key(
    conn: &Connection,
    tenant: &Tenant,
    account: ServiceAccountId,
    key: axp_core::ApiKeyId,
) -> Result<Option<ApiKeyRecord>> {
    conn.query_row(
        "SELECT body FROM api_keys WHERE workspace_id = ?1 AND key_id = ?2 AND service_account_id = ?3",
        params![tenant.workspace_id.to_string(), key.to_string(), account.to_string()],
        |r| r.get::<_, String>(0),
    )
    .optional()
    .map_err(db)?
    .map(|b| from_json(&b))
    .transpose()
}

pub(crate) fn update_api_key(conn: &Connection, tenant: &Tenant, record: &ApiKeyRecord) -> Result<()> {
    conn.execute(
        "UPDATE api_keys SET body = ?1, revoked_at = ?2 WHERE workspace_id = ?3 AND key_id = ?4",
        params![
            to_json(record)?,
            record.revoked_at.map(Timestamp::as_millis),
            tenant.workspace_id.to_string(),
            record.key_id.to_string()
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn parse<T: std::str::FromStr>(s: String) -> rusqlite::Result<T> {
    s.parse().map_err(|_| rusqlite::Error::InvalidColumnType(0, s, rusqlite::types::Type::Text))
}

/// The principal behind an active, unexpired key, with the key's expiry (`None`: never).
pub(crate) fn principal(
    conn: &Connection,
    hash: &[u8; 32],
    now: Timestamp,
) -> Result<Option<(Principal, Option<Timestamp>)>> {
    conn.prepare_cached(
        "SELECT w.org_id, w.workspace_id, o.slug, w.slug, k.service_account_id, k.key_id, s.agent_address,
                k.expires_at
           FROM api_keys k
           JOIN workspaces w ON w.workspace_id = k.workspace_id
           JOIN orgs o ON o.org_id = w.org_id
           JOIN service_accounts s ON s.workspace_id = k.workspace_id AND s.service_account_id = k.service_account_id
          WHERE k.key_hash = ?1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?2)",
    )
    .map_err(db)?
    .query_row(params![hash.as_slice(), now.as_millis()], |r| {
        let principal = Principal {
            tenant: Tenant {
                org_id: OrgId(parse(r.get(0)?)?),
                workspace_id: WorkspaceId(parse(r.get(1)?)?),
                org_slug: r.get(2)?,
                workspace_slug: r.get(3)?,
            },
            service_account_id: ServiceAccountId(parse(r.get(4)?)?),
            key_id: axp_core::ApiKeyId(parse(r.get(5)?)?),
            agent_address: AgentAddress::from_trusted(r.get(6)?),
        };
        Ok((principal, r.get::<_, Option<i64>>(7)?.map(Timestamp::from_millis)))
    })
    .optional()
    .map_err(db)
}

// ---- intents ----

pub(crate) fn intent(conn: &Connection, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>> {
    conn.prepare_cached("SELECT body FROM intents WHERE workspace_id = ?1 AND intent_id = ?2")
        .map_err(db)?
        .query_row(params![ws.to_string(), id.to_string()], |r| r.get::<_, String>(0))
        .optional()
        .map_err(db)?
        .map(|b| from_json(&b))
        .transpose()
}

/// Inserts a new intent; `body` is `intent` serialized (see [`IntentRows`]).
pub(crate) fn insert_intent(conn: &Connection, ws: WorkspaceId, intent: &Intent, body: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO intents (workspace_id, intent_id, status, to_agent, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .map_err(db)?
    .execute(params![
        ws.to_string(),
        intent.intent_id.to_string(),
        intent.status.as_str(),
        intent.to_agent,
        intent.created_at.as_millis(),
        body
    ])
    .map_err(db)?;
    Ok(())
}

/// A new intent's row bodies, serialized before its writer job is queued, so the JSON work
/// happens on the caller's thread and not on the (serial) writer thread.
pub(crate) struct IntentRows {
    /// The intent's body.
    pub(crate) intent: String,
    /// Each event's body, in the order of the events.
    pub(crate) events: Vec<String>,
}

impl IntentRows {
    /// Serializes `intent` and `events`.
    ///
    /// Errors: [`Error::Internal`] if a value cannot be serialized.
    pub(crate) fn new(intent: &Intent, events: &[IntentEvent]) -> Result<Self> {
        Ok(Self { intent: to_json(intent)?, events: events.iter().map(to_json).collect::<Result<_>>()? })
    }
}

pub(crate) fn update_intent(conn: &Connection, ws: WorkspaceId, intent: &Intent) -> Result<()> {
    conn.prepare_cached(
        "UPDATE intents SET status = ?1, to_agent = ?2, body = ?3 WHERE workspace_id = ?4 AND intent_id = ?5",
    )
    .map_err(db)?
    .execute(params![
        intent.status.as_str(),
        intent.to_agent,
        to_json(intent)?,
        ws.to_string(),
        intent.intent_id.to_string()
    ])
    .map_err(db)?;
    Ok(())
}

pub(crate) fn insert_events(conn: &Connection, ws: WorkspaceId, events: &[IntentEvent]) -> Result<()> {
    let bodies = events.iter().map(to_json).collect::<Result<Vec<_>>>()?;
    insert_event_bodies(conn, ws, events, &bodies)
}

/// As [`insert_events`], with `bodies[i]` the serialized `events[i]`.
pub(crate) fn insert_event_bodies(
    conn: &Connection,
    ws: WorkspaceId,
    events: &[IntentEvent],
    bodies: &[String],
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO intent_events (workspace_id, intent_id, seq, body) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(db)?;
    let ws = ws.to_string();
    for (e, body) in events.iter().zip(bodies) {
        stmt.execute(params![ws, e.intent_id.to_string(), e.seq as i64, body]).map_err(db)?;
    }
    Ok(())
}

pub(crate) fn events_since(
    conn: &Connection,
    ws: WorkspaceId,
    id: IntentId,
    since: u64,
    limit: u32,
) -> Result<Vec<IntentEvent>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM intent_events WHERE workspace_id = ?1 AND intent_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![ws.to_string(), id.to_string(), since.min(i64::MAX as u64) as i64, limit], |r| {
            r.get::<_, String>(0)
        })
        .map_err(db)?;
    rows.map(|b| from_json(&b.map_err(db)?)).collect()
}

pub(crate) fn intent_exists(conn: &Connection, ws: WorkspaceId, id: IntentId) -> Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM intents WHERE workspace_id = ?1 AND intent_id = ?2)")
        .map_err(db)?
        .query_row(params![ws.to_string(), id.to_string()], |r| r.get(0))
        .map_err(db)
}

/// Comma-wrapped status list for `instr()` matching: `,SUBMITTED,DELIVERED,`.
pub(crate) fn status_set(statuses: &[Status]) -> String {
    let mut s = String::from(",");
    for st in statuses {
        s.push_str(st.as_str());
        s.push(',');
    }
    s
}

pub(crate) fn list_intents(conn: &Connection, ws: WorkspaceId, filter: &IntentFilter) -> Result<Vec<Intent>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM intents
              WHERE workspace_id = ?1
                AND (?2 = ',' OR instr(?2, ',' || status || ',') > 0)
                AND (?3 IS NULL OR to_agent = ?3)
                AND (?5 IS NULL OR created_at <= ?5)
              ORDER BY created_at, intent_id LIMIT ?4",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(
            params![
                ws.to_string(),
                status_set(&filter.statuses),
                filter.to_agent,
                filter.limit,
                filter.created_before.map(Timestamp::as_millis)
            ],
            |r| r.get::<_, String>(0),
        )
        .map_err(db)?;
    rows.map(|b| from_json(&b.map_err(db)?)).collect()
}

// ---- agent queue ----

/// The highest cursor in the queue of `address` (0 when empty).
pub(crate) fn last_cursor(conn: &Connection, ws: WorkspaceId, address: &str) -> Result<u64> {
    highest(
        conn,
        "SELECT COALESCE(MAX(cursor), 0) FROM agent_queue WHERE workspace_id = ?1 AND agent_address = ?2",
        ws,
        address,
    )
}

/// The one integer `sql` selects for (`ws`, `key`).
fn highest(conn: &Connection, sql: &str, ws: WorkspaceId, key: &str) -> Result<u64> {
    conn.prepare_cached(sql)
        .map_err(db)?
        .query_row(params![ws.to_string(), key], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(db)
}

/// Appends `intent` to the queue of its `to_agent` at `cursor` (the next one of that agent).
pub(crate) fn enqueue(
    conn: &Connection,
    ws: WorkspaceId,
    intent: &Intent,
    cursor: u64,
    reason: &str,
    now: Timestamp,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO agent_queue (workspace_id, agent_address, cursor, intent_id, reason, queued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .map_err(db)?
    .execute(params![
        ws.to_string(),
        intent.to_agent,
        cursor as i64,
        intent.intent_id.to_string(),
        reason,
        now.as_millis()
    ])
    .map_err(db)?;
    Ok(())
}

/// A queue item with its intent.
pub(crate) struct Queued {
    pub(crate) cursor: u64,
    pub(crate) queued_at: Timestamp,
    /// Whether it was already handed to the agent (a replay if sent again).
    pub(crate) handed: bool,
    pub(crate) intent: Intent,
}

fn queue_rows(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<Queued>> {
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(db)?;
    rows.map(|row| {
        let (cursor, at, handed_at, body) = row.map_err(db)?;
        Ok(Queued {
            cursor: cursor as u64,
            queued_at: Timestamp::from_millis(at),
            handed: handed_at.is_some(),
            intent: from_json(&body)?,
        })
    })
    .collect()
}

/// Queue items of `address` after cursor `since` whose intent's status is in `statuses`.
pub(crate) fn queued(
    conn: &Connection,
    ws: WorkspaceId,
    address: &str,
    since: u64,
    statuses: &[Status],
    limit: u32,
) -> Result<Vec<Queued>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT q.cursor, q.queued_at, q.handed_at, i.body
               FROM agent_queue q
               JOIN intents i ON i.workspace_id = q.workspace_id AND i.intent_id = q.intent_id
              WHERE q.workspace_id = ?1 AND q.agent_address = ?2 AND q.cursor > ?3
                AND instr(?4, ',' || i.status || ',') > 0
              ORDER BY q.cursor LIMIT ?5",
        )
        .map_err(db)?;
    let since = since.min(i64::MAX as u64) as i64;
    queue_rows(&mut stmt, params![ws.to_string(), address, since, status_set(statuses), limit])
}

/// Queue items of `address` not yet handed to it whose intent can still be delivered, oldest
/// first: what a poll claim takes.
pub(crate) fn unhanded(conn: &Connection, ws: WorkspaceId, address: &str, limit: u32) -> Result<Vec<Queued>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT q.cursor, q.queued_at, q.handed_at, i.body
               FROM agent_queue q
               JOIN intents i ON i.workspace_id = q.workspace_id AND i.intent_id = q.intent_id
              WHERE q.workspace_id = ?1 AND q.agent_address = ?2 AND q.handed_at IS NULL
                AND i.status IN ('SUBMITTED', 'DELIVERED')
              ORDER BY q.cursor LIMIT ?3",
        )
        .map_err(db)?;
    queue_rows(&mut stmt, params![ws.to_string(), address, limit])
}

pub(crate) fn mark_handed(
    conn: &Connection,
    ws: WorkspaceId,
    address: &str,
    cursor: u64,
    now: Timestamp,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE agent_queue SET handed_at = ?1 WHERE workspace_id = ?2 AND agent_address = ?3 AND cursor = ?4",
    )
    .map_err(db)?
    .execute(params![now.as_millis(), ws.to_string(), address, cursor as i64])
    .map_err(db)?;
    Ok(())
}

// ---- timers ----

/// Schedules `timers` for an intent, replacing any with the same key.
pub(crate) fn schedule(
    conn: &Connection,
    ws: WorkspaceId,
    intent_id: IntentId,
    timers: &[Timer],
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO timers (workspace_id, intent_id, key, kind, due_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db)?;
    for t in timers {
        stmt.execute(params![
            ws.to_string(),
            intent_id.to_string(),
            t.kind.key(),
            to_json(&t.kind)?,
            t.due_at.as_millis()
        ])
        .map_err(db)?;
    }
    Ok(())
}

/// Drops every timer of an intent (it ended).
pub(crate) fn clear_timers(conn: &Connection, ws: WorkspaceId, intent_id: IntentId) -> Result<()> {
    conn.prepare_cached("DELETE FROM timers WHERE workspace_id = ?1 AND intent_id = ?2")
        .map_err(db)?
        .execute(params![ws.to_string(), intent_id.to_string()])
        .map_err(db)?;
    Ok(())
}

pub(crate) fn delete_timer(conn: &Connection, ws: WorkspaceId, intent_id: IntentId, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM timers WHERE workspace_id = ?1 AND intent_id = ?2 AND key = ?3")
        .map_err(db)?
        .execute(params![ws.to_string(), intent_id.to_string(), key])
        .map_err(db)?;
    Ok(())
}

/// A due timer.
pub(crate) struct DueTimer {
    pub(crate) workspace_id: WorkspaceId,
    pub(crate) intent_id: IntentId,
    pub(crate) kind: TimerKind,
}

/// Timers due at `now`, earliest first, across all workspaces (the scheduler is the server's).
pub(crate) fn due_timers(conn: &Connection, now: Timestamp, limit: u32) -> Result<Vec<DueTimer>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT workspace_id, intent_id, kind FROM timers WHERE due_at <= ?1 ORDER BY due_at LIMIT ?2",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![now.as_millis(), limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })
        .map_err(db)?;
    rows.map(|row| {
        let (ws, id, kind) = row.map_err(db)?;
        Ok(DueTimer {
            workspace_id: ws.parse().map(WorkspaceId).map_err(|e| Error::Internal(e.to_string()))?,
            intent_id: id.parse().map(IntentId).map_err(|e| Error::Internal(e.to_string()))?,
            kind: from_json(&kind)?,
        })
    })
    .collect()
}

pub(crate) fn next_due(conn: &Connection) -> Result<Option<Timestamp>> {
    conn.prepare_cached("SELECT MIN(due_at) FROM timers")
        .map_err(db)?
        .query_row([], |r| r.get::<_, Option<i64>>(0))
        .map(|t| t.map(Timestamp::from_millis))
        .map_err(db)
}

impl Queued {
    pub(crate) fn into_delivery(self) -> AgentDelivery {
        let i = self.intent;
        AgentDelivery {
            intent_id: i.intent_id,
            seq: self.cursor,
            event_type: "intent.delivered".into(),
            status: i.status,
            at: self.queued_at,
            intent_type: i.intent_type,
            from_agent: i.from_agent,
            to_agent: i.to_agent,
            correlation_id: i.correlation_id,
            payload: i.payload,
            step_id: i.step_id,
            delivery_attempt: i.delivery_attempt.max(1),
            pending_with: i.pending_with,
        }
    }
}

// ---- idempotency ----

/// The stored response for a live record of this claim: `Ok(Some(body))` on a fingerprint
/// match, [`Error::IdempotencyConflict`] on a mismatch, `Ok(None)` when there is none (an
/// expired record is deleted).
pub(crate) fn idempotent_replay(
    conn: &Connection,
    ws: WorkspaceId,
    claim: &IdempotencyClaim,
) -> Result<Option<(IntentId, String)>> {
    let row: Option<(String, String, String, i64)> = conn
        .prepare_cached(
            "SELECT fingerprint, intent_id, body, expires_at FROM idempotency
              WHERE workspace_id = ?1 AND caller = ?2 AND route = ?3 AND key = ?4",
        )
        .map_err(db)?
        .query_row(params![ws.to_string(), claim.caller.to_string(), claim.route, claim.key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .map_err(db)?;
    let Some((fingerprint, intent_id, body, expires_at)) = row else {
        return Ok(None);
    };
    if expires_at <= claim.now.as_millis() {
        conn.execute(
            "DELETE FROM idempotency WHERE workspace_id = ?1 AND caller = ?2 AND route = ?3 AND key = ?4",
            params![ws.to_string(), claim.caller.to_string(), claim.route, claim.key],
        )
        .map_err(db)?;
        return Ok(None);
    }
    if fingerprint != claim.fingerprint {
        return Err(Error::IdempotencyConflict);
    }
    let id = intent_id.parse().map(IntentId).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Some((id, body)))
}

pub(crate) fn record_idempotency(
    conn: &Connection,
    ws: WorkspaceId,
    claim: &IdempotencyClaim,
    intent_id: IntentId,
    body: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO idempotency (workspace_id, caller, route, key, fingerprint, intent_id, body, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(db)?
    .execute(params![
        ws.to_string(),
        claim.caller.to_string(),
        claim.route,
        claim.key,
        claim.fingerprint,
        intent_id.to_string(),
        body,
        claim.expires_at.as_millis()
    ])
    .map_err(db)?;
    Ok(())
}

// ---- agents' bindings ----

/// The agents of a workspace, oldest first.
pub(crate) fn list_agents(
    conn: &Connection,
    ws: WorkspaceId,
    limit: u32,
) -> Result<Vec<ServiceAccountRecord>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM service_accounts WHERE workspace_id = ?1
              ORDER BY service_account_id LIMIT ?2",
        )
        .map_err(db)?;
    let rows = stmt.query_map(params![ws.to_string(), limit], |r| r.get::<_, String>(0)).map_err(db)?;
    rows.map(|b| from_json(&b.map_err(db)?)).collect()
}

/// Rewrites an agent's record and its push secret.
pub(crate) fn update_agent(
    conn: &Connection,
    ws: WorkspaceId,
    sa: &ServiceAccountRecord,
    push_secret: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE service_accounts SET body = ?1, push_secret = ?2 WHERE workspace_id = ?3 AND service_account_id = ?4",
    )
    .map_err(db)?
    .execute(params![to_json(sa)?, push_secret, ws.to_string(), sa.service_account_id.to_string()])
    .map_err(db)?;
    Ok(())
}

/// The signing secret of the `http` agent at `address`.
pub(crate) fn push_secret(conn: &Connection, ws: WorkspaceId, address: &str) -> Result<Option<String>> {
    conn.prepare_cached(
        "SELECT push_secret FROM service_accounts WHERE workspace_id = ?1 AND agent_address = ?2",
    )
    .map_err(db)?
    .query_row(params![ws.to_string(), address], |r| r.get::<_, Option<String>>(0))
    .optional()
    .map(Option::flatten)
    .map_err(db)
}

// ---- push deliveries ----

pub(crate) fn insert_delivery(
    conn: &Connection,
    ws: WorkspaceId,
    d: &Delivery,
    secret_owner: &str,
    due_at: Option<Timestamp>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO deliveries (workspace_id, delivery_id, kind, status, due_at, secret_owner, created_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(db)?
    .execute(params![
        ws.to_string(),
        d.delivery_id.to_string(),
        d.kind.as_str(),
        d.status.as_str(),
        due_at.map(Timestamp::as_millis),
        secret_owner,
        d.created_at.as_millis(),
        to_json(d)?
    ])
    .map_err(db)?;
    Ok(())
}

pub(crate) fn update_delivery(
    conn: &Connection,
    ws: WorkspaceId,
    d: &Delivery,
    due_at: Option<Timestamp>,
) -> Result<()> {
    conn.prepare_cached("UPDATE deliveries SET status = ?1, due_at = ?2, body = ?3 WHERE workspace_id = ?4 AND delivery_id = ?5")
        .map_err(db)?
        .execute(params![d.status.as_str(), due_at.map(Timestamp::as_millis), to_json(d)?, ws.to_string(), d.delivery_id.to_string()])
        .map_err(db)?;
    Ok(())
}

/// A delivery and the owner of its signing secret.
pub(crate) fn delivery(
    conn: &Connection,
    ws: WorkspaceId,
    id: uuid::Uuid,
) -> Result<Option<(Delivery, String)>> {
    conn.prepare_cached(
        "SELECT body, secret_owner FROM deliveries WHERE workspace_id = ?1 AND delivery_id = ?2",
    )
    .map_err(db)?
    .query_row(params![ws.to_string(), id.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })
    .optional()
    .map_err(db)?
    .map(|(body, owner)| Ok((from_json(&body)?, owner)))
    .transpose()
}

/// Deliveries due at `now` across workspaces, earliest first.
pub(crate) fn due_deliveries(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<(WorkspaceId, Delivery, String)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT workspace_id, body, secret_owner FROM deliveries
              WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at LIMIT ?2",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![now.as_millis(), limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })
        .map_err(db)?;
    rows.map(|row| {
        let (ws, body, owner) = row.map_err(db)?;
        let ws = ws.parse().map(WorkspaceId).map_err(|e| Error::Internal(e.to_string()))?;
        Ok((ws, from_json(&body)?, owner))
    })
    .collect()
}

pub(crate) fn next_delivery_due(conn: &Connection) -> Result<Option<Timestamp>> {
    conn.prepare_cached("SELECT MIN(due_at) FROM deliveries WHERE due_at IS NOT NULL")
        .map_err(db)?
        .query_row([], |r| r.get::<_, Option<i64>>(0))
        .map(|t| t.map(Timestamp::from_millis))
        .map_err(db)
}

pub(crate) fn list_deliveries(
    conn: &Connection,
    ws: WorkspaceId,
    status: Option<DeliveryStatus>,
    limit: u32,
) -> Result<Vec<Delivery>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM deliveries WHERE workspace_id = ?1 AND (?2 IS NULL OR status = ?2)
              ORDER BY created_at DESC, delivery_id DESC LIMIT ?3",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![ws.to_string(), status.map(DeliveryStatus::as_str), limit], |r| {
            r.get::<_, String>(0)
        })
        .map_err(db)?;
    rows.map(|b| from_json(&b.map_err(db)?)).collect()
}

// ---- webhooks ----

pub(crate) fn org_of(conn: &Connection, ws: WorkspaceId) -> Result<OrgId> {
    let id: String = conn
        .prepare_cached("SELECT org_id FROM workspaces WHERE workspace_id = ?1")
        .map_err(db)?
        .query_row(params![ws.to_string()], |r| r.get(0))
        .map_err(db)?;
    id.parse().map(OrgId).map_err(|e| Error::Internal(e.to_string()))
}

/// The subscription of `owner` for `callback_url`, with its secret.
pub(crate) fn subscription_by_url(
    conn: &Connection,
    ws: WorkspaceId,
    owner: &str,
    url: &str,
) -> Result<Option<(Subscription, String)>> {
    conn.prepare_cached(
        "SELECT body, secret FROM webhook_subscriptions WHERE workspace_id = ?1 AND owner_agent = ?2 AND callback_url = ?3",
    )
    .map_err(db)?
    .query_row(params![ws.to_string(), owner, url], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
    .optional()
    .map_err(db)?
    .map(|(body, secret)| Ok((from_json(&body)?, secret)))
    .transpose()
}

pub(crate) fn subscription(
    conn: &Connection,
    ws: WorkspaceId,
    id: uuid::Uuid,
) -> Result<Option<(Subscription, String)>> {
    conn.prepare_cached(
        "SELECT body, secret FROM webhook_subscriptions WHERE workspace_id = ?1 AND subscription_id = ?2",
    )
    .map_err(db)?
    .query_row(params![ws.to_string(), id.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })
    .optional()
    .map_err(db)?
    .map(|(body, secret)| Ok((from_json(&body)?, secret)))
    .transpose()
}

/// Inserts or rewrites a subscription.
pub(crate) fn put_subscription(
    conn: &Connection,
    ws: WorkspaceId,
    s: &Subscription,
    secret: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO webhook_subscriptions (workspace_id, subscription_id, owner_agent, callback_url, active, secret, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (workspace_id, subscription_id) DO UPDATE SET active = ?5, secret = ?6, body = ?7",
    )
    .map_err(db)?
    .execute(params![ws.to_string(), s.subscription_id.to_string(), s.owner_agent, s.callback_url, s.active, secret, to_json(s)?])
    .map_err(db)?;
    Ok(())
}

pub(crate) fn list_subscriptions(
    conn: &Connection,
    ws: WorkspaceId,
    owner: &str,
    include_inactive: bool,
) -> Result<Vec<Subscription>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM webhook_subscriptions WHERE workspace_id = ?1 AND owner_agent = ?2 AND (?3 OR active = 1)
              ORDER BY subscription_id",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![ws.to_string(), owner, include_inactive], |r| r.get::<_, String>(0))
        .map_err(db)?;
    rows.map(|b| from_json(&b.map_err(db)?)).collect()
}

/// Active subscriptions of any of `owners`.
pub(crate) fn active_subscriptions(
    conn: &Connection,
    ws: WorkspaceId,
    owners: &[&str],
) -> Result<Vec<Subscription>> {
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare_cached("SELECT body FROM webhook_subscriptions WHERE workspace_id = ?1 AND owner_agent = ?2 AND active = 1")
        .map_err(db)?;
    for owner in owners {
        let rows = stmt.query_map(params![ws.to_string(), owner], |r| r.get::<_, String>(0)).map_err(db)?;
        for b in rows {
            out.push(from_json(&b.map_err(db)?)?);
        }
    }
    Ok(out)
}

pub(crate) fn insert_event(conn: &Connection, ws: WorkspaceId, e: &WebhookEvent) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO webhook_events (workspace_id, event_id, owner_agent, body) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(db)?
    .execute(params![ws.to_string(), e.event_id.to_string(), e.owner_agent, to_json(e)?])
    .map_err(db)?;
    Ok(())
}

pub(crate) fn event(
    conn: &Connection,
    ws: WorkspaceId,
    owner: &str,
    id: uuid::Uuid,
) -> Result<Option<WebhookEvent>> {
    conn.prepare_cached(
        "SELECT body FROM webhook_events WHERE workspace_id = ?1 AND event_id = ?2 AND owner_agent = ?3",
    )
    .map_err(db)?
    .query_row(params![ws.to_string(), id.to_string(), owner], |r| r.get::<_, String>(0))
    .optional()
    .map_err(db)?
    .map(|b| from_json(&b))
    .transpose()
}

pub(crate) fn set_delivery_event(
    conn: &Connection,
    ws: WorkspaceId,
    delivery: uuid::Uuid,
    event: uuid::Uuid,
) -> Result<()> {
    conn.prepare_cached("UPDATE deliveries SET event_id = ?1 WHERE workspace_id = ?2 AND delivery_id = ?3")
        .map_err(db)?
        .execute(params![event.to_string(), ws.to_string(), delivery.to_string()])
        .map_err(db)?;
    Ok(())
}

/// The counters of an event's deliveries (queued = all of them).
pub(crate) fn event_counters(conn: &Connection, ws: WorkspaceId, event: uuid::Uuid) -> Result<EventCounters> {
    let mut stmt = conn
        .prepare_cached("SELECT status, COUNT(*) FROM deliveries WHERE workspace_id = ?1 AND event_id = ?2 GROUP BY status")
        .map_err(db)?;
    let rows = stmt
        .query_map(params![ws.to_string(), event.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
        })
        .map_err(db)?;
    let mut c = EventCounters::default();
    for row in rows {
        let (status, n) = row.map_err(db)?;
        c.queued_deliveries += n;
        match DeliveryStatus::parse(&status) {
            Some(DeliveryStatus::Delivered) => c.delivered += n,
            Some(DeliveryStatus::Pending | DeliveryStatus::Delivering) => c.pending += n,
            Some(DeliveryStatus::DeadLettered | DeliveryStatus::Failed) => c.dead_lettered += n,
            None => {}
        }
    }
    Ok(c)
}

// ---- inbox ----

/// The highest `change_seq` of `owner`'s threads (0 when none).
pub(crate) fn last_change_seq(conn: &Connection, ws: WorkspaceId, owner: &str) -> Result<u64> {
    highest(
        conn,
        "SELECT COALESCE(MAX(change_seq), 0) FROM thread_participants WHERE workspace_id = ?1 AND owner_agent = ?2",
        ws,
        owner,
    )
}

/// A participant's row as [`touch_participant`] writes it.
pub(crate) struct Touch<'a> {
    pub(crate) owner: &'a str,
    pub(crate) thread: IntentId,
    pub(crate) role: &'a str,
    /// Whether the thread becomes unread for `owner` (it stays unread if it was).
    pub(crate) unread: bool,
    /// `owner`'s next `change_seq`.
    pub(crate) change_seq: u64,
}

/// Adds the owner to the thread (or touches their row): the thread moves to the top of their
/// changes feed (`change_seq`) and is unread unless the owner made the change.
pub(crate) fn touch_participant(
    conn: &Connection,
    ws: WorkspaceId,
    t: &Touch<'_>,
    now: Timestamp,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO thread_participants (workspace_id, owner_agent, thread_id, role, change_seq, unread, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (workspace_id, owner_agent, thread_id)
         DO UPDATE SET change_seq = ?5, unread = (unread OR ?6), updated_at = ?7",
    )
    .map_err(db)?
    .execute(params![
        ws.to_string(),
        t.owner,
        t.thread.to_string(),
        t.role,
        t.change_seq as i64,
        t.unread,
        now.as_millis()
    ])
    .map_err(db)?;
    Ok(())
}

/// Everyone who can see the thread.
pub(crate) fn participants(conn: &Connection, ws: WorkspaceId, thread: IntentId) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT owner_agent FROM thread_participants WHERE workspace_id = ?1 AND thread_id = ?2",
        )
        .map_err(db)?;
    let rows =
        stmt.query_map(params![ws.to_string(), thread.to_string()], |r| r.get::<_, String>(0)).map_err(db)?;
    rows.map(|r| r.map_err(db)).collect()
}

/// An owner's view state of a thread: (unread, hidden message ids, updated_at, change_seq).
pub(crate) struct Membership {
    pub(crate) unread: bool,
    pub(crate) hidden: Vec<String>,
    pub(crate) updated_at: Timestamp,
    pub(crate) change_seq: u64,
}

pub(crate) fn membership(
    conn: &Connection,
    ws: WorkspaceId,
    owner: &str,
    thread: IntentId,
) -> Result<Option<Membership>> {
    conn.prepare_cached(
        "SELECT unread, hidden, updated_at, change_seq FROM thread_participants
          WHERE workspace_id = ?1 AND owner_agent = ?2 AND thread_id = ?3",
    )
    .map_err(db)?
    .query_row(params![ws.to_string(), owner, thread.to_string()], |r| {
        Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
    })
    .optional()
    .map_err(db)?
    .map(|(unread, hidden, at, seq)| {
        Ok(Membership {
            unread,
            hidden: from_json(&hidden)?,
            updated_at: Timestamp::from_millis(at),
            change_seq: seq as u64,
        })
    })
    .transpose()
}

pub(crate) fn set_membership(
    conn: &Connection,
    ws: WorkspaceId,
    owner: &str,
    thread: IntentId,
    unread: bool,
    hidden: &[String],
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE thread_participants SET unread = ?1, hidden = ?2 WHERE workspace_id = ?3 AND owner_agent = ?4 AND thread_id = ?5",
    )
    .map_err(db)?
    .execute(params![unread, to_json(&hidden)?, ws.to_string(), owner, thread.to_string()])
    .map_err(db)?;
    Ok(())
}

/// Threads of `owner`: (thread id, change_seq), newest change first, or after `after` in
/// change order when paging the changes feed.
pub(crate) fn owner_threads(
    conn: &Connection,
    ws: WorkspaceId,
    owner: &str,
    after: Option<u64>,
    limit: u32,
) -> Result<Vec<(IntentId, u64)>> {
    let sql = if after.is_some() {
        "SELECT thread_id, change_seq FROM thread_participants
          WHERE workspace_id = ?1 AND owner_agent = ?2 AND change_seq > ?3 ORDER BY change_seq LIMIT ?4"
    } else {
        "SELECT thread_id, change_seq FROM thread_participants
          WHERE workspace_id = ?1 AND owner_agent = ?2 AND ?3 >= 0 ORDER BY change_seq DESC LIMIT ?4"
    };
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let after = after.unwrap_or(0).min(i64::MAX as u64) as i64;
    let rows = stmt
        .query_map(params![ws.to_string(), owner, after, limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(db)?;
    rows.map(|row| {
        let (id, seq) = row.map_err(db)?;
        Ok((id.parse().map(IntentId).map_err(|e| Error::Internal(e.to_string()))?, seq as u64))
    })
    .collect()
}

pub(crate) fn insert_entry(
    conn: &Connection,
    ws: WorkspaceId,
    thread: IntentId,
    e: &TimelineEntry,
) -> Result<()> {
    conn.prepare_cached("INSERT INTO thread_entries (workspace_id, thread_id, entry_id, at, body) VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(db)?
        .execute(params![ws.to_string(), thread.to_string(), e.event_id.to_string(), e.at.as_millis(), to_json(e)?])
        .map_err(db)?;
    Ok(())
}

/// The thread's own entries that are not deleted, oldest first.
pub(crate) fn entries(conn: &Connection, ws: WorkspaceId, thread: IntentId) -> Result<Vec<TimelineEntry>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM thread_entries WHERE workspace_id = ?1 AND thread_id = ?2 AND deleted = 0 ORDER BY at, entry_id",
        )
        .map_err(db)?;
    let rows =
        stmt.query_map(params![ws.to_string(), thread.to_string()], |r| r.get::<_, String>(0)).map_err(db)?;
    rows.map(|b| from_json(&b.map_err(db)?)).collect()
}

pub(crate) fn delete_entry(conn: &Connection, ws: WorkspaceId, thread: IntentId, entry: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE thread_entries SET deleted = 1 WHERE workspace_id = ?1 AND thread_id = ?2 AND entry_id = ?3",
    )
    .map_err(db)?
    .execute(params![ws.to_string(), thread.to_string(), entry])
    .map_err(db)?;
    Ok(())
}

pub(crate) fn approval(conn: &Connection, ws: WorkspaceId, id: uuid::Uuid) -> Result<Option<Approval>> {
    conn.prepare_cached("SELECT body FROM approvals WHERE workspace_id = ?1 AND approval_id = ?2")
        .map_err(db)?
        .query_row(params![ws.to_string(), id.to_string()], |r| r.get::<_, String>(0))
        .optional()
        .map_err(db)?
        .map(|b| from_json(&b))
        .transpose()
}

pub(crate) fn insert_approval(conn: &Connection, ws: WorkspaceId, a: &Approval) -> Result<()> {
    conn.prepare_cached("INSERT INTO approvals (workspace_id, approval_id, body) VALUES (?1, ?2, ?3)")
        .map_err(db)?
        .execute(params![ws.to_string(), a.approval_id.to_string(), to_json(a)?])
        .map_err(db)?;
    Ok(())
}

pub(crate) fn register_intent_type(conn: &Connection, ws: WorkspaceId, intent_type: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO intent_types (workspace_id, intent_type) VALUES (?1, ?2)")
        .map_err(db)?
        .execute(params![ws.to_string(), intent_type])
        .map_err(db)?;
    Ok(())
}

pub(crate) fn intent_types(conn: &Connection, ws: WorkspaceId) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached("SELECT intent_type FROM intent_types WHERE workspace_id = ?1 ORDER BY intent_type")
        .map_err(db)?;
    let rows = stmt.query_map(params![ws.to_string()], |r| r.get::<_, String>(0)).map_err(db)?;
    rows.map(|r| r.map_err(db)).collect()
}

/// Revokes every active key of a service account.
pub(crate) fn revoke_all_keys(
    conn: &Connection,
    ws: WorkspaceId,
    account: ServiceAccountId,
    now: Timestamp,
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached("SELECT body FROM api_keys WHERE workspace_id = ?1 AND service_account_id = ?2 AND revoked_at IS NULL")
        .map_err(db)?;
    let keys: Vec<String> = stmt
        .query_map(params![ws.to_string(), account.to_string()], |r| r.get(0))
        .map_err(db)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db)?;
    for body in keys {
        let mut key: ApiKeyRecord = from_json(&body)?;
        key.revoked_at = Some(now);
        key.status = "revoked".into();
        conn.execute(
            "UPDATE api_keys SET body = ?1, revoked_at = ?2 WHERE workspace_id = ?3 AND key_id = ?4",
            params![to_json(&key)?, now.as_millis(), ws.to_string(), key.key_id.to_string()],
        )
        .map_err(db)?;
    }
    Ok(())
}
