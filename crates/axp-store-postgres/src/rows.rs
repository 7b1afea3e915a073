//! SQL for each aggregate, as async functions over one connection. Writer jobs (inside a batch
//! transaction) and readers (on a pooled connection) share them. Functions named `*_for_update`
//! lock the row they read until the transaction ends: every read-modify-write of the writer goes
//! through one, so two replicas changing the same intent queue up instead of both appending the
//! same `seq`.

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
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx_core::query::{Query, query};
use sqlx_core::row::Row;
use sqlx_postgres::{PgArguments, PgConnection, PgRow, Postgres};
use uuid::Uuid;

/// Prefix of the [`Error::Unavailable`] message of a transaction PostgreSQL aborted to break a
/// deadlock (or a serialization failure): the writer runs the batch again.
pub(crate) const RETRY: &str = "transaction conflict, retrying:";

/// Maps a PostgreSQL error to a store error: unique violations name their constraint as
/// `table.rest` (`service_accounts.agent_address`), deadlocks are retryable, lost connections
/// and an unreachable server are [`Error::Unavailable`].
pub(crate) fn db(e: sqlx_core::Error) -> Error {
    match &e {
        sqlx_core::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                "23505" => {
                    let constraint = d.constraint().unwrap_or("unique").to_owned();
                    let constraint = match d.table() {
                        Some(t) => match constraint.strip_prefix(&format!("{t}_")) {
                            Some(rest) => format!("{t}.{rest}"),
                            None => constraint,
                        },
                        None => constraint,
                    };
                    Error::Conflict { constraint }
                }
                "40P01" | "40001" | "55P03" => Error::Unavailable(format!("{RETRY} {d}")),
                c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") => {
                    Error::Unavailable(d.to_string())
                }
                _ => Error::Internal(e.to_string()),
            }
        }
        sqlx_core::Error::Io(_)
        | sqlx_core::Error::PoolTimedOut
        | sqlx_core::Error::PoolClosed
        | sqlx_core::Error::WorkerCrashed
        | sqlx_core::Error::Tls(_) => Error::Unavailable(e.to_string()),
        _ => Error::Internal(e.to_string()),
    }
}

/// True for an error after which the whole transaction should simply run again.
pub(crate) fn retryable(e: &Error) -> bool {
    matches!(e, Error::Unavailable(m) if m.starts_with(RETRY))
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("corrupt row: {e}")))
}

fn q<'q>(sql: &'q str) -> Query<'q, Postgres, PgArguments> {
    query(sql)
}

fn get<'r, T: sqlx_core::decode::Decode<'r, Postgres> + sqlx_core::types::Type<Postgres>>(
    row: &'r PgRow,
    i: usize,
) -> Result<T> {
    row.try_get(i).map_err(db)
}

fn bodies<T: DeserializeOwned>(rows: Vec<PgRow>) -> Result<Vec<T>> {
    rows.iter().map(|r| from_json(&get::<String>(r, 0)?)).collect()
}

fn body<T: DeserializeOwned>(row: Option<PgRow>) -> Result<Option<T>> {
    row.map(|r| from_json(&get::<String>(&r, 0)?)).transpose()
}

