//! [`FileBlobs`]: media bytes as files under `<data-dir>/media/<workspace_id>/<object_id>`
//! (mode 0600, directories 0700).
//!
//! A put writes a temporary file beside the final one, fsyncs it, renames it to the final name
//! and fsyncs the directory: an acknowledged upload survives `kill -9` and power loss, and a put
//! that fails or is cut off leaves no object.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use axp_core::ids::WorkspaceId;
use axp_store::{ByteStream, Error, MediaBlobs, Result};
use bytes::Bytes;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// Bytes read from a file per chunk of a download.
const READ_CHUNK: usize = 256 * 1024;

/// Media bytes as files under a root directory.
pub(crate) struct FileBlobs {
    root: PathBuf,
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let at = format!("{what} {}", path.display());
    move |e| Error::Unavailable(format!("{at}: {e}"))
}

impl FileBlobs {
    /// Files under `root` (created when the first upload arrives).
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn dir(&self, ws: WorkspaceId) -> PathBuf {
        self.root.join(ws.to_string())
    }

    fn path(&self, ws: WorkspaceId, id: Uuid) -> PathBuf {
        self.dir(ws).join(id.to_string())
    }

    /// Writes `body` to `tmp`, fsynced; the caller renames or removes it.
    async fn write(tmp: &Path, mut body: ByteStream) -> Result<()> {
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)
            .await
            .map_err(io("creating", tmp))?;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Error::Unavailable(format!("the upload body failed: {e}")))?;
            file.write_all(&chunk).await.map_err(io("writing", tmp))?;
        }
        file.sync_all().await.map_err(io("syncing", tmp))
    }
}

#[async_trait]
impl MediaBlobs for FileBlobs {
    async fn put(&self, ws: WorkspaceId, id: Uuid, body: ByteStream) -> Result<()> {
        let dir = self.dir(ws);
        tokio::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .await
            .map_err(io("creating", &dir))?;
        let tmp = dir.join(format!("{id}.tmp"));
        if let Err(e) = Self::write(&tmp, body).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        let path = self.path(ws, id);
        tokio::fs::rename(&tmp, &path).await.map_err(io("renaming to", &path))?;
        tokio::fs::File::open(&dir)
            .await
            .map_err(io("opening", &dir))?
            .sync_all()
            .await
            .map_err(io("syncing", &dir))
    }

    async fn open(&self, ws: WorkspaceId, id: Uuid) -> Result<Option<ByteStream>> {
        let path = self.path(ws, id);
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("opening", &path)(e)),
        };
        let chunks = futures::stream::try_unfold(file, |mut file| async move {
            let mut buf = vec![0; READ_CHUNK];
            let n = file.read(&mut buf).await?;
            buf.truncate(n);
            Ok((n > 0).then(|| (Bytes::from(buf), file)))
        });
        Ok(Some(chunks.boxed()))
    }

    async fn delete(&self, ws: WorkspaceId, id: Uuid) -> Result<()> {
        let path = self.path(ws, id);
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io("removing", &path)(e)),
            _ => Ok(()),
        }
    }
}
