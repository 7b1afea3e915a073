//! Throwaway databases for tests (feature `test-util`): one fresh database per test run on the
//! server named by `AXP_TEST_DATABASE_URL`, dropped when the handle is dropped.
//!
//! Unset, PostgreSQL tests skip. Set, they must run: a server that cannot be reached (or a
//! database that cannot be created) is a test failure, never a silent pass, and it fails within
//! [`CONNECT_TIMEOUT`] rather than waiting on a black-holed address.

use std::str::FromStr;
use std::time::Duration;

use sqlx_core::connection::Connection;
use sqlx_core::query::query;
use sqlx_postgres::{PgConnectOptions, PgConnection, Postgres};

/// The server tests may create databases on, from `AXP_TEST_DATABASE_URL` (e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`); `None` when unset (PostgreSQL tests skip).
pub fn server_url() -> Option<String> {
    std::env::var("AXP_TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty())
}

/// How long [`TestDatabase::create`] waits for the server before failing.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// For tests: `None` (skip) when `AXP_TEST_DATABASE_URL` is unset; otherwise a fresh database on
/// that server, **panicking** when it cannot be created, so a set but unreachable URL fails the
/// test instead of skipping it.
pub async fn test_database() -> Option<TestDatabase> {
    let server = server_url()?;
    match TestDatabase::create(&server).await {
        Ok(db) => Some(db),
        Err(e) => panic!(
            "AXP_TEST_DATABASE_URL is set, but no test database could be created on that server \
             ({e}); unset it to skip the PostgreSQL tests"
        ),
    }
}

/// A database created for one test run; dropped (connections and all) on drop.
pub struct TestDatabase {
    /// Its URL, for `PgStore::connect` or `axp serve --database-url`.
    pub url: String,
    admin: PgConnectOptions,
    name: String,
}

impl TestDatabase {
    /// Creates `axp_test_<random>` on the server at `server_url`. Errors when the server cannot
    /// be reached within [`CONNECT_TIMEOUT`] or refuses.
    pub async fn create(server_url: &str) -> Result<Self, sqlx_core::Error> {
        let admin = PgConnectOptions::from_str(server_url)?;
        let name = format!("axp_test_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&admin))
            .await
            .map_err(|_| {
                let timed_out = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer from the server within {CONNECT_TIMEOUT:?}"),
                );
                sqlx_core::Error::Io(timed_out)
            })??;
        query::<Postgres>(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
        conn.close().await?;
        let url = with_database(server_url, &name);
        Ok(Self { url, admin, name })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// `url` with its database path replaced by `name` (query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop cannot be async: drop the database from a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect_with(&admin).await.ok()?;
                query::<Postgres>(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://h/db?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
    }
}
