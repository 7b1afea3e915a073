//! The PostgreSQL upgrade fixtures (with `AXP_TEST_DATABASE_URL`): a database of every older
//! schema, filled, reached by the current store.
//!
//! For each migration step `k` (every migration of [`migrator`], so a new one is picked up by
//! itself), a fresh database gets the first `k` migrations through a migrator holding only
//! those, each followed by its fill (`tests/upgrade/fill/<version>.sql`: real rows of the
//! current server shaped as that step's schema; `tests/upgrade/make_pg_fills.sh` writes them).
//! [`PgStore::connect`] then applies the rest, and the data must read back through the
//! [`Store`] API (`axp_store::conformance::upgrade`). A migration without a fill file fails here.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axp_engine::{Ledger, Presence};
use axp_store::{NoListener, Store};
use sqlx_core::migrate::Migrator;
use sqlx_core::pool::{Pool, PoolOptions};
use sqlx_core::query_scalar::query_scalar;
use sqlx_core::raw_sql::raw_sql;
use sqlx_postgres::Postgres;

use crate::store::migrator;
use crate::testdb::test_database;
use crate::{PgOptions, PgStore};

/// The admin key of the database the fills were taken from (a throwaway test server's).
const FIXTURE_KEY: &str = "axme_sa_01a242d9-60c5-747b-a553-d6617476d455_c6ad9847a96940d42ce0ea570db2cb6c916ab48d745bd54e42627ce9127864ac";

/// The migration that adds memberships: from it on, the fixture's admin is `org_owner`.
const MEMBERS: i64 = 20261204000000;

fn fill(version: i64) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/upgrade/fill/{version}.sql"))
}

/// The first `k` migrations only: an older axp's.
fn first(k: usize) -> Migrator {
    let all = migrator();
    Migrator { migrations: Cow::Owned(all.iter().take(k).cloned().collect()), ..Migrator::DEFAULT }
}

async fn row_counts(pool: &Pool<Postgres>) -> BTreeMap<String, u64> {
    let names: Vec<String> = query_scalar::<Postgres, String>(
        "SELECT tablename::text FROM pg_tables
          WHERE schemaname = current_schema() AND tablename <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut counts = BTreeMap::new();
    for name in names {
        let rows: i64 = query_scalar::<Postgres, i64>(&format!("SELECT COUNT(*) FROM \"{name}\""))
            .fetch_one(pool)
            .await
            .unwrap();
        counts.insert(name, rows as u64);
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_every_older_schema_is_reached_with_its_data() {
    if crate::testdb::server_url().is_none() {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the PostgreSQL upgrade fixtures");
        return;
    }
    let versions: Vec<i64> = migrator().iter().map(|m| m.version).collect();
    assert!(versions.len() >= 11, "the migration list is read");
    for k in 1..=versions.len() {
        let db = test_database().await.unwrap();
        let pool = PoolOptions::<Postgres>::new().max_connections(2).connect(&db.url).await.unwrap();
        for step in 1..=k {
            first(step).run(&pool).await.unwrap();
            let version = versions[step - 1];
            let sql = std::fs::read_to_string(fill(version)).unwrap_or_else(|e| {
                panic!(
                    "migration {version} has no fill {}: {e}; write the rows its tables hold",
                    fill(version).display()
                )
            });
            raw_sql(&sql).execute(&pool).await.unwrap_or_else(|e| panic!("fill {version}.sql: {e}"));
        }
        let before = row_counts(&pool).await;
        pool.close().await;

        let backend = PgStore::connect(&db.url, PgOptions::default(), Arc::new(NoListener)).await.unwrap();
        let store = Ledger::new(Arc::new(backend.clone()), Presence::default());
        let at = format!("a database of the first {k} PostgreSQL migrations");
        let stats = store.maintenance().stats().await.unwrap();
        assert_eq!(stats.schema_version, *versions.last().unwrap(), "{at}: migrated to the end");
        let with_members = versions[k - 1] >= MEMBERS;
        axp_store::conformance::upgrade::upgraded(&store, FIXTURE_KEY, &before, with_members, &at).await;
        backend.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_with_a_migration_this_axp_does_not_know_is_refused() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping");
        return;
    };
    crate::migrate(&db.url).await.unwrap();
    let pool = PoolOptions::<Postgres>::new().max_connections(1).connect(&db.url).await.unwrap();
    raw_sql(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (29991231000000, 'from the future', true, '\\x00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    for migrate in [true, false] {
        let options = PgOptions { migrate, ..PgOptions::default() };
        let err = PgStore::connect(&db.url, options, Arc::new(NoListener))
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("29991231000000") && err.contains("newer axp"), "migrate={migrate}: {err}");
    }
    let err = crate::migrate(&db.url).await.expect_err("axp migrate refuses too").to_string();
    assert!(err.contains("29991231000000"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_must_not_migrate_waits_for_axp_migrate() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping");
        return;
    };
    let versions: Vec<i64> = migrator().iter().map(|m| m.version).collect();
    let pool = PoolOptions::<Postgres>::new().max_connections(1).connect(&db.url).await.unwrap();
    first(versions.len() - 1).run(&pool).await.unwrap();
    pool.close().await;
    let no_migrate = PgOptions { migrate: false, ..PgOptions::default() };
    let err = PgStore::connect(&db.url, no_migrate.clone(), Arc::new(NoListener))
        .await
        .err()
        .expect("a pending migration refuses the start")
        .to_string();
    assert!(
        err.contains("run `axp migrate`") && err.contains(&versions.last().unwrap().to_string()),
        "{err}"
    );
    assert_eq!(crate::migrate(&db.url).await.unwrap(), [*versions.last().unwrap()]);
    let store =
        PgStore::connect(&db.url, no_migrate, Arc::new(NoListener)).await.expect("migrated: it starts");
    store.close().await;
}
