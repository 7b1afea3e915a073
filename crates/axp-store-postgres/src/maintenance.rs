//! [`Maintenance`] for PostgreSQL: stats from the catalog and exact row counts; backups are
//! PostgreSQL's own business (`pg_dump`, or base backups with WAL archiving for PITR), so
//! [`Maintenance::snapshot`] refuses with what to use.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use axp_core::api::StoreStats;
use axp_core::delivery::DeliveryStatus;
use axp_core::{Status, Timestamp};
use axp_store::{Error, Maintenance, Result, Snapshot};
use sqlx_core::query_as::query_as;
use sqlx_core::query_scalar::query_scalar;
use sqlx_postgres::Postgres;

use crate::store::PgStore;
use crate::tables::db;

/// What [`Maintenance::snapshot`] answers on PostgreSQL.
const USE_PG_TOOLS: &str = "axp backup copies SQLite data dirs only: back up PostgreSQL with \
     pg_dump (a logical copy) or a base backup with WAL archiving for point-in-time recovery (PITR); \
     see the README, \"Back up and restore\"";

#[async_trait]
impl Maintenance for PgStore {
    async fn stats(&self) -> Result<StoreStats> {
        let pool = self.pool();
        let names: Vec<String> = query_scalar::<Postgres, String>(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
                AND c.relname <> '_sqlx_migrations'
              ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .map_err(db)?;
        let mut tables = BTreeMap::new();
        for name in names {
            let quoted = name.replace('"', "\"\"");
            let rows: i64 = query_scalar::<Postgres, i64>(&format!("SELECT COUNT(*) FROM \"{quoted}\""))
                .fetch_one(pool)
                .await
                .map_err(db)?;
            tables.insert(name, rows.max(0) as u64);
        }
        let database_bytes: i64 =
            query_scalar::<Postgres, i64>("SELECT pg_database_size(current_database())")
                .fetch_one(pool)
                .await
                .map_err(db)?;
        let open: Vec<&str> = Status::OPEN.iter().map(|s| s.as_str()).collect();
        let oldest: Option<i64> = query_scalar::<Postgres, Option<i64>>(
            "SELECT MIN(created_at) FROM intents WHERE status = ANY($1)",
        )
        .bind(open)
        .fetch_one(pool)
        .await
        .map_err(db)?;
        let dead: i64 = query_scalar::<Postgres, i64>("SELECT COUNT(*) FROM deliveries WHERE status = $1")
            .bind(DeliveryStatus::DeadLettered.as_str())
            .fetch_one(pool)
            .await
            .map_err(db)?;
        let schema_version: Option<i64> =
            query_scalar::<Postgres, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await
                .map_err(db)?;
        Ok(StoreStats {
            backend: "postgres".into(),
            schema_version: schema_version.unwrap_or(0),
            tables,
            database_bytes: database_bytes.max(0) as u64,
            wal_bytes: None,
            oldest_unfinished_intent_at: oldest.map(Timestamp::from_millis),
            dead_letters: dead.max(0) as u64,
        })
    }

    async fn queue_depths(&self) -> Result<BTreeMap<String, u64>> {
        let open: Vec<&str> = Status::OPEN.iter().map(|s| s.as_str()).collect();
        let rows: Vec<(String, i64)> = query_as::<Postgres, (String, i64)>(
            "SELECT COALESCE(s.body::jsonb ->> 'delivery_mode', 'none'), COUNT(*)
               FROM agent_queue q
               JOIN intents i ON i.workspace_id = q.workspace_id AND i.intent_id = q.intent_id
               LEFT JOIN service_accounts s
                 ON s.workspace_id = q.workspace_id AND s.agent_address = q.agent_address
              WHERE q.handed_at IS NULL AND i.status = ANY($1)
              GROUP BY 1",
        )
        .bind(open)
        .fetch_all(self.pool())
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(|(binding, n)| (binding, n.max(0) as u64)).collect())
    }

    async fn snapshot(&self, _dir: &Path) -> Result<Snapshot> {
        Err(Error::Unsupported(USE_PG_TOOLS.into()))
    }
}
