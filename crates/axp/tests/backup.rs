//! Backup and restore against the real binary (issue 14): `axp backup` of a server under load
//! keeps every intent acknowledged before it was asked for, `axp restore` writes a data dir
//! `axp serve` starts on with the same keys, and the operator-only endpoints refuse everyone
//! else. On PostgreSQL, `axp backup` says to use `pg_dump` or PITR and fails. Upgrades: a
//! database of a newer axp is refused at start, and `axp migrate --data-dir` upgrades an older
//! one of a stopped server.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axp_store_postgres::testdb::{TestDatabase, server_url};
use axp_test_util::binary::{ServeCommand, ServeProcess};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Variables of the host that must not reach the CLI or the server under test.
const HOST_VARS: [&str; 8] = [
    "AXP_URL",
    "AXME_BASE_URL",
    "AXP_API_KEY",
    "AXME_API_KEY",
    "AXP_CONTEXT",
    "AXP_DATA_DIR",
    "AXP_DATABASE_URL",
    "AXP_BOOTSTRAP_KEY",
];

/// `axp serve` on SQLite in `data_dir`, on a free port.
fn serve(data_dir: &Path) -> ServeProcess {
    ServeCommand::new(env!("CARGO_BIN_EXE_axp"), data_dir).env_remove(HOST_VARS).start()
}

