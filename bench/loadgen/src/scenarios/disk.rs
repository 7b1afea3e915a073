//! Disk bytes per finished simple intent (issue 16: "Disk per intent ≤ 1 KB … Report bytes per
//! intent in the harness"): N creates, each then resolved COMPLETED, on a fresh SQLite data dir;
//! the database file's growth over an empty database, divided by N, after clean stops.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axp_loadgen::http::{self, Conn};
use axp_loadgen::proc::Axp;

use super::{Ctx, Section, Verdict, rate};

/// Connections the creates and the resolves are spread over.
const CONNECTIONS: usize = 8;
/// The resolve body: a finished simple intent, with a small result.
const RESOLVE: &[u8] = br#"{"status":"COMPLETED","result":{"ok":true}}"#;

/// Sizes of the data dir's SQLite files after a clean stop, bytes.
struct Files {
    db: u64,
    wal: u64,
    clean: bool,
}

fn files(dir: &Path) -> Files {
    let len = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
    Files { db: len("axp.db"), wal: len("axp.db-wal"), clean: dir.join("clean-shutdown").exists() }
}

/// Rows per table, from `GET /v1/admin/stats` (the admin key is the first organization's owner).
/// Errors: a connection failure, a status other than 200, or no `tables` object.
pub async fn table_rows(axp: &Axp) -> Result<BTreeMap<String, u64>> {
    let mut conn = Conn::connect(axp.addr).await?;
    let r = conn.send(&http::get("/v1/admin/stats", &axp.admin_key)).await?;
    if r.status != 200 {
        bail!("GET /v1/admin/stats answered {}: {}", r.status, r.text());
    }
    serde_json::from_value(r.json()["tables"].clone()).context("tables in /v1/admin/stats")
}

/// Waits (at most 15 s) until the server's periodic WAL checkpoint (every 200 ms) has copied the
/// WAL into `axp.db`: the file's size unchanged over 5 polls 250 ms apart. Then stops the server
/// with SIGTERM (a clean stop: it ends its work and marks the data dir clean), waiting up to 30 s.
async fn settle_and_stop(mut axp: Axp, dir: &Path) {
    let (mut last, mut same) = (files(dir).db, 0);
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = files(dir).db;
        same = if now == last { same + 1 } else { 0 };
        last = now;
        if same >= 5 {
            break;
        }
    }
    axp.guard.terminate(Duration::from_secs(30));
}

/// Sends `requests` over `CONNECTIONS` keep-alive connections; returns each response's JSON in
/// the order given. Any status but 200 is an error.
async fn send_all(addr: SocketAddr, requests: Vec<Vec<u8>>) -> Result<Vec<serde_json::Value>> {
    let requests = Arc::new(requests);
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await?;
            let mut out = Vec::new();
            for i in (c..requests.len()).step_by(CONNECTIONS) {
                let r = conn.send(&requests[i]).await?;
                if r.status != 200 {
                    bail!("request answered {}: {}", r.status, r.text());
                }
                out.push((i, r.json()));
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut all = Vec::with_capacity(requests.len());
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, v)| v).collect())
}

