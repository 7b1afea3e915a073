//! [`check_integrity`]: `PRAGMA quick_check` over the database file, run at start after an
//! unclean stop.

use std::path::Path;

use r2d2_sqlite::rusqlite::Connection;

/// Most problems `quick_check` reports before it stops (the first few say enough).
const MAX_PROBLEMS: u32 = 10;

/// Runs SQLite's `PRAGMA quick_check` on the database at `path` (its WAL is recovered first,
/// as on any open). O(database size) but without the index-content cross-checks of
/// `integrity_check`: about a second per GB.
///
/// Errors: the problems SQLite found (up to 10, one a line), or why the file could not be read
/// as a database (e.g. `file is not a database`).
pub fn check_integrity(path: &Path) -> Result<(), String> {
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    let mut stmt = conn.prepare(&format!("PRAGMA quick_check({MAX_PROBLEMS})")).map_err(|e| e.to_string())?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    match rows.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        problems => Err(problems.join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sound_database_passes_and_garbage_fails() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ok.db");
        Connection::open(&db).unwrap().execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);").unwrap();
        assert_eq!(check_integrity(&db), Ok(()));

        let bad = dir.path().join("bad.db");
        std::fs::write(&bad, vec![0x5a; 8192]).unwrap();
        assert!(check_integrity(&bad).is_err());
    }
}
