//! The backup file of a SQLite data dir (`axp backup`, `POST /v1/admin/backup`) and its restore
//! (`axp restore`).
//!
//! A backup is one tar archive, in this order:
//!
//! - `manifest.json`: [`Manifest`] (format, axp version, schema version, when, media counts);
//! - `axp.db`: the database as of one instant ([`axp_store::Maintenance::snapshot`]);
//! - `media/<workspace_id>/<object_id>`: the bytes of every upload the database references.
//!
//! It never holds `admin.key` or any other file of the data dir: the keys live in the database
//! as hashes, so the old keys (and the `admin.key` kept elsewhere) work against a restored one.
//!
//! [`restore`] writes a new data dir from it: it refuses a directory holding a database or a
//! lock, unpacks into a temporary directory beside the target, runs SQLite's `integrity_check`,
//! refuses a database from a newer axp, sets the modes `axp serve` keeps, and only then moves
//! everything into place.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use axp_core::Timestamp;
use axp_store::Snapshot;
use serde::{Deserialize, Serialize};

use crate::data_dir::{DB_FILE, LOCK_FILE};

/// `format` of the manifest.
const FORMAT: &str = "axp-backup";
/// The manifest's name in the archive.
const MANIFEST: &str = "manifest.json";
/// Where media bytes go in the archive and in a data dir.
const MEDIA: &str = "media";

/// What a backup says about itself (`manifest.json`, the archive's first entry).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `axp-backup`.
    pub format: String,
    /// The version of the axp that wrote it.
    pub axp_version: String,
    /// The database's schema version (SQLite `user_version`).
    pub schema_version: i64,
    /// When the snapshot was taken.
    pub created_at: Timestamp,
    /// Media objects in the archive.
    pub media_objects: usize,
    /// Objects the database references whose bytes were removed during the backup
    /// (`<workspace_id>/<object_id>`).
    pub missing_media: Vec<String>,
}

impl Manifest {
    /// The manifest of `snapshot`, taken at `now`.
    pub(crate) fn of(snapshot: &Snapshot, now: Timestamp) -> Self {
        Self {
            format: FORMAT.into(),
            axp_version: env!("CARGO_PKG_VERSION").into(),
            schema_version: snapshot.schema_version,
            created_at: now,
            media_objects: snapshot.media.len(),
            missing_media: snapshot.missing_media.clone(),
        }
    }
}

/// Writes the archive of `snapshot` to `out`, ending with the tar trailer (a cut-off archive
/// has none, so a reader can tell).
pub(crate) fn write_archive(
    out: impl Write,
    snapshot: &Snapshot,
    manifest: &Manifest,
) -> std::io::Result<()> {
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Complete);
    let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, json.as_slice())?;
    tar.append_file(DB_FILE, &mut File::open(&snapshot.database)?)?;
    for (relative, file) in &snapshot.media {
        tar.append_file(Path::new(MEDIA).join(relative), &mut File::open(file)?)?;
    }
    tar.into_inner()?.flush()
}

/// Reads the archive at `src` through to its end; its manifest. Errors: not an axp backup, or
/// not whole (cut off, or lacking the database or media objects its manifest counts).
pub fn verify_archive(src: &Path) -> anyhow::Result<Manifest> {
    scan(src, |_, entry| {
        std::io::copy(entry, &mut std::io::sink())?;
        Ok(())
    })
}

fn read_manifest(entry: &mut dyn Read) -> anyhow::Result<Manifest> {
    let manifest: Manifest = serde_json::from_reader(entry).context("reading manifest.json")?;
    anyhow::ensure!(manifest.format == FORMAT, "manifest.json is not an axp backup's");
    Ok(manifest)
}