/// Runs the disk measurement; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let n = ctx.opts.disk_intents.max(1);
    let mut s = Section::new(
        "Disk",
        &format!("disk bytes per finished simple intent: {n} creates, each resolved COMPLETED, SQLite"),
        "≤ 1 KB per intent (issue 16)",
    );
    s.header = [
        "intents",
        "empty database",
        "after",
        "WAL left after the stop",
        "bytes/intent",
        "rows/intent",
        "creates/s, resolves/s (not a measurement)",
    ]
    .map(String::from)
    .to_vec();
    let dir = ctx.fresh_dir("disk")?;
    // The empty database: a first start (migrations, the first organization and its key), then
    // a clean stop.
    let axp = ctx.axp_on(&dir, &[]).await?;
    let rows0 = table_rows(&axp).await?;
    settle_and_stop(axp, &dir).await;
    let empty = files(&dir);
    // The same data dir again: N creates, then N resolves, then a clean stop.
    let axp = ctx.axp_on(&dir, &[]).await?;
    let create = http::post_json("/v1/intents", &axp.admin_key, &[], super::p1::BODY.as_bytes());
    let t = std::time::Instant::now();
    let created = send_all(axp.addr, vec![create; n]).await?;
    let create_rate = n as f64 / t.elapsed().as_secs_f64();
    let mut resolves = Vec::with_capacity(n);
    for v in &created {
        let id = v["intent_id"].as_str().context("intent_id in the create response")?;
        resolves.push(http::post_json(&format!("/v1/intents/{id}/resolve"), &axp.admin_key, &[], RESOLVE));
    }
    let t = std::time::Instant::now();
    let resolved = send_all(axp.addr, resolves).await?;
    let resolve_rate = n as f64 / t.elapsed().as_secs_f64();
    let not_completed =
        resolved.iter().filter(|v| v["intent"]["status"].as_str() != Some("COMPLETED")).count();
    let rows1 = table_rows(&axp).await?;
    settle_and_stop(axp, &dir).await;
    let after = files(&dir);
    ctx.discard(&dir);
    if !empty.clean || !after.clean {
        s.notes.push(
            "A stop was not clean (no `clean-shutdown` marker): the figure may miss what stayed in the WAL."
                .into(),
        );
    }
    if not_completed > 0 {
        s.notes.push(format!("{not_completed} resolves did not answer status COMPLETED."));
    }
    let per_intent = after.db.saturating_sub(empty.db) as f64 / n as f64;
    let mut grown: Vec<(String, f64)> = rows1
        .iter()
        .map(|(t, r)| (t.clone(), r.saturating_sub(rows0.get(t).copied().unwrap_or(0)) as f64 / n as f64))
        .filter(|(_, r)| *r > 0.0)
        .collect();
    grown.sort_by(|a, b| b.1.total_cmp(&a.1));
    let rows: f64 = grown.iter().map(|(_, r)| r).sum();
    eprintln!("Disk: {per_intent:.0} bytes/intent, {rows:.2} rows/intent over {n} intents");
    s.rows.push(vec![
        format!("{n}"),
        format!("{:.1} KiB", empty.db as f64 / 1024.0),
        format!("{:.1} MiB", after.db as f64 / 1_048_576.0),
        format!("{:.1} KiB", after.wal as f64 / 1024.0),
        format!("**{per_intent:.0}**"),
        format!("{rows:.2}"),
        format!("{}, {}", rate(create_rate), rate(resolve_rate)),
    ]);
    s.checks.push((
        "disk bytes per finished simple intent ≤ 1 KB".into(),
        Verdict::of(per_intent <= 1000.0 && not_completed == 0),
        format!("{per_intent:.0} bytes/intent, {rows:.2} rows/intent ({n} intents)"),
    ));
    let by_table: Vec<String> = grown.iter().map(|(t, r)| format!("`{t}` {r:.2}")).collect();
    s.notes.push(format!("Rows per intent by table (from `GET /v1/admin/stats`): {}.", by_table.join(", ")));
    s.notes.push(format!(
        "One fresh SQLite data dir: a first start and a clean stop (SIGTERM) give the empty database; a second start on the same dir takes {n} creates (P1's body, one agent) over {CONNECTIONS} connections, then `POST /v1/intents/{{id}}/resolve` with `{}` for each, then a clean stop. Bytes per intent = (`axp.db` after − `axp.db` empty) / {n}; 1 KB = 1000 bytes. Before each stop the harness waits until `axp.db` stops growing (the server checkpoints its WAL into it every 200 ms; a clean stop alone leaves the WAL uncopied); the WAL file left after the stop is shown, not counted. Free pages inside the file (SQLite reuses them) are counted: the file is what the disk holds. One measurement: the figure does not depend on timing.",
        String::from_utf8_lossy(RESOLVE)
    ));
    Ok(s)
}
