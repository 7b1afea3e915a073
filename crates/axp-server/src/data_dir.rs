//! [`DataDir`]: the data directory, kept to one server and to its owner.
//!
//! - The directory is made mode 0700 and the database, its WAL and shared-memory files and
//!   `admin.key` 0600 (set explicitly, whatever the umask). SQLite gives the `-wal` and `-shm`
//!   files the database file's mode, so `axp.db` is created here, 0600, before SQLite opens it.
//! - With SQLite, one server at a time: an exclusive `flock` on `axp.lock`, which holds the pid of
//!   the server holding it. The kernel releases the lock when the process dies, so a restart after
//!   `kill -9` is never blocked. PostgreSQL replicas share their database by design and take no
//!   lock.
//! - A clean-shutdown marker, `clean-shutdown`: removed at start, written by [`DataDir::close`]
//!   at the end of a clean stop. A start that does not find it runs SQLite's `quick_check`
//!   before serving (a normal restart stays fast).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The SQLite database file in the data dir.
pub(crate) const DB_FILE: &str = "axp.db";
/// The lock file (holds the pid of the server that has the lock).
pub(crate) const LOCK_FILE: &str = "axp.lock";
/// Written at the end of a clean stop, removed at start.
const CLEAN_MARKER: &str = "clean-shutdown";
/// Files that hold data or secrets: owner read/write only.
const PRIVATE_FILES: &[&str] = &[DB_FILE, "axp.db-wal", "axp.db-shm", "admin.key"];

/// An opened data directory. Holds the lock (SQLite) until dropped.
pub(crate) struct DataDir {
    path: PathBuf,
    /// The locked `axp.lock` (SQLite only); the lock goes with the file.
    lock: Option<File>,
    /// Whether the database needs `quick_check` before use: it holds data and the last stop was
    /// not clean.
    unclean: bool,
}

impl DataDir {
    /// Creates `path` if needed and makes it 0700. With `sqlite`, takes the lock (errors naming
    /// the pid holding it), pre-creates `axp.db` 0600, makes the data and key files 0600, and
    /// reads then removes the clean-shutdown marker.
    pub(crate) fn open(path: &Path, sqlite: bool) -> anyhow::Result<Self> {
        std::fs::create_dir_all(path).with_context(|| format!("creating data dir {}", path.display()))?;
        set_mode(path, 0o700)?;
        if !sqlite {
            return Ok(Self { path: path.to_owned(), lock: None, unclean: false });
        }
        let lock = lock(path)?;
        let db = path.join(DB_FILE);
        let had_data = std::fs::metadata(&db).map(|m| m.len() > 0).unwrap_or(false);
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&db)
            .with_context(|| format!("creating {}", db.display()))?;
        for name in PRIVATE_FILES {
            let file = path.join(name);
            if file.exists() {
                set_mode(&file, 0o600)?;
            }
        }
        let marker = path.join(CLEAN_MARKER);
        let clean = marker.exists();
        if clean {
            std::fs::remove_file(&marker).with_context(|| format!("removing {}", marker.display()))?;
        }
        Ok(Self { path: path.to_owned(), lock: Some(lock), unclean: had_data && !clean })
    }

    /// Runs `quick_check` on the database when the last stop was not clean. Errors: the
    /// damage found, with what to do.
    pub(crate) fn check_after_unclean_stop(&self) -> anyhow::Result<()> {
        if !self.unclean {
            return Ok(());
        }
        let db = self.path.join(DB_FILE);
        let started = std::time::Instant::now();
        tracing::info!(db = %db.display(), "the last stop was not clean: checking the database");
        axp_store_sqlite::check_integrity(&db).map_err(|problems| {
            anyhow::anyhow!(
                "{} is damaged (PRAGMA quick_check after an unclean stop):\n{problems}\n\
                 Restore it from a backup; axp will not serve from a damaged database.",
                db.display()
            )
        })?;
        tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "the database is sound");
        Ok(())
    }

    /// Marks a clean stop (SQLite), so the next start skips the check. Call once the server
    /// has stopped serving and writing.
    pub(crate) async fn close(&self) {
        if self.lock.is_none() {
            return;
        }
        let marker = self.path.join(CLEAN_MARKER);
        if let Err(e) = File::create(&marker).and_then(|f| f.sync_all()) {
            tracing::warn!(error = %e, marker = %marker.display(), "could not mark the clean stop");
        }
    }
}

impl DataDir {
    /// Puts the clean-shutdown marker back when the last stop was clean (a tool that held the
    /// lock without serving, like `axp migrate`, leaves the dir as clean as it found it).
    pub(crate) fn close_if_clean(&self) {
        if !self.unclean {
            futures::executor::block_on(self.close());
        }
    }
}

/// Takes the exclusive lock on `<dir>/axp.lock` and writes this pid in it.
fn lock(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            let who = if pid.is_empty() {
                "another axp server".to_owned()
            } else {
                format!("another axp server (pid {pid})")
            };
            anyhow::bail!(
                "{who} is already using data dir {}; stop it first, or give this one another --data-dir",
                dir.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    file.sync_all()?;
    Ok(file)
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting mode {mode:o} on {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn modes_lock_and_marker() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = DataDir::open(&dir, true).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
        assert!(!first.unclean, "a new database needs no check");

        let err = DataDir::open(&dir, true).err().expect("the second open is refused").to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");

        std::fs::write(dir.join(DB_FILE), b"data").unwrap();
        drop(first);
        let again = DataDir::open(&dir, true).unwrap();
        assert!(again.unclean, "no marker: the last stop was not clean");
        futures::executor::block_on(again.close());
        drop(again);
        assert!(!DataDir::open(&dir, true).unwrap().unclean, "the marker says clean");
    }

    #[test]
    fn postgres_mode_takes_no_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let _a = DataDir::open(tmp.path(), false).unwrap();
        let _b = DataDir::open(tmp.path(), false).unwrap();
        assert!(!tmp.path().join(LOCK_FILE).exists());
    }
}
