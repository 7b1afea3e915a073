//! [`Maintenance`] for SQLite: stats read on a pooled read connection, and backups with
//! `VACUUM INTO` on a connection of their own.
//!
//! `VACUUM INTO` reads the database inside one read transaction and writes a compact copy as of
//! its start. In WAL mode a reader never blocks the writer, so writes go on during the copy
//! (checkpoints only stop short of the reader's snapshot until it ends). The media objects the
//! copy references are then hard-linked into the backup's directory: an object is removed only
//! after the commit that stopped referencing it, so an object the copy references still exists
//! unless that commit came during the backup; such objects are named in
//! [`Snapshot::missing_media`].

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use axp_core::Status;
use axp_core::api::StoreStats;
use axp_core::delivery::DeliveryStatus;
use axp_core::media::MediaUpload;
use axp_store::{Error, Maintenance, Result, Snapshot, from_json};
use r2d2_sqlite::rusqlite::{Connection, OpenFlags, params_from_iter};

use crate::schema;
use crate::store::SqliteStore;
use crate::tables::{db, status_code};

/// The file name of the copy inside the backup's directory.
const SNAPSHOT_FILE: &str = "axp.db";

/// Runs `f` on a blocking thread; a panic there is [`Error::Internal`].
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> Result<R> + Send + 'static) -> Result<R> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a maintenance task failed: {e}")))?
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let at = format!("{what} {}", path.display());
    move |e| Error::Unavailable(format!("{at}: {e}"))
}

#[async_trait]
impl Maintenance for SqliteStore {
    async fn stats(&self) -> Result<StoreStats> {
        let (pool, path) = (self.readers.clone(), self.path.clone());
        blocking(move || {
            let conn = pool.get().map_err(|e| Error::Unavailable(e.to_string()))?;
            stats(&conn, &path)
        })
        .await
    }

    async fn queue_depths(&self) -> Result<BTreeMap<String, u64>> {
        let pool = self.readers.clone();
        blocking(move || {
            let conn = pool.get().map_err(|e| Error::Unavailable(e.to_string()))?;
            queue_depths(&conn)
        })
        .await
    }

    async fn snapshot(&self, dir: &Path) -> Result<Snapshot> {
        let (path, dir) = (self.path.clone(), dir.to_owned());
        blocking(move || snapshot(&path, &dir)).await
    }
}

/// `?1, ?2, …, ?n`.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

fn stats(conn: &Connection, path: &Path) -> Result<StoreStats> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(db)?;
    let mut tables = BTreeMap::new();
    for name in names {
        let quoted = name.replace('"', "\"\"");
        let rows: i64 =
            conn.query_row(&format!("SELECT COUNT(*) FROM \"{quoted}\""), [], |r| r.get(0)).map_err(db)?;
        tables.insert(name, rows.max(0) as u64);
    }
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).map_err(db)?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(db)?;
    let wal = path.with_extension("db-wal");
    let wal_bytes = match std::fs::metadata(&wal) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io("reading", &wal)(e)),
    };
    let open = Status::OPEN.map(status_code);
    let oldest: Option<i64> = conn
        .query_row(
            &format!("SELECT MIN(created_at) FROM intents WHERE status IN ({})", placeholders(open.len())),
            params_from_iter(open),
            |r| r.get(0),
        )
        .map_err(db)?;
    let dead: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM deliveries WHERE status = ?1",
            [DeliveryStatus::DeadLettered.as_str()],
            |r| r.get(0),
        )
        .map_err(db)?;
    Ok(StoreStats {
        backend: "sqlite".into(),
        schema_version: schema::version_of(conn).map_err(db)?,
        tables,
        database_bytes: (pages * page_size).max(0) as u64,
        wal_bytes: Some(wal_bytes),
        oldest_unfinished_intent_at: oldest.map(axp_core::Timestamp::from_millis),
        dead_letters: dead.max(0) as u64,
    })
}

/// Unhanded queue items of open intents by their agent's binding (`agent_queue_unhanded` is
/// the partial index of unhanded items).
fn queue_depths(conn: &Connection) -> Result<BTreeMap<String, u64>> {
    let open = Status::OPEN.map(status_code);
    let sql = format!(
        "SELECT COALESCE(json_extract(s.body, '$.delivery_mode'), 'none'), COUNT(*)
           FROM agent_queue q
           JOIN intents i ON i.workspace_id = q.workspace_id AND i.intent_id = q.intent_id
           JOIN workspace_keys k ON k.key = q.workspace_id
           JOIN agent_keys a ON a.key = q.agent_address
           LEFT JOIN service_accounts s ON s.workspace_id = k.workspace_id AND s.agent_address = a.agent_address
          WHERE q.handed_at IS NULL AND i.status IN ({})
          GROUP BY 1",
        placeholders(open.len())
    );
    let mut stmt = conn.prepare(&sql).map_err(db)?;
    let rows = stmt
        .query_map(params_from_iter(open), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(db)?;
    rows.map(|row| row.map(|(binding, n)| (binding, n.max(0) as u64)).map_err(db)).collect()
}

/// `VACUUM INTO <dir>/axp.db`, then the media objects it references linked beside it.
fn snapshot(path: &Path, dir: &Path) -> Result<Snapshot> {
    let database = dir.join(SNAPSHOT_FILE);
    let source =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| Error::Unavailable(format!("open {}: {e}", path.display())))?;
    source.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
    let target = database
        .to_str()
        .ok_or_else(|| Error::Unavailable(format!("{} is not UTF-8", database.display())))?;
    source.execute("VACUUM INTO ?1", [target]).map_err(db)?;
    drop(source);

    let copy = Connection::open_with_flags(&database, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db)?;
    let schema_version = schema::version_of(&copy).map_err(db)?;
    let objects = referenced_objects(&copy)?;
    drop(copy);

    let media_root = path.parent().unwrap_or_else(|| Path::new(".")).join("media");
    let media_dir = dir.join("media");
    let (mut media, mut missing_media) = (Vec::new(), Vec::new());
    for (n, relative) in objects.into_iter().enumerate() {
        let source = media_root.join(&relative);
        let taken = media_dir.join(n.to_string());
        if n == 0 {
            std::fs::create_dir_all(&media_dir).map_err(io("creating", &media_dir))?;
        }
        match std::fs::hard_link(&source, &taken) {
            Ok(()) => media.push((relative, taken)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(object = %relative, "a media object went during the backup: the copy lacks it");
                missing_media.push(relative);
            }
            // Another file system: copy instead.
            Err(_) => match std::fs::copy(&source, &taken) {
                Ok(_) => media.push((relative, taken)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing_media.push(relative),
                Err(e) => return Err(io("copying", &source)(e)),
            },
        }
    }
    Ok(Snapshot { database, schema_version, media, missing_media })
}

/// `<workspace_id>/<object_id>` of every upload in `copy` that has bytes.
fn referenced_objects(copy: &Connection) -> Result<Vec<String>> {
    let has_media: bool = copy
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'media_uploads'",
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
    if !has_media {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String)> = copy
        .prepare("SELECT workspace_id, body FROM media_uploads")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(db)?;
    let mut objects = Vec::new();
    for (ws, body) in rows {
        let upload: MediaUpload = from_json(&body)?;
        if let Some(stored) = upload.stored {
            objects.push(format!("{ws}/{}", stored.object_id));
        }
    }
    Ok(objects)
}