/// Takes a transaction-scoped advisory lock on `key` (hashed): concurrent transactions asking
/// for the same key wait for each other's commit. Used where a check-then-insert must not race
/// across replicas (idempotency keys, approvals, bootstrap).
pub(crate) async fn lock_key(conn: &mut PgConnection, key: &str) -> Result<()> {
    q("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(key).execute(conn).await.map_err(db)?;
    Ok(())
}

// ---- tenants and identities ----

pub(crate) async fn any_org(conn: &mut PgConnection) -> Result<bool> {
    let row = q("SELECT EXISTS (SELECT 1 FROM orgs)").fetch_one(conn).await.map_err(db)?;
    get(&row, 0)
}

/// The org with `slug`, created if missing.
pub(crate) async fn ensure_org(conn: &mut PgConnection, slug: &str, now: Timestamp) -> Result<OrgId> {
    let row = q("INSERT INTO orgs (org_id, slug, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING org_id")
    .bind(OrgId::new().0)
    .bind(slug)
    .bind(now.as_millis())
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(OrgId(get(&row, 0)?))
}

pub(crate) async fn insert_workspace(
    conn: &mut PgConnection,
    org: OrgId,
    slug: &str,
    now: Timestamp,
) -> Result<WorkspaceId> {
    let id = WorkspaceId::new();
    q("INSERT INTO workspaces (workspace_id, org_id, slug, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id.0)
        .bind(org.0)
        .bind(slug)
        .bind(now.as_millis())
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(id)
}

/// The public part of an `http` binding's config: `{"url": …}` (the secret is stored apart).
pub(crate) fn push_config(url: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut config = serde_json::Map::new();
    config.insert("url".into(), serde_json::Value::String(url.to_owned()));
    config
}

pub(crate) async fn insert_service_account(
    conn: &mut PgConnection,
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
    q("INSERT INTO service_accounts (workspace_id, service_account_id, name, agent_address, body, push_secret)
       VALUES ($1, $2, $3, $4, $5, $6)")
    .bind(tenant.workspace_id.0)
    .bind(sa.id.0)
    .bind(&sa.name)
    .bind(sa.agent_address.as_str())
    .bind(to_json(&record)?)
    .bind(sa.push.as_ref().map(|p| p.secret.as_str()))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(record)
}

pub(crate) async fn service_account(
    conn: &mut PgConnection,
    tenant: &Tenant,
    id: ServiceAccountId,
    lock: bool,
) -> Result<Option<ServiceAccountRecord>> {
    let sql = if lock {
        "SELECT body FROM service_accounts WHERE workspace_id = $1 AND service_account_id = $2 FOR UPDATE"
    } else {
        "SELECT body FROM service_accounts WHERE workspace_id = $1 AND service_account_id = $2"
    };
    body(q(sql).bind(tenant.workspace_id.0).bind(id.0).fetch_optional(conn).await.map_err(db)?)
}

pub(crate) async fn agent_by_address(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    address: &str,
    lock: bool,
) -> Result<Option<ServiceAccountRecord>> {
    let sql = if lock {
        "SELECT body FROM service_accounts WHERE workspace_id = $1 AND agent_address = $2 FOR UPDATE"
    } else {
        "SELECT body FROM service_accounts WHERE workspace_id = $1 AND agent_address = $2"
    };
    body(q(sql).bind(ws.0).bind(address).fetch_optional(conn).await.map_err(db)?)
}

pub(crate) async fn insert_api_key(
    conn: &mut PgConnection,
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
    q("INSERT INTO api_keys (key_hash, workspace_id, key_id, service_account_id, body, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)")
    .bind(key.hash.0.as_slice())
    .bind(tenant.workspace_id.0)
    .bind(key.key_id.0)
    .bind(account.0)
    .bind(to_json(&record)?)
    .bind(key.expires_at.map(Timestamp::as_millis))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(record)
}

pub(crate) async fn api_key_for_update(
    conn: &mut PgConnection,
    tenant: &Tenant,
    account: ServiceAccountId,
    key: axp_core::ApiKeyId,
) -> Result<Option<ApiKeyRecord>> {
    body(
        q("SELECT body FROM api_keys WHERE workspace_id = $1 AND key_id = $2 AND service_account_id = $3 FOR UPDATE")
            .bind(tenant.workspace_id.0)
            .bind(key.0)
            .bind(account.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?,
    )
}

pub(crate) async fn update_api_key(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    record: &ApiKeyRecord,
) -> Result<()> {
    q("UPDATE api_keys SET body = $1, revoked_at = $2 WHERE workspace_id = $3 AND key_id = $4")
        .bind(to_json(record)?)
        .bind(record.revoked_at.map(Timestamp::as_millis))
        .bind(ws.0)
        .bind(record.key_id.0)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Every active key of a service account, locked.
pub(crate) async fn active_keys_for_update(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    account: ServiceAccountId,
) -> Result<Vec<ApiKeyRecord>> {
    bodies(
        q("SELECT body FROM api_keys WHERE workspace_id = $1 AND service_account_id = $2 AND revoked_at IS NULL
           ORDER BY key_id FOR UPDATE")
        .bind(ws.0)
        .bind(account.0)
        .fetch_all(conn)
        .await
        .map_err(db)?,
    )
}

/// The principal behind an active, unexpired key.
pub(crate) async fn principal(
    conn: &mut PgConnection,
    hash: &[u8; 32],
    now: Timestamp,
) -> Result<Option<(Principal, Option<Timestamp>)>> {
    let row = q("SELECT w.org_id, w.workspace_id, o.slug, w.slug, k.service_account_id, k.key_id, s.agent_address,
                        k.expires_at
                   FROM api_keys k
                   JOIN workspaces w ON w.workspace_id = k.workspace_id
                   JOIN orgs o ON o.org_id = w.org_id
                   JOIN service_accounts s ON s.workspace_id = k.workspace_id AND s.service_account_id = k.service_account_id
                  WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)")
    .bind(hash.as_slice())
    .bind(now.as_millis())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    let Some(r) = row else { return Ok(None) };
    let principal = Principal {
        tenant: Tenant {
            org_id: OrgId(get(&r, 0)?),
            workspace_id: WorkspaceId(get(&r, 1)?),
            org_slug: get(&r, 2)?,
            workspace_slug: get(&r, 3)?,
        },
        service_account_id: ServiceAccountId(get(&r, 4)?),
        key_id: axp_core::ApiKeyId(get(&r, 5)?),
        agent_address: AgentAddress::from_trusted(get(&r, 6)?),
    };
    let expires_at: Option<i64> = get(&r, 7)?;
    Ok(Some((principal, expires_at.map(Timestamp::from_millis))))
}

// ---- intents ----

pub(crate) async fn intent(conn: &mut PgConnection, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>> {
    body(
        q("SELECT body FROM intents WHERE workspace_id = $1 AND intent_id = $2")
            .bind(ws.0)
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?,
    )
}

/// The intent, locked until the transaction ends (the latest committed version).
pub(crate) async fn intent_for_update(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    id: IntentId,
) -> Result<Option<Intent>> {
    body(
        q("SELECT body FROM intents WHERE workspace_id = $1 AND intent_id = $2 FOR UPDATE")
            .bind(ws.0)
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?,
    )
}

pub(crate) async fn insert_intent(conn: &mut PgConnection, ws: WorkspaceId, intent: &Intent) -> Result<()> {
    q("INSERT INTO intents (workspace_id, intent_id, status, to_agent, created_at, body) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(ws.0)
        .bind(intent.intent_id.0)
        .bind(intent.status.as_str())
        .bind(&intent.to_agent)
        .bind(intent.created_at.as_millis())
        .bind(to_json(intent)?)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn update_intent(conn: &mut PgConnection, ws: WorkspaceId, intent: &Intent) -> Result<()> {
    q("UPDATE intents SET status = $1, to_agent = $2, body = $3 WHERE workspace_id = $4 AND intent_id = $5")
        .bind(intent.status.as_str())
        .bind(&intent.to_agent)
        .bind(to_json(intent)?)
        .bind(ws.0)
        .bind(intent.intent_id.0)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Appends events in one statement.
pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    events: &[IntentEvent],
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.intent_id.0).collect();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
    let bodies: Vec<String> = events.iter().map(to_json).collect::<Result<_>>()?;
    q("INSERT INTO intent_events (workspace_id, intent_id, seq, body)
       SELECT $1, * FROM UNNEST($2::uuid[], $3::bigint[], $4::text[])")
    .bind(ws.0)
    .bind(ids)
    .bind(seqs)
    .bind(bodies)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn events_since(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    id: IntentId,
    since: u64,
    limit: u32,
) -> Result<Vec<IntentEvent>> {
    bodies(
        q("SELECT body FROM intent_events WHERE workspace_id = $1 AND intent_id = $2 AND seq > $3 ORDER BY seq LIMIT $4")
            .bind(ws.0)
            .bind(id.0)
            .bind(since.min(i64::MAX as u64) as i64)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await
            .map_err(db)?,
    )
}

pub(crate) async fn intent_exists(conn: &mut PgConnection, ws: WorkspaceId, id: IntentId) -> Result<bool> {
    let row = q("SELECT EXISTS (SELECT 1 FROM intents WHERE workspace_id = $1 AND intent_id = $2)")
        .bind(ws.0)
        .bind(id.0)
        .fetch_one(conn)
        .await
        .map_err(db)?;
    get(&row, 0)
}

fn status_names(statuses: &[Status]) -> Vec<String> {
    statuses.iter().map(|s| s.as_str().to_owned()).collect()
}

pub(crate) async fn list_intents(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    filter: &IntentFilter,
) -> Result<Vec<Intent>> {
    bodies(
        q("SELECT body FROM intents
            WHERE workspace_id = $1
              AND (cardinality($2::text[]) = 0 OR status = ANY($2))
              AND ($3::text IS NULL OR to_agent = $3)
              AND ($5::bigint IS NULL OR created_at <= $5)
            ORDER BY created_at, intent_id LIMIT $4")
        .bind(ws.0)
        .bind(status_names(&filter.statuses))
        .bind(filter.to_agent.as_deref())
        .bind(i64::from(filter.limit))
        .bind(filter.created_before.map(Timestamp::as_millis))
        .fetch_all(conn)
        .await
        .map_err(db)?,
    )
}

// ---- agent queue ----

/// A queue item with its intent.
pub(crate) struct Queued {
    pub(crate) cursor: u64,
    pub(crate) queued_at: Timestamp,
    /// Whether it was already handed to the agent (a replay if sent again).
    pub(crate) handed: bool,
    pub(crate) intent: Intent,
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

fn queue_rows(rows: Vec<PgRow>) -> Result<Vec<Queued>> {
    rows.iter()
        .map(|r| {
            Ok(Queued {
                cursor: get::<i64>(r, 0)? as u64,
                queued_at: Timestamp::from_millis(get(r, 1)?),
                handed: get::<Option<i64>>(r, 2)?.is_some(),
                intent: from_json(&get::<String>(r, 3)?)?,
            })
        })
        .collect()
}

/// Queue items of `address` after cursor `since` whose intent's status is in `statuses`. With
/// `lock`, the unhanded items among them are locked (the writer hands them over).
pub(crate) async fn queued(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    address: &str,
    since: u64,
    statuses: &[Status],
    limit: u32,
    lock: bool,
) -> Result<Vec<Queued>> {
    let sql = if lock {
        "SELECT q.cursor, q.queued_at, q.handed_at, i.body
           FROM agent_queue q
           JOIN intents i ON i.workspace_id = q.workspace_id AND i.intent_id = q.intent_id
          WHERE q.workspace_id = $1 AND q.agent_address = $2 AND q.cursor > $3 AND i.status = ANY($4)
          ORDER BY q.cursor LIMIT $5
          FOR UPDATE OF q"
    } else {
        "SELECT q.cursor, q.queued_at, q.handed_at, i.body
           FROM agent_queue q
           JOIN intents i ON i.workspace_id = q.workspace_id AND i.intent_id = q.intent_id
          WHERE q.workspace_id = $1 AND q.agent_address = $2 AND q.cursor > $3 AND i.status = ANY($4)
          ORDER BY q.cursor LIMIT $5"
    };
    queue_rows(
        q(sql)
            .bind(ws.0)
            .bind(address)
            .bind(since.min(i64::MAX as u64) as i64)
            .bind(status_names(statuses))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await
            .map_err(db)?,
    )
}

/// Up to `limit` queue items of `address` not yet handed to it, oldest first, locked; items
/// another transaction holds are skipped (`SKIP LOCKED`), so concurrent poll claims on any
/// replica never take the same item. Only the queue's partial index of unhanded items is read
/// (no join: the caller checks each intent under its row lock), so a claim costs the same
/// however many intents the agent was handed before.
pub(crate) async fn claim_unhanded(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    address: &str,
    limit: u32,
) -> Result<Vec<(u64, Timestamp, IntentId)>> {
    let rows = q("SELECT cursor, queued_at, intent_id FROM agent_queue
                   WHERE workspace_id = $1 AND agent_address = $2 AND handed_at IS NULL
                   ORDER BY cursor LIMIT $3
                   FOR UPDATE SKIP LOCKED")
    .bind(ws.0)
    .bind(address)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| Ok((get::<i64>(r, 0)? as u64, Timestamp::from_millis(get(r, 1)?), IntentId(get(r, 2)?))))
        .collect()
}

/// The intents with these ids, locked, keyed by id.
pub(crate) async fn intents_for_update(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    ids: &[IntentId],
) -> Result<std::collections::HashMap<IntentId, Intent>> {
    let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
    let rows = q("SELECT body FROM intents WHERE workspace_id = $1 AND intent_id = ANY($2) ORDER BY intent_id FOR UPDATE")
        .bind(ws.0)
        .bind(ids)
        .fetch_all(conn)
        .await
        .map_err(db)?;
    bodies::<Intent>(rows).map(|v| v.into_iter().map(|i| (i.intent_id, i)).collect())
}

pub(crate) async fn mark_handed(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    address: &str,
    cursor: u64,
    now: Timestamp,
) -> Result<()> {
    q("UPDATE agent_queue SET handed_at = $1 WHERE workspace_id = $2 AND agent_address = $3 AND cursor = $4")
        .bind(now.as_millis())
        .bind(ws.0)
        .bind(address)
        .bind(cursor as i64)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Takes `counts[i]` new cursors of each agent queue `keys[i]` (sorted, distinct) and returns
/// the last cursor now taken for each. Locks each counter row until commit, in key order, so
/// concurrent transactions never deadlock on them.
pub(crate) async fn take_agent_cursors(
    conn: &mut PgConnection,
    keys: &[(Uuid, String)],
    counts: &[i64],
) -> Result<Vec<i64>> {
    let ws: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    let agents: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
    let rows = q("INSERT INTO agent_cursors AS c (workspace_id, agent_address, last_cursor)
                  SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bigint[]) ORDER BY 1, 2
                  ON CONFLICT (workspace_id, agent_address) DO UPDATE SET last_cursor = c.last_cursor + EXCLUDED.last_cursor
                  RETURNING workspace_id, agent_address, last_cursor")
    .bind(ws)
    .bind(agents)
    .bind(counts)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    last_values(keys, &rows)
}

/// As [`take_agent_cursors`], for the per-owner inbox change cursors.
pub(crate) async fn take_owner_seqs(
    conn: &mut PgConnection,
    keys: &[(Uuid, String)],
    counts: &[i64],
) -> Result<Vec<i64>> {
    let ws: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    let owners: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
    let rows = q("INSERT INTO owner_cursors AS c (workspace_id, owner_agent, last_seq)
                  SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bigint[]) ORDER BY 1, 2
                  ON CONFLICT (workspace_id, owner_agent) DO UPDATE SET last_seq = c.last_seq + EXCLUDED.last_seq
                  RETURNING workspace_id, owner_agent, last_seq")
    .bind(ws)
    .bind(owners)
    .bind(counts)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    last_values(keys, &rows)
}

fn last_values(keys: &[(Uuid, String)], rows: &[PgRow]) -> Result<Vec<i64>> {
    let mut found = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        found.insert((get::<Uuid>(r, 0)?, get::<String>(r, 1)?), get::<i64>(r, 2)?);
    }
    keys.iter()
        .map(|k| {
            found.get(k).copied().ok_or_else(|| Error::Internal("a cursor counter was not returned".into()))
        })
        .collect()
}

/// One queue item ready to insert.
pub(crate) struct NewQueueItem {
    pub(crate) ws: Uuid,
    pub(crate) agent: String,
    pub(crate) cursor: i64,
    pub(crate) intent_id: Uuid,
    pub(crate) reason: String,
    pub(crate) queued_at: i64,
}

/// Inserts queue items in one statement.
pub(crate) async fn insert_queue_items(conn: &mut PgConnection, items: &[NewQueueItem]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    q("INSERT INTO agent_queue (workspace_id, agent_address, cursor, intent_id, reason, queued_at)
       SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::bigint[])")
    .bind(items.iter().map(|i| i.ws).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.agent.as_str()).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.cursor).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.intent_id).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.reason.as_str()).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.queued_at).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Sets the change cursor of participant rows touched in this transaction, in one statement.
pub(crate) async fn set_change_seqs(
    conn: &mut PgConnection,
    rows: &[(Uuid, String, Uuid, i64)],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    q("UPDATE thread_participants p SET change_seq = t.seq
         FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::bigint[]) AS t(ws, owner, thread, seq)
        WHERE p.workspace_id = t.ws AND p.owner_agent = t.owner AND p.thread_id = t.thread")
    .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

// ---- timers ----

/// Schedules `timers` for an intent, replacing any with the same key.
pub(crate) async fn schedule(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    intent_id: IntentId,
    timers: &[Timer],
) -> Result<()> {
    for t in timers {
        q("INSERT INTO timers (workspace_id, intent_id, key, kind, due_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (workspace_id, intent_id, key) DO UPDATE SET kind = EXCLUDED.kind, due_at = EXCLUDED.due_at")
        .bind(ws.0)
        .bind(intent_id.0)
        .bind(t.kind.key())
        .bind(to_json(&t.kind)?)
        .bind(t.due_at.as_millis())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Drops every timer of an intent (it ended).
pub(crate) async fn clear_timers(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    intent_id: IntentId,
) -> Result<()> {
    q("DELETE FROM timers WHERE workspace_id = $1 AND intent_id = $2")
        .bind(ws.0)
        .bind(intent_id.0)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// A due timer.
pub(crate) struct DueTimer {
    pub(crate) workspace_id: WorkspaceId,
    pub(crate) intent_id: IntentId,
    pub(crate) kind: TimerKind,
}

/// Takes up to `limit` timers due at `now`, earliest first, across all workspaces: deletes them
/// and returns them. Timers another transaction holds are skipped, so each timer is taken by
/// one transaction on one replica; if that transaction rolls back, the timer is back.
pub(crate) async fn take_due_timers(
    conn: &mut PgConnection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<DueTimer>> {
    let rows = q("DELETE FROM timers t USING (
                      SELECT workspace_id, intent_id, key FROM timers WHERE due_at <= $1
                       ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) d
                   WHERE t.workspace_id = d.workspace_id AND t.intent_id = d.intent_id AND t.key = d.key
                   RETURNING t.workspace_id, t.intent_id, t.kind, t.due_at")
    .bind(now.as_millis())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    let mut due: Vec<(i64, DueTimer)> = rows
        .iter()
        .map(|r| {
            Ok((
                get::<i64>(r, 3)?,
                DueTimer {
                    workspace_id: WorkspaceId(get(r, 0)?),
                    intent_id: IntentId(get(r, 1)?),
                    kind: from_json(&get::<String>(r, 2)?)?,
                },
            ))
        })
        .collect::<Result<_>>()?;
    due.sort_by_key(|(at, _)| *at);
    Ok(due.into_iter().map(|(_, t)| t).collect())
}

pub(crate) async fn next_due(conn: &mut PgConnection) -> Result<Option<Timestamp>> {
    let row = q("SELECT MIN(due_at) FROM timers").fetch_one(conn).await.map_err(db)?;
    Ok(get::<Option<i64>>(&row, 0)?.map(Timestamp::from_millis))
}

// ---- idempotency ----

/// The stored response for a live record of this claim: `Ok(Some(body))` on a fingerprint
/// match, [`Error::IdempotencyConflict`] on a mismatch, `Ok(None)` when there is none (an
/// expired record is deleted). Takes an advisory lock on the key first, so a concurrent request
/// with the same key on any replica waits for this one's commit and then replays it.
pub(crate) async fn idempotent_replay(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    claim: &IdempotencyClaim,
) -> Result<Option<(IntentId, String)>> {
    lock_key(
        &mut *conn,
        &format!("idem\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}", ws, claim.caller, claim.route, claim.key),
    )
    .await?;
    let row = q("SELECT fingerprint, intent_id, body, expires_at FROM idempotency
                  WHERE workspace_id = $1 AND caller = $2 AND route = $3 AND key = $4")
    .bind(ws.0)
    .bind(claim.caller.0)
    .bind(&claim.route)
    .bind(&claim.key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(r) = row else { return Ok(None) };
    let (fingerprint, intent_id, body, expires_at): (String, Uuid, String, i64) =
        (get(&r, 0)?, get(&r, 1)?, get(&r, 2)?, get(&r, 3)?);
    if expires_at <= claim.now.as_millis() {
        q("DELETE FROM idempotency WHERE workspace_id = $1 AND caller = $2 AND route = $3 AND key = $4")
            .bind(ws.0)
            .bind(claim.caller.0)
            .bind(&claim.route)
            .bind(&claim.key)
            .execute(conn)
            .await
            .map_err(db)?;
        return Ok(None);
    }
    if fingerprint != claim.fingerprint {
        return Err(Error::IdempotencyConflict);
    }
    Ok(Some((IntentId(intent_id), body)))
}

pub(crate) async fn record_idempotency(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    claim: &IdempotencyClaim,
    intent_id: IntentId,
    body: &str,
) -> Result<()> {
    q("INSERT INTO idempotency (workspace_id, caller, route, key, fingerprint, intent_id, body, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
    .bind(ws.0)
    .bind(claim.caller.0)
    .bind(&claim.route)
    .bind(&claim.key)
    .bind(&claim.fingerprint)
    .bind(intent_id.0)
    .bind(body)
    .bind(claim.expires_at.as_millis())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

// ---- agents' bindings ----

/// The agents of a workspace, oldest first.
pub(crate) async fn list_agents(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    limit: u32,
) -> Result<Vec<ServiceAccountRecord>> {
    bodies(
        q("SELECT body FROM service_accounts WHERE workspace_id = $1 ORDER BY service_account_id LIMIT $2")
            .bind(ws.0)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await
            .map_err(db)?,
    )
}

/// Rewrites an agent's record and its push secret.
pub(crate) async fn update_agent(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    sa: &ServiceAccountRecord,
    push_secret: Option<&str>,
) -> Result<()> {
    q("UPDATE service_accounts SET body = $1, push_secret = $2 WHERE workspace_id = $3 AND service_account_id = $4")
        .bind(to_json(sa)?)
        .bind(push_secret)
        .bind(ws.0)
        .bind(sa.service_account_id.0)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// The signing secret of the `http` agent at `address`.
pub(crate) async fn push_secret(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    address: &str,
) -> Result<Option<String>> {
    let row = q("SELECT push_secret FROM service_accounts WHERE workspace_id = $1 AND agent_address = $2")
        .bind(ws.0)
        .bind(address)
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    Ok(match row {
        Some(r) => get::<Option<String>>(&r, 0)?,
        None => None,
    })
}

// ---- push deliveries ----

pub(crate) async fn insert_delivery(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    d: &Delivery,
    secret_owner: &str,
    due_at: Option<Timestamp>,
) -> Result<()> {
    q("INSERT INTO deliveries (workspace_id, delivery_id, kind, status, due_at, secret_owner, created_at, event_id, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
    .bind(ws.0)
    .bind(d.delivery_id)
    .bind(d.kind.as_str())
    .bind(d.status.as_str())
    .bind(due_at.map(Timestamp::as_millis))
    .bind(secret_owner)
    .bind(d.created_at.as_millis())
    .bind(d.event_id)
    .bind(to_json(d)?)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn update_delivery(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    d: &Delivery,
    due_at: Option<Timestamp>,
) -> Result<()> {
    q("UPDATE deliveries SET status = $1, due_at = $2, body = $3 WHERE workspace_id = $4 AND delivery_id = $5")
        .bind(d.status.as_str())
        .bind(due_at.map(Timestamp::as_millis))
        .bind(to_json(d)?)
        .bind(ws.0)
        .bind(d.delivery_id)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// A delivery and the owner of its signing secret; with `lock`, locked until commit.
pub(crate) async fn delivery(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    id: Uuid,
    lock: bool,
) -> Result<Option<(Delivery, String)>> {
    let sql = if lock {
        "SELECT body, secret_owner FROM deliveries WHERE workspace_id = $1 AND delivery_id = $2 FOR UPDATE"
    } else {
        "SELECT body, secret_owner FROM deliveries WHERE workspace_id = $1 AND delivery_id = $2"
    };
    let row = q(sql).bind(ws.0).bind(id).fetch_optional(conn).await.map_err(db)?;
    row.map(|r| Ok((from_json(&get::<String>(&r, 0)?)?, get::<String>(&r, 1)?))).transpose()
}

/// Deliveries due at `now` across workspaces, earliest first, locked; rows another
/// transaction holds (another replica's dispatcher) are skipped.
pub(crate) async fn claim_due_deliveries(
    conn: &mut PgConnection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<(WorkspaceId, Delivery, String)>> {
    let rows = q("SELECT workspace_id, body, secret_owner FROM deliveries
                   WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2
                   FOR UPDATE SKIP LOCKED")
    .bind(now.as_millis())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| Ok((WorkspaceId(get(r, 0)?), from_json(&get::<String>(r, 1)?)?, get::<String>(r, 2)?)))
        .collect()
}

pub(crate) async fn next_delivery_due(conn: &mut PgConnection) -> Result<Option<Timestamp>> {
    let row =
        q("SELECT MIN(due_at) FROM deliveries WHERE due_at IS NOT NULL").fetch_one(conn).await.map_err(db)?;
    Ok(get::<Option<i64>>(&row, 0)?.map(Timestamp::from_millis))
}

pub(crate) async fn list_deliveries(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    status: Option<DeliveryStatus>,
    limit: u32,
) -> Result<Vec<Delivery>> {
    bodies(
        q("SELECT body FROM deliveries WHERE workspace_id = $1 AND ($2::text IS NULL OR status = $2)
            ORDER BY created_at DESC, delivery_id DESC LIMIT $3")
        .bind(ws.0)
        .bind(status.map(DeliveryStatus::as_str))
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db)?,
    )
}

// ---- webhooks ----

pub(crate) async fn org_of(conn: &mut PgConnection, ws: WorkspaceId) -> Result<OrgId> {
    let row = q("SELECT org_id FROM workspaces WHERE workspace_id = $1")
        .bind(ws.0)
        .fetch_one(conn)
        .await
        .map_err(db)?;
    Ok(OrgId(get(&row, 0)?))
}

fn sub_with_secret(row: Option<PgRow>) -> Result<Option<(Subscription, String)>> {
    row.map(|r| Ok((from_json(&get::<String>(&r, 0)?)?, get::<String>(&r, 1)?))).transpose()
}

/// The subscription of `owner` for `callback_url`, with its secret, locked (after an advisory
/// lock on the pair, so two replicas creating it at once queue up instead of conflicting).
pub(crate) async fn subscription_by_url_for_update(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    owner: &str,
    url: &str,
) -> Result<Option<(Subscription, String)>> {
    lock_key(&mut *conn, &format!("sub\u{1f}{ws}\u{1f}{owner}\u{1f}{url}")).await?;
    sub_with_secret(
        q("SELECT body, secret FROM webhook_subscriptions
            WHERE workspace_id = $1 AND owner_agent = $2 AND callback_url = $3 FOR UPDATE")
        .bind(ws.0)
        .bind(owner)
        .bind(url)
        .fetch_optional(conn)
        .await
        .map_err(db)?,
    )
}

pub(crate) async fn subscription(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    id: Uuid,
    lock: bool,
) -> Result<Option<(Subscription, String)>> {
    let sql = if lock {
        "SELECT body, secret FROM webhook_subscriptions WHERE workspace_id = $1 AND subscription_id = $2 FOR UPDATE"
    } else {
        "SELECT body, secret FROM webhook_subscriptions WHERE workspace_id = $1 AND subscription_id = $2"
    };
    sub_with_secret(q(sql).bind(ws.0).bind(id).fetch_optional(conn).await.map_err(db)?)
}

/// Inserts or rewrites a subscription.
pub(crate) async fn put_subscription(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    s: &Subscription,
    secret: &str,
) -> Result<()> {
    q("INSERT INTO webhook_subscriptions (workspace_id, subscription_id, owner_agent, callback_url, active, secret, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (workspace_id, subscription_id) DO UPDATE SET active = $5, secret = $6, body = $7")
    .bind(ws.0)
    .bind(s.subscription_id)
    .bind(&s.owner_agent)
    .bind(&s.callback_url)
    .bind(s.active)
    .bind(secret)
    .bind(to_json(s)?)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn list_subscriptions(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    owner: &str,
    include_inactive: bool,
) -> Result<Vec<Subscription>> {
    bodies(
        q("SELECT body FROM webhook_subscriptions WHERE workspace_id = $1 AND owner_agent = $2 AND ($3 OR active)
            ORDER BY subscription_id")
        .bind(ws.0)
        .bind(owner)
        .bind(include_inactive)
        .fetch_all(conn)
        .await
        .map_err(db)?,
    )
}

/// Active subscriptions of any of `owners`, in the order of `owners`.
pub(crate) async fn active_subscriptions(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    owners: &[&str],
) -> Result<Vec<Subscription>> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    bodies(
        q("SELECT body FROM webhook_subscriptions WHERE workspace_id = $1 AND owner_agent = ANY($2) AND active
            ORDER BY array_position($2, owner_agent), subscription_id")
        .bind(ws.0)
        .bind(owners)
        .fetch_all(conn)
        .await
        .map_err(db)?,
    )
}

pub(crate) async fn insert_event(conn: &mut PgConnection, ws: WorkspaceId, e: &WebhookEvent) -> Result<()> {
    q("INSERT INTO webhook_events (workspace_id, event_id, owner_agent, body) VALUES ($1, $2, $3, $4)")
        .bind(ws.0)
        .bind(e.event_id)
        .bind(&e.owner_agent)
        .bind(to_json(e)?)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn event(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    owner: &str,
    id: Uuid,
) -> Result<Option<WebhookEvent>> {
    body(
        q("SELECT body FROM webhook_events WHERE workspace_id = $1 AND event_id = $2 AND owner_agent = $3")
            .bind(ws.0)
            .bind(id)
            .bind(owner)
            .fetch_optional(conn)
            .await
            .map_err(db)?,
    )
}

/// The counters of an event's deliveries (queued = all of them).
pub(crate) async fn event_counters(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    event: Uuid,
) -> Result<EventCounters> {
    let rows = q(
        "SELECT status, COUNT(*) FROM deliveries WHERE workspace_id = $1 AND event_id = $2 GROUP BY status",
    )
    .bind(ws.0)
    .bind(event)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    let mut c = EventCounters::default();
    for r in &rows {
        let (status, n): (String, i64) = (get(r, 0)?, get(r, 1)?);
        let n = n as u32;
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

/// Adds owners to the thread (or touches their rows) in one statement: unread unless the owner
/// made the change (`unread` false), `updated_at` = now. Their change cursors are set when the
/// transaction ends (see the writer), so each owner's feed moves in commit order.
pub(crate) async fn touch_participants(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    thread: IntentId,
    owners: &[(&str, &str, bool)],
    now: Timestamp,
) -> Result<()> {
    if owners.is_empty() {
        return Ok(());
    }
    q("INSERT INTO thread_participants AS p (workspace_id, owner_agent, thread_id, role, change_seq, unread, updated_at)
       SELECT $1, t.owner, $2, t.role, 0, t.unread, $6
         FROM UNNEST($3::text[], $4::text[], $5::bool[]) AS t(owner, role, unread)
       ON CONFLICT (workspace_id, owner_agent, thread_id)
       DO UPDATE SET unread = (p.unread OR EXCLUDED.unread), updated_at = EXCLUDED.updated_at")
    .bind(ws.0)
    .bind(thread.0)
    .bind(owners.iter().map(|o| o.0).collect::<Vec<_>>())
    .bind(owners.iter().map(|o| o.1).collect::<Vec<_>>())
    .bind(owners.iter().map(|o| o.2).collect::<Vec<_>>())
    .bind(now.as_millis())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Everyone who can see the thread.
pub(crate) async fn participants(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    thread: IntentId,
) -> Result<Vec<String>> {
    let rows = q("SELECT owner_agent FROM thread_participants WHERE workspace_id = $1 AND thread_id = $2 ORDER BY owner_agent")
        .bind(ws.0)
        .bind(thread.0)
        .fetch_all(conn)
        .await
        .map_err(db)?;
    rows.iter().map(|r| get(r, 0)).collect()
}

/// An owner's view state of a thread.
pub(crate) struct Membership {
    pub(crate) unread: bool,
    pub(crate) hidden: Vec<String>,
    pub(crate) updated_at: Timestamp,
}

pub(crate) async fn membership(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    owner: &str,
    thread: IntentId,
    lock: bool,
) -> Result<Option<Membership>> {
    let sql = if lock {
        "SELECT unread, hidden, updated_at FROM thread_participants
          WHERE workspace_id = $1 AND owner_agent = $2 AND thread_id = $3 FOR UPDATE"
    } else {
        "SELECT unread, hidden, updated_at FROM thread_participants
          WHERE workspace_id = $1 AND owner_agent = $2 AND thread_id = $3"
    };
    let row = q(sql).bind(ws.0).bind(owner).bind(thread.0).fetch_optional(conn).await.map_err(db)?;
    row.map(|r| {
        Ok(Membership {
            unread: get(&r, 0)?,
            hidden: from_json(&get::<String>(&r, 1)?)?,
            updated_at: Timestamp::from_millis(get(&r, 2)?),
        })
    })
    .transpose()
}

pub(crate) async fn set_membership(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    owner: &str,
    thread: IntentId,
    unread: bool,
    hidden: &[String],
) -> Result<()> {
    q("UPDATE thread_participants SET unread = $1, hidden = $2 WHERE workspace_id = $3 AND owner_agent = $4 AND thread_id = $5")
        .bind(unread)
        .bind(to_json(&hidden)?)
        .bind(ws.0)
        .bind(owner)
        .bind(thread.0)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Threads of `owner`: (thread id, change_seq), newest change first, or after `after` in
/// change order when paging the changes feed.
pub(crate) async fn owner_threads(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    owner: &str,
    after: Option<u64>,
    limit: u32,
) -> Result<Vec<(IntentId, u64)>> {
    let sql = if after.is_some() {
        "SELECT thread_id, change_seq FROM thread_participants
          WHERE workspace_id = $1 AND owner_agent = $2 AND change_seq > $3 ORDER BY change_seq LIMIT $4"
    } else {
        "SELECT thread_id, change_seq FROM thread_participants
          WHERE workspace_id = $1 AND owner_agent = $2 AND $3 >= 0 ORDER BY change_seq DESC LIMIT $4"
    };
    let rows = q(sql)
        .bind(ws.0)
        .bind(owner)
        .bind(after.unwrap_or(0).min(i64::MAX as u64) as i64)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db)?;
    rows.iter().map(|r| Ok((IntentId(get(r, 0)?), get::<i64>(r, 1)? as u64))).collect()
}

pub(crate) async fn insert_entry(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    thread: IntentId,
    e: &TimelineEntry,
) -> Result<()> {
    q("INSERT INTO thread_entries (workspace_id, thread_id, entry_id, at, body) VALUES ($1, $2, $3, $4, $5)")
        .bind(ws.0)
        .bind(thread.0)
        .bind(e.event_id)
        .bind(e.at.as_millis())
        .bind(to_json(e)?)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// The thread's own entries that are not deleted, oldest first.
pub(crate) async fn entries(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    thread: IntentId,
) -> Result<Vec<TimelineEntry>> {
    bodies(
        q("SELECT body FROM thread_entries WHERE workspace_id = $1 AND thread_id = $2 AND NOT deleted ORDER BY at, entry_id")
            .bind(ws.0)
            .bind(thread.0)
            .fetch_all(conn)
            .await
            .map_err(db)?,
    )
}

pub(crate) async fn delete_entry(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    thread: IntentId,
    entry: &str,
) -> Result<()> {
    let Ok(entry) = entry.parse::<Uuid>() else { return Ok(()) };
    q("UPDATE thread_entries SET deleted = true WHERE workspace_id = $1 AND thread_id = $2 AND entry_id = $3")
        .bind(ws.0)
        .bind(thread.0)
        .bind(entry)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn approval(conn: &mut PgConnection, ws: WorkspaceId, id: Uuid) -> Result<Option<Approval>> {
    lock_key(&mut *conn, &format!("approval\u{1f}{ws}\u{1f}{id}")).await?;
    body(
        q("SELECT body FROM approvals WHERE workspace_id = $1 AND approval_id = $2")
            .bind(ws.0)
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(db)?,
    )
}

pub(crate) async fn insert_approval(conn: &mut PgConnection, ws: WorkspaceId, a: &Approval) -> Result<()> {
    q("INSERT INTO approvals (workspace_id, approval_id, body) VALUES ($1, $2, $3)")
        .bind(ws.0)
        .bind(a.approval_id)
        .bind(to_json(a)?)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn register_intent_type(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    intent_type: &str,
) -> Result<()> {
    q("INSERT INTO intent_types (workspace_id, intent_type) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(ws.0)
        .bind(intent_type)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn intent_types(conn: &mut PgConnection, ws: WorkspaceId) -> Result<Vec<String>> {
    let rows = q("SELECT intent_type FROM intent_types WHERE workspace_id = $1 ORDER BY intent_type")
        .bind(ws.0)
        .fetch_all(conn)
        .await
        .map_err(db)?;
    rows.iter().map(|r| get(r, 0)).collect()
}
