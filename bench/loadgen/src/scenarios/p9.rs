//! P9: retention (issue 14). A server built from this tree's crates, in this process on a
//! thread and runtime of its own, with a manual clock. Space: `--p9-intents` finished intents
//! are written, the clock moves past their retention period, and a pass removes them with
//! nothing else running: the database's bytes per finished intent, and its size after. Then
//! throughput: as many again, creates over HTTP for a window, the clock moves, and the same load
//! runs while a pass removes them: creates/s during against before, in the same run.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axp_core::intent::NewIntent;
use axp_core::lifecycle::{Command, Request, Resolution};
use axp_core::{AgentAddress, IntentId, Timestamp};
use axp_engine::{ManualClock, Pruner, RetentionOptions};
use axp_loadgen::http;
use axp_server::{AppState, Config, Options, Server};
use axp_store::{Audit, Principal};
use serde_json::json;

use super::load::{LoadResult, closed_loop};
use super::p1::BODY;
use super::{Ctx, Section, Verdict, rate, ratio};

const DAY_SECONDS: i64 = 86_400;

/// The server's files on disk, in bytes: the database and its WAL.
fn disk(dir: &Path) -> (u64, u64) {
    let size = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
    (size("axp.db"), size("axp.db-wal"))
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// A running in-process server: its state, URL and admin key; stops when dropped.
struct InProcess {
    state: AppState,
    addr: std::net::SocketAddr,
    key: String,
    admin: Principal,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    fn start(dir: &Path, clock: ManualClock) -> Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = Config { listen: "127.0.0.1:0".into(), data_dir: dir.to_path_buf() };
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
            let Ok(runtime) = runtime else { return };
            runtime.block_on(async move {
                let mut options = Options::from_env().expect("options");
                options.clock = Arc::new(clock);
                // The bench runs the passes itself; the server's own would wait a year.
                options.retention =
                    RetentionOptions { every: Duration::from_secs(365 * 86_400), ..Default::default() };
                options.admission.rate_per_key = 0;
                options.admission.workspace_max_inflight = 0;
                let server = match Server::build_with(config, options).await {
                    Ok(server) => server,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let boot = server.bootstrapped().cloned().expect("a fresh data dir bootstraps");
                let _ = ready_tx.send(Ok((
                    server.state().clone(),
                    server.local_addr(),
                    boot.api_key,
                    boot.principal,
                )));
                let _ = server
                    .run_until(async move {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let (state, addr, key, admin) = ready_rx.recv().context("the server thread ended")??;
        Ok(Self { state, addr, key, admin, stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.stop.take().map(|s| s.send(()));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes `n` intents through the store, each created and completed at once, 64 at a time.
async fn finished_intents(s: &InProcess, n: usize) -> Result<()> {
    let workers = 64;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (store, clock, admin) = (s.state.store.clone(), s.state.clock.clone(), s.admin.clone());
        tasks.push(tokio::spawn(async move {
            let to = AgentAddress::parse("bench-retained", &admin.tenant.scope()).expect("address");
            let payload =
                json!({"quarter": "Q1", "region": "emea", "pages": 12}).as_object().cloned().unwrap();
            for _ in (w..n).step_by(workers) {
                let now = clock.now();
                let (intent, events) = NewIntent::new(
                    "bench.report.generate.v1",
                    to.clone(),
                    payload.clone(),
                )
                .into_intent(IntentId::new(), &admin.agent_address, now);
                let id = intent.intent_id;
                store.create_intent(&admin.tenant, intent, events, None).await?;
                let done =
                    Command::Resolve(Resolution::Completed(json!({"report_url": "https://example.test/r"})));
                let request = Request {
                    command: done,
                    caller: None,
                    actor: admin.agent_address.to_string(),
                    expected_policy_generation: None,
                };
                store.execute(&admin.tenant, id, request, now, None, &Audit::server()).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn load(s: &InProcess, ctx: &Ctx) -> Result<LoadResult> {
    let o = &ctx.opts;
    let bytes = http::post_json("/v1/intents", &s.key, &[], BODY.as_bytes());
    closed_loop(
        s.addr,
        None,
        o.connections,
        super::secs(o.warmup),
        super::secs(o.duration),
        Arc::new(move |_, _| bytes.clone()),
    )
    .await
}

/// Runs P9; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let n = o.p9_intents;
    let mut s = Section::new(
        "P9",
        &format!("retention: {n} finished intents removed while creates run ({} connections)", o.connections),
        "space comes back; creates/s while the pruner runs reported against the same load just before (no target set by the issue)",
    );
    s.header = [
        "run",
        "bytes/finished intent",
        "DB + WAL with them",
        "DB + WAL after a quiet pass (its time)",
        "creates/s before",
        "creates/s while pruning",
        "ratio",
        "pass under load",
    ]
    .map(String::from)
    .to_vec();
    let mut ratios = Vec::new();
    let mut shrink = Vec::new();
    for run in 0..o.runs {
        let dir = ctx.fresh_dir("p9")?;
        let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
        let server = InProcess::start(&dir, clock.clone())?;
        let pruner = || {
            let state = &server.state;
            Pruner::new(state.store.clone(), state.clock.clone(), state.options.retention.clone())
        };
        // Space: N finished intents, then a pass with nothing else running.
        let (db0, wal0) = disk(&dir);
        finished_intents(&server, n).await?;
        let (db1, wal1) = disk(&dir);
        let per_intent = (db1 + wal1).saturating_sub(db0 + wal0) as f64 / n as f64;
        clock.advance_seconds(31 * DAY_SECONDS);
        let quiet = Instant::now();
        let removed = pruner().prune_once().await?.intents;
        let quiet = quiet.elapsed();
        let (db2, wal2) = disk(&dir);
        // Throughput: N more, creates over HTTP, then the same load while a pass removes them.
        finished_intents(&server, n).await?;
        let before = load(&server, ctx).await?;
        clock.advance_seconds(31 * DAY_SECONDS);
        let started = Instant::now();
        let pass = pruner();
        let pass = tokio::spawn(async move { (pass.prune_once().await, started.elapsed()) });
        let during = load(&server, ctx).await?;
        let (report, took) = pass.await?;
        anyhow::ensure!(
            report?.intents as usize == n && removed as usize == n,
            "a pass left finished intents behind"
        );
        drop(server);
        let r = during.ok_per_sec / before.ok_per_sec;
        ratios.push(r);
        shrink.push(db2 as f64 / db1 as f64);
        s.rows.push(vec![
            format!("{}", run + 1),
            format!("{per_intent:.0} B"),
            format!("{} + {}", mb(db1), mb(wal1)),
            format!("{} + {} ({:.1} s)", mb(db2), mb(wal2), quiet.as_secs_f64()),
            rate(before.ok_per_sec),
            rate(during.ok_per_sec),
            ratio(r),
            format!("{:.1} s (window {:.0} s)", took.as_secs_f64(), o.duration),
        ]);
        ctx.discard(&dir);
    }
    let median = axp_loadgen::stats::median(&ratios);
    s.checks.push((
        "creates/s while the pruner runs, against just before".into(),
        Verdict::NotMeasurable("reported, no target".into()),
        format!("median ratio {}", ratio(median)),
    ));
    s.checks.push((
        "the database file shrinks after the pass".into(),
        Verdict::of(shrink.iter().all(|x| *x < 0.5)),
        format!(
            "after/before DB file size: {}",
            shrink.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", ")
        ),
    ));
    s.notes.push("The server is this tree's `axp-server` built into `axp-bench` (release), on its own thread and 2-worker runtime in the harness's process, with a manual clock, so that 31 days pass in a moment; the finished intents are written through its store (create, then complete, 64 at a time), and the creates are P1's request over HTTP. The pass under load starts with the second window; when it ends before the window does, the rest of the window runs without it. Bytes per intent: growth of `axp.db` + `axp.db-wal` over the intents written, divided by their count. The WAL file keeps its high-water size (SQLite reuses it from the start); the database file is what shrinks.".into());
    Ok(s)
}
