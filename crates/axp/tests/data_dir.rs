//! A data directory that protects itself (issue 12), against the real binary: one server per
//! directory, an emptied database is not re-bootstrapped over `admin.key`, a corrupted database
//! is caught (at start after an unclean stop, at runtime otherwise), and the files are private.

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use axp_test_util::binary::{Refused, ServeCommand, ServeProcess};
use r2d2_sqlite::rusqlite::Connection;
use serde_json::{Value, json};

/// Longest a stop may take here (generous: debug build, shared CI machine).
const BOUND: Duration = Duration::from_secs(30);

/// `axp serve` over `data_dir` on SQLite with a bootstrapped key, its stderr kept for a refusal.
fn serve(data_dir: &Path) -> ServeCommand {
    ServeCommand::new(env!("CARGO_BIN_EXE_axp"), data_dir)
        .env_remove(["AXP_DATABASE_URL", "AXP_BOOTSTRAP_KEY"])
        .stderr(Stdio::piped())
}

/// A start that must fail: its exit status is not success; returns its stderr.
fn refused(data_dir: &Path) -> String {
    let Err(Refused { status, stderr }) = serve(data_dir).try_start() else {
        panic!("the start must be refused");
    };
    assert!(!status.success(), "the start must be refused; stderr: {stderr}");
    stderr
}

/// The binary serving on a free port.
struct Axp {
    process: ServeProcess,
    key: String,
}

impl Axp {
    /// Starts `axp serve` and reads the URL it prints (no sleeping).
    fn start(data_dir: &Path) -> Self {
        Self::try_start(data_dir).unwrap_or_else(|stderr| panic!("axp did not start: {stderr}"))
    }

    /// As [`Axp::start`]; a start that fails is its stderr.
    fn try_start(data_dir: &Path) -> Result<Self, String> {
        let process = serve(data_dir).try_start().map_err(|refused| refused.stderr)?;
        let key = process.admin_key();
        Ok(Self { process, key })
    }

    /// SIGTERM, and wait for the clean stop. A request first: the binary installs its SIGTERM
    /// handler just after printing its URL, and a signal before that kills it uncleanly.
    async fn stop(mut self) {
        assert_eq!(self.get("/health").await.status(), 200);
        assert!(self.process.terminate(BOUND).success(), "a clean stop exits 0");
    }

    /// SIGKILL: no shutdown, no marker.
    fn kill9(mut self) {
        self.process.kill9();
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", self.process.url()))
            .header("x-api-key", &self.key)
            .send()
            .await
            .unwrap()
    }

    /// Creates `n` intents with a 2 KB payload each; their ids.
    async fn fill(&self, n: usize) -> Vec<String> {
        let http = reqwest::Client::new();
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let body = json!({"intent_type": "data_dir.fill.v1", "to_agent": "worker", "payload": {"i": i, "pad": "x".repeat(2048)}});
            let r = http
                .post(format!("{}/v1/intents", self.process.url()))
                .header("x-api-key", &self.key)
                .json(&body)
                .send()
                .await;
            let created: Value = r.unwrap().json().await.unwrap();
            ids.push(
                created["intent_id"].as_str().unwrap_or_else(|| panic!("created: {created}")).to_owned(),
            );
        }
        ids
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Folds the WAL into `axp.db` (as SQLite's recovery would), so damage written into the file
/// is what the next start reads.
fn checkpoint(data_dir: &Path) {
    let conn = Connection::open(data_dir.join("axp.db")).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
}

/// Overwrites the middle third of `axp.db`'s pages with 0xFF bytes.
fn corrupt_middle(data_dir: &Path) {
    const PAGE: u64 = 4096;
    let mut file = std::fs::OpenOptions::new().write(true).open(data_dir.join("axp.db")).unwrap();
    let pages = file.seek(SeekFrom::End(0)).unwrap() / PAGE;
    assert!(pages > 30, "enough data to damage the middle of ({pages} pages)");
    file.seek(SeekFrom::Start(pages / 3 * PAGE)).unwrap();
    file.write_all(&vec![0xff; (pages / 3 * PAGE) as usize]).unwrap();
    file.sync_all().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_per_dir_with_private_files_and_kill_9_does_not_block_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let first = Axp::start(&dir);
    first.fill(1).await;

    let stderr = refused(&dir);
    assert!(stderr.contains(&format!("pid {}", first.process.pid())), "names the holder: {stderr}");
    assert!(stderr.contains(&dir.display().to_string()), "names the dir: {stderr}");
    assert_eq!(first.get("/ready").await.status(), 200, "the first server is undisturbed");

    assert_eq!(mode(&dir), 0o700);
    for file in ["axp.db", "axp.db-wal", "axp.db-shm", "admin.key", "axp.lock"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }

    first.kill9();
    let again = Axp::start(&dir);
    assert_eq!(again.get("/ready").await.status(), 200, "the kernel released the lock");
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_or_lost_database_is_not_bootstrapped_over_admin_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    Axp::start(dir).stop().await;
    let key = std::fs::read_to_string(dir.join("admin.key")).unwrap();
    for file in ["axp.db-wal", "axp.db-shm"] {
        let _ = std::fs::remove_file(dir.join(file));
    }

    std::fs::File::create(dir.join("axp.db")).unwrap(); // 0 bytes
    let stderr = refused(dir);
    assert!(stderr.contains("emptied or lost"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.join("admin.key")).unwrap(), key, "admin.key unchanged");

    std::fs::remove_file(dir.join("axp.db")).unwrap();
    assert!(refused(dir).contains("emptied or lost"));
    assert_eq!(std::fs::read_to_string(dir.join("admin.key")).unwrap(), key, "admin.key unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_after_an_unclean_stop_is_caught_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let axp = Axp::start(dir);
    axp.fill(200).await;
    axp.kill9();
    checkpoint(dir);
    corrupt_middle(dir);
    let stderr = refused(dir);
    assert!(stderr.contains("quick_check") && stderr.contains("damaged"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_after_a_clean_stop_faults_the_running_server() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let axp = Axp::start(dir);
    let ids = axp.fill(200).await;
    axp.stop().await;
    checkpoint(dir);
    corrupt_middle(dir);

    // A clean stop skips the check, so the start may succeed; if the damage is met on the way
    // (bootstrap reads the store), the start is refused instead.
    let axp = match Axp::try_start(dir) {
        Ok(axp) => axp,
        Err(stderr) => {
            assert!(stderr.contains("corrupted"), "{stderr}");
            return;
        }
    };
    let mut faulted = None;
    for id in &ids {
        let r = axp.get(&format!("/v1/intents/{id}")).await;
        if r.status() != 200 {
            faulted = Some(r);
            break;
        }
    }
    let r = faulted.expect("a read meets the damaged pages");
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "service_unavailable", "the envelope: {body}");

    let ready = axp.get("/ready").await;
    assert_eq!(ready.status(), 503, "/ready reports the fault");
    assert_eq!(ready.headers()["retry-after"], "30");
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "service_unavailable");
    axp.kill9();
}