/// Reads the archive at `src`: its manifest first, then hands every other entry (the database,
/// then media objects) to `f` with its path. Errors: an entry out of place or with a path that
/// would leave the directory it is unpacked into, and an archive that is not whole: cut inside
/// an entry (the `tar` reader fails), or at an entry's end (fewer entries than the manifest
/// counts).
fn scan(
    src: &Path,
    mut f: impl FnMut(&Path, &mut dyn Read) -> anyhow::Result<()>,
) -> anyhow::Result<Manifest> {
    let whole = || format!("{} is not a whole axp backup", src.display());
    let file = File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut manifest: Option<Manifest> = None;
    let (mut database, mut media) = (false, 0);
    for entry in archive.entries().with_context(whole)? {
        let mut entry = entry.with_context(whole)?;
        let path = entry.path().with_context(whole)?.into_owned();
        if !path.components().all(|c| matches!(c, Component::Normal(_))) {
            bail!("{} holds an unsafe path {}", src.display(), path.display());
        }
        if manifest.is_none() {
            anyhow::ensure!(path == Path::new(MANIFEST), "{}: manifest.json must come first", whole());
            manifest = Some(read_manifest(&mut entry)?);
            continue;
        }
        if path == Path::new(DB_FILE) && !database {
            database = true;
        } else if database && path.starts_with(MEDIA) && path.components().count() == 3 {
            media += 1;
        } else {
            bail!("{}: unexpected entry {}", whole(), path.display());
        }
        f(&path, &mut entry).with_context(|| format!("reading {} from {}", path.display(), src.display()))?;
    }
    let manifest = manifest.ok_or_else(|| anyhow::anyhow!("{}: no manifest.json", whole()))?;
    anyhow::ensure!(database, "{}: no database", whole());
    anyhow::ensure!(
        media == manifest.media_objects,
        "{}: {media} media objects of {}",
        whole(),
        manifest.media_objects
    );
    Ok(manifest)
}

/// Writes a data dir at `dir` from the backup `src` that `axp serve --data-dir <dir>` starts on
/// with the keys the backup's server had; returns its manifest.
///
/// Errors: `dir` holds a database or a lock file (another data dir: nothing is touched); `src`
/// is not a whole axp backup; the database fails `PRAGMA integrity_check`; it was written by a
/// newer axp. On any error nothing is left in `dir` (a directory this call created stays,
/// empty).
pub fn restore(src: &Path, dir: &Path) -> anyhow::Result<Manifest> {
    for name in [DB_FILE, LOCK_FILE] {
        let path = dir.join(name);
        if path.exists() {
            bail!(
                "{} exists: {} is (or was) a data dir. Restore into a new or empty directory",
                path.display(),
                dir.display()
            );
        }
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    set_mode(dir, 0o700)?;
    let work = tempfile::Builder::new()
        .prefix(".restore-")
        .tempdir_in(dir)
        .with_context(|| format!("creating a work directory in {}", dir.display()))?;
    let manifest = unpack(src, work.path())?;
    let db = work.path().join(DB_FILE);
    axp_store_sqlite::check_integrity(&db)
        .map_err(|problems| anyhow::anyhow!("the backup's database is damaged:\n{problems}"))?;
    axp_store_sqlite::database_version(&db).map_err(|e| anyhow::anyhow!("{e}"))?;
    let media = work.path().join(MEDIA);
    if media.exists() {
        std::fs::rename(&media, dir.join(MEDIA)).context("moving the media into place")?;
    }
    // The database last: a data dir without it is not one yet.
    std::fs::rename(&db, dir.join(DB_FILE)).context("moving the database into place")?;
    File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    Ok(manifest)
}

/// Unpacks `src` into `work` with private modes (files 0600, directories 0700), fsynced.
fn unpack(src: &Path, work: &Path) -> anyhow::Result<Manifest> {
    scan(src, |path, entry| {
        let target: PathBuf = work.join(path);
        if let Some(parent) = target.parent() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
        }
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&target)?;
        std::io::copy(entry, &mut file)?;
        file.sync_all()?;
        Ok(())
    })
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting mode {mode:o} on {}", path.display()))
}
