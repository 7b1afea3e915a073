//! `axp backup DEST`: a consistent copy of a running SQLite server, taken by the server itself
//! (`POST /v1/admin/backup`) while it keeps serving, and written to one file.
//!
//! The server and key are found like every client command's (`--base-url`/`AXP_URL`,
//! `AXP_API_KEY`, or `<data-dir>/admin.key`), so it works beside the running server and from
//! another machine; the key must be the operator's. DEST is written through a temporary file
//! beside it, fsynced, checked to be a whole archive and only then renamed over DEST, so a
//! backup cut off on the way never leaves a DEST that looks whole.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use serde_json::json;

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// `axp backup` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file to write: one tar archive (database, media bytes and a manifest; never
    /// admin.key), mode 0600. An existing file is replaced once the new backup is whole.
    pub dest: PathBuf,
    /// Longest the whole backup may take, in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub timeout: u64,
}

/// Takes the backup; exit code 1 when the server refuses (another key than the operator's, a
/// PostgreSQL server: use `pg_dump` or PITR) or the copy is cut off.
pub async fn run(global: &Global, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    let dir = match args.dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut chunks = client.backup(Duration::from_secs(args.timeout)).await?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".axp-backup-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let mut bytes = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.context("the backup was cut off")?;
        bytes += chunk.len() as u64;
        tmp.write_all(&chunk).with_context(|| format!("writing {}", tmp.path().display()))?;
    }
    tmp.as_file().sync_all().context("syncing the backup")?;
    let manifest = axp_server::verify_archive(tmp.path())?;
    tmp.persist(&args.dest).with_context(|| format!("renaming the backup to {}", args.dest.display()))?;
    sync_dir(&dir)?;
    let value = json!({
        "ok": true,
        "dest": args.dest,
        "bytes": bytes,
        "schema_version": manifest.schema_version,
        "created_at": manifest.created_at,
        "media_objects": manifest.media_objects,
        "missing_media": manifest.missing_media,
    });
    out.object(&value, || {
        vec![
            ("dest".into(), args.dest.display().to_string()),
            ("bytes".into(), bytes.to_string()),
            ("schema_version".into(), manifest.schema_version.to_string()),
            ("created_at".into(), manifest.created_at.to_string()),
            ("media_objects".into(), manifest.media_objects.to_string()),
        ]
    });
    if !manifest.missing_media.is_empty() {
        out.note(&format!(
            "{} uploads were deleted during the backup; the copy lacks their bytes",
            manifest.missing_media.len()
        ));
    }
    Ok(Exit::Ok)
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))
}