/// Runs the CLI with `args` against `url` with `key` (the config dir is `home`, so no saved
/// context leaks in); its output.
fn cli(home: &Path, url: &str, key: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_axp"));
    for name in HOST_VARS {
        command.env_remove(name);
    }
    command
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("AXP_URL", url)
        .env("AXP_API_KEY", key)
        .stdin(Stdio::null())
        .output()
        .expect("run axp")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

async fn create(http: &reqwest::Client, url: &str, key: &str, payload: Value) -> Option<String> {
    let body = json!({"intent_type": "backup.test.v1", "to_agent": "worker", "payload": payload});
    let response =
        http.post(format!("{url}/v1/intents")).header("x-api-key", key).json(&body).send().await.ok()?;
    if response.status() != 200 {
        return None;
    }
    let created: Value = response.json().await.ok()?;
    created["intent_id"].as_str().map(str::to_owned)
}

async fn events(http: &reqwest::Client, url: &str, key: &str, id: &str) -> (u16, Value) {
    let response =
        http.get(format!("{url}/v1/intents/{id}/events")).header("x-api-key", key).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_keeps_every_acknowledged_intent_and_restores_with_the_same_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let (source_dir, restored_dir) = (tmp.path().join("source"), tmp.path().join("restored"));
    let axp = serve(&source_dir);
    let (url, key) = (axp.url().to_owned(), axp.admin_key());
    let http = reqwest::Client::new();

    // Enough data that the copy takes a while, then writers that keep going through it.
    let preload: Vec<String> = futures::future::join_all(
        (0..400).map(|i| create(&http, &url, &key, json!({"i": i, "pad": "p".repeat(2048)}))),
    )
    .await
    .into_iter()
    .map(|id| id.expect("preload acknowledged"))
    .collect();
    let acknowledged: Arc<Mutex<Vec<(String, Instant)>>> =
        Arc::new(Mutex::new(preload.into_iter().map(|id| (id, Instant::now())).collect()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (http, url, key, acknowledged, stop) =
            (http.clone(), url.clone(), key.clone(), acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Some(id) = create(&http, &url, &key, json!({"writer": w, "i": i})).await {
                    acknowledged.lock().await.push((id, Instant::now()));
                }
                i += 1;
            }
        }));
    }
    // The writers are under way: at least 80 more acknowledged.
    while acknowledged.lock().await.len() < 480 {
        tokio::task::yield_now().await;
    }

    let dest = tmp.path().join("axp-backup.tar");
    let asked = Instant::now();
    let backup = {
        let (home, url, key, dest) = (tmp.path().to_owned(), url.clone(), key.clone(), dest.clone());
        tokio::task::spawn_blocking(move || cli(&home, &url, &key, &["backup", dest.to_str().unwrap()]))
            .await
            .unwrap()
    };
    let done = Instant::now();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(backup.status.success(), "axp backup: {}", text(&backup));
    let acknowledged = acknowledged.lock().await.clone();
    let during = acknowledged.iter().filter(|(_, at)| *at > asked && *at < done).count();
    assert!(during > 0, "writes went on while the backup ran");

    let archive = std::process::Command::new("tar").arg("tf").arg(&dest).output().unwrap();
    let entries = String::from_utf8_lossy(&archive.stdout).to_string();
    assert!(entries.lines().any(|l| l == "axp.db"), "{entries}");
    assert!(!entries.contains("admin.key"), "never admin.key: {entries}");

    let restore = cli(
        tmp.path(),
        &url,
        &key,
        &["restore", dest.to_str().unwrap(), "--data-dir", restored_dir.to_str().unwrap()],
    );
    assert!(restore.status.success(), "axp restore: {}", text(&restore));
    assert!(!restored_dir.join("admin.key").exists(), "no new admin key is written");
    let auto_vacuum = |dir: &Path| -> i64 {
        let conn = r2d2_sqlite::rusqlite::Connection::open(dir.join("axp.db")).unwrap();
        conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(auto_vacuum(&restored_dir), auto_vacuum(&source_dir), "the copy keeps the file's vacuum mode");

    let restored = serve(&restored_dir);
    assert!(!restored_dir.join("admin.key").exists(), "the restored database has its admin: no new key");
    let before: Vec<&String> = acknowledged.iter().filter(|(_, at)| *at < asked).map(|(id, _)| id).collect();
    assert!(before.len() >= 480);
    for id in before {
        let (status, copy) = events(&http, restored.url(), &key, id).await;
        assert_eq!(status, 200, "acknowledged intent {id} is missing from the copy (the old key works)");
        let seqs: Vec<u64> =
            copy["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert!(!seqs.is_empty() && seqs.iter().copied().eq(1..=seqs.len() as u64), "{id}: {seqs:?}");
        let (_, original) = events(&http, axp.url(), &key, id).await;
        assert_eq!(copy["events"], original["events"], "{id}: the same events in the same order");
    }

    // The operator's stats on the copy count what the copy holds.
    let stats = cli(tmp.path(), restored.url(), &key, &["admin", "stats", "--json"]);
    assert!(stats.status.success(), "{}", text(&stats));
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    let listed = http
        .get(format!("{}/v1/intents?limit=1", restored.url()))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    assert_eq!(stats["backend"], "sqlite");
    let intents = stats["tables"]["intents"].as_u64().unwrap();
    assert!(intents >= 480 && intents <= acknowledged.len() as u64, "{stats}");
    // A create writes its two events as one row (`axp_store::pack_events`).
    assert_eq!(stats["tables"]["intent_events"].as_u64().unwrap(), intents, "{stats}");
    assert!(stats["oldest_unfinished_intent_at"].is_string(), "{stats}");
    assert_eq!(stats["dead_letters"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_backs_up_and_reads_stats_and_restore_keeps_off_a_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let axp = serve(&dir);
    let (url, key) = (axp.url().to_owned(), axp.admin_key());
    let http = reqwest::Client::new();
    let first = create(&http, &url, &key, json!({})).await.unwrap();
    let (status, first_events) = events(&http, &url, &key, &first).await;
    assert_eq!(status, 200, "{first_events}");

    // A workspace_admin of the operator's own workspace is not the operator.
    let sa: Value = http
        .post(format!("{url}/v1/service-accounts"))
        .header("x-api-key", &key)
        .json(&json!({"name": "ops-helper"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sa = &sa["service_account"];
    let id = sa["service_account_id"].as_str().unwrap();
    let member = json!({"org_id": sa["org_id"], "workspace_id": sa["workspace_id"], "actor_id": id,
                        "role": "workspace_admin"});
    let org = sa["org_id"].as_str().unwrap();
    let r = http
        .post(format!("{url}/v1/organizations/{org}/members"))
        .header("x-api-key", &key)
        .json(&member)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let minted: Value = http
        .post(format!("{url}/v1/service-accounts/{id}/keys"))
        .header("x-api-key", &key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other_key = minted["key"]["token"].as_str().unwrap().to_owned();

    for (method, path) in
        [(reqwest::Method::POST, "/v1/admin/backup"), (reqwest::Method::GET, "/v1/admin/stats")]
    {
        let r = http
            .request(method, format!("{url}{path}"))
            .header("x-api-key", &other_key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "policy_denied", "{path}: {body}");
    }
    let dest = tmp.path().join("refused.tar");
    let refused = cli(tmp.path(), &url, &other_key, &["backup", dest.to_str().unwrap()]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(!dest.exists(), "a refused backup leaves no file");
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".axp-backup")),
        "nor a temporary one"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".backup-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // An upload's bytes travel with the backup.
    let upload: Value = http
        .post(format!("{url}/v1/media/create-upload"))
        .header("x-api-key", &key)
        .json(&json!({"owner_agent": "agent://default/default/admin", "filename": "b.txt",
                      "mime_type": "text/plain", "size_bytes": 7}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upload = upload["upload_id"].as_str().unwrap().to_owned();
    let put = http
        .put(format!("{url}/v1/media/upload/{upload}"))
        .header("x-api-key", &key)
        .body("backup!")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let finalized = http
        .post(format!("{url}/v1/media/finalize-upload"))
        .header("x-api-key", &key)
        .json(&json!({"upload_id": upload, "size_bytes": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(finalized.status(), 200);

    let ok = cli(tmp.path(), &url, &key, &["backup", dest.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", text(&ok));
    // The local admin.key of the running server's (locked) data dir is a key like any other.
    let local = tmp.path().join("local.tar");
    let mut by_data_dir = Command::new(env!("CARGO_BIN_EXE_axp"));
    for name in HOST_VARS {
        by_data_dir.env_remove(name);
    }
    let by_data_dir = by_data_dir
        .args(["backup", local.to_str().unwrap(), "--data-dir", dir.to_str().unwrap()])
        .env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path())
        .env("AXP_URL", &url)
        .output()
        .unwrap();
    assert!(by_data_dir.status.success(), "{}", text(&by_data_dir));
    assert!(local.exists());

    let audit: Value = http
        .get(format!("{url}/v1/audit?action=backup.taken"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "each backup is audited (the refused one not): {audit}");
    assert_eq!(entries[0]["details"]["media_objects"], 1, "{audit}");
    let restored_dir = tmp.path().join("restored");
    let restore = cli(
        tmp.path(),
        &url,
        &key,
        &["restore", dest.to_str().unwrap(), "--data-dir", restored_dir.to_str().unwrap()],
    );
    assert!(restore.status.success(), "{}", text(&restore));
    let restored = serve(&restored_dir);
    let bytes = http
        .get(format!("{}/v1/media/download/{upload}", restored.url()))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(bytes.status(), 200);
    assert_eq!(bytes.bytes().await.unwrap().as_ref(), b"backup!", "the upload's bytes were restored");
    drop(restored);
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".backup-"))
        .count();
    assert_eq!(leftovers, 0, "the server removed its temporary copy");

    // The running server's dir holds a database and a lock: restore refuses it and changes nothing.
    // The server's own checkpoints keep copying its WAL into axp.db, so the file's size is no
    // measure of that: the dir's files and what the server reads back are.
    let files = |d: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = files(&dir);
    let into_live = cli(
        tmp.path(),
        &url,
        &key,
        &["restore", dest.to_str().unwrap(), "--data-dir", dir.to_str().unwrap()],
    );
    assert!(!into_live.status.success());
    assert!(text(&into_live).contains("axp.db exists"), "{}", text(&into_live));
    assert_eq!(files(&dir), before);
    assert_eq!(events(&http, &url, &key, &first).await, (200, first_events));

    // A cut-off backup is refused, and leaves nothing behind.
    let bytes = std::fs::read(&dest).unwrap();
    let cut = tmp.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let target = tmp.path().join("from-cut");
    let refused = cli(
        tmp.path(),
        &url,
        &key,
        &["restore", cut.to_str().unwrap(), "--data-dir", target.to_str().unwrap()],
    );
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(!target.join("axp.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_axp_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut axp = serve(&dir);
    assert_eq!(reqwest::get(format!("{}/health", axp.url())).await.unwrap().status(), 200);
    assert!(axp.terminate(std::time::Duration::from_secs(30)).success());
    let conn = r2d2_sqlite::rusqlite::Connection::open(dir.join("axp.db")).unwrap();
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    conn.pragma_update(None, "user_version", current + 1).unwrap();
    drop(conn);
    let refused = ServeCommand::new(env!("CARGO_BIN_EXE_axp"), &dir)
        .env_remove(HOST_VARS)
        .stderr(Stdio::piped())
        .try_start()
        .err()
        .expect("the start is refused");
    let stderr = refused.stderr;
    assert!(
        stderr.contains(&format!("schema version {}", current + 1))
            && stderr.contains(&format!("up to {current}"))
            && stderr.contains("newer axp"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_postgresql_says_to_use_pg_dump() {
    let Some(server) = server_url() else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the PostgreSQL backup test");
        return;
    };
    let db = TestDatabase::create(&server).await.expect("create a test database");
    let tmp = tempfile::tempdir().unwrap();
    let key = "axme_sa_01970000-0000-7000-8000-0000000b4c0f_0123456789abcdef0123456789abcdef0123456789abcdef";
    let axp = ServeCommand::new(env!("CARGO_BIN_EXE_axp"), tmp.path().join("d"))
        .env_remove(HOST_VARS)
        .args(["--database-url", &db.url])
        .env("AXP_BOOTSTRAP_KEY", key)
        .start();
    let dest = tmp.path().join("pg.tar");
    let refused = cli(tmp.path(), axp.url(), key, &["backup", dest.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("pg_dump") && text(&refused).contains("PITR"), "{}", text(&refused));
    assert!(!dest.exists());

    let stats = cli(tmp.path(), axp.url(), key, &["admin", "stats", "--json"]);
    assert!(stats.status.success(), "{}", text(&stats));
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["backend"], "postgres");
    assert_eq!(stats["tables"]["orgs"], 1, "{stats}");
    assert!(stats["wal_bytes"].is_null());
    drop(axp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axp_migrate_upgrades_the_data_dir_of_a_stopped_server() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    // A database one migration behind, made from the repo's migration files.
    let mut files: Vec<_> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../axp-store-sqlite/migrations"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    files.sort();
    let older = files.len() as i64 - 1;
    let conn = r2d2_sqlite::rusqlite::Connection::open(dir.join("axp.db")).unwrap();
    for file in &files[..files.len() - 1] {
        conn.execute_batch(&std::fs::read_to_string(file).unwrap()).unwrap();
    }
    conn.pragma_update(None, "user_version", older).unwrap();
    drop(conn);

    let migrate = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_axp"))
            .args(["migrate", "--data-dir", dir.to_str().unwrap()])
            .env_remove("AXP_DATABASE_URL")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let first = migrate(&dir);
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains(&format!("from schema version {older} to {}", older + 1)),
        "{}",
        text(&first)
    );
    let again = migrate(&dir);
    assert!(again.status.success() && text(&again).contains("up to date"), "{}", text(&again));

    // With its server running, the data dir is locked: migrate refuses and names the holder.
    let axp = serve(&dir);
    let locked = migrate(&dir);
    assert!(!locked.status.success());
    assert!(text(&locked).contains(&format!("pid {}", axp.pid())), "{}", text(&locked));
    assert!(!migrate(&tmp.path().join("none")).status.success(), "a dir without a database");
}
