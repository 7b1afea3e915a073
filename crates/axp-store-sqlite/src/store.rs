//! [`SqliteStore`]: the [`Backend`]: the writer thread for jobs that write, a pool of read
//! connections on blocking threads for jobs that read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axp_store::{Backend, CommitListener, Error, Job, Maintenance, MediaBlobs, PrincipalCache, Result};
use futures::FutureExt;
use futures::future::BoxFuture;
use r2d2_sqlite::SqliteConnectionManager;
use r2d2_sqlite::rusqlite::Connection;

use crate::checkpoint::Checkpointer;
use crate::keys::Keys;
use crate::media::FileBlobs;
use crate::schema;
use crate::tables::{SqliteTx, db};
use crate::writer::Writer;

/// Read connections kept open. Reads are short; a few cover many concurrent streams.
const READERS: u32 = 8;

/// SQLite-backed [`Backend`]. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) writer: Writer,
    pub(crate) readers: r2d2::Pool<SqliteConnectionManager>,
    /// The database file.
    pub(crate) path: PathBuf,
    /// Who each recently seen key stands for; the writer invalidates it.
    principals: Arc<PrincipalCache>,
    /// Media bytes, as files in `media/` beside the database file.
    media: Arc<FileBlobs>,
    /// The committed keys remembered, shared with the writer.
    keys: Arc<Keys>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, applies pending migrations and
    /// starts the writer thread. `listener` is told about every commit. Media bytes go to
    /// `media/` beside the file.
    ///
    /// Errors: [`Error::Unavailable`] when the file cannot be opened or migrated, or was
    /// written by a newer axp (its schema version is past [`crate::schema_version`]).
    pub fn open(path: &Path, listener: Arc<dyn CommitListener>) -> Result<Self> {
        let mut conn = Connection::open(path)
            .map_err(|e| Error::Unavailable(format!("open {}: {e}", path.display())))?;
        schema::configure_writer(&conn).map_err(db)?;
        schema::migrate(&mut conn)?;
        let checkpointer = Checkpointer::start(path)?;
        let principals = Arc::new(PrincipalCache::default());
        let keys = Arc::new(Keys::default());
        let writer = Writer::spawn(conn, listener, principals.clone(), keys.clone(), checkpointer)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        let manager = SqliteConnectionManager::file(path).with_init(|c| schema::configure_reader(c));
        let readers = r2d2::Pool::builder()
            .max_size(READERS)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        let media = Arc::new(FileBlobs::new(path.parent().unwrap_or_else(|| Path::new(".")).join("media")));
        Ok(Self { writer, readers, path: path.to_owned(), principals, media, keys })
    }
}

impl Backend for SqliteStore {
    fn write(&self, job: Box<dyn Job>) -> BoxFuture<'_, ()> {
        Box::pin(self.writer.write(job))
    }

    fn read(&self, mut job: Box<dyn Job>) -> BoxFuture<'_, ()> {
        let (pool, keys) = (self.readers.clone(), self.keys.clone());
        Box::pin(async move {
            let ran = tokio::task::spawn_blocking(move || match pool.get() {
                Ok(mut conn) => {
                    // Synchronous calls: the job's future is ready at once (see `writer.rs`).
                    job.run(&mut SqliteTx::reader(&mut conn, &keys)).now_or_never();
                    job.reply(Ok(()));
                }
                Err(e) => job.reply(Err(Error::Unavailable(e.to_string()))),
            });
            if let Err(e) = ran.await {
                tracing::error!(error = %e, "a sqlite read job panicked");
            }
        })
    }

    fn principals(&self) -> &PrincipalCache {
        &self.principals
    }

    fn media(&self) -> &dyn MediaBlobs {
        self.media.as_ref()
    }

    fn maintenance(&self) -> &dyn Maintenance {
        self
    }
}
