//! P7 (issue 12, "Memory given back"): the server's RSS before, while and after `n` idle SSE
//! streams are open, and how much of the growth comes back once they close; against the naive
//! axum `Sse` server (`axp-baseline sse`, the system allocator) in the same run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axp_loadgen::http::SseStream;
use axp_loadgen::proc::{Baseline, Guard};
use axp_loadgen::stats::median;
use tokio::sync::Semaphore;

use super::{Ctx, Section, Verdict, ratio};

/// The share of the growth that must come back within [`SETTLE`] of the streams closing.
const TARGET_GIVEN_BACK: f64 = 0.75;

/// How long after the last stream closed the "after" RSS is read: jemalloc's background thread
/// purges freed pages over its 10 s decay time.
const SETTLE: Duration = Duration::from_secs(15);

/// RSS samples of one open-and-close cycle, KiB.
struct Cycle {
    opened: usize,
    idle: u64,
    peak: u64,
    after_1s: u64,
    after: u64,
}

impl Cycle {
    /// The part of the growth given back: (peak − after) / (peak − idle).
    fn given_back(&self) -> f64 {
        let grown = self.peak.saturating_sub(self.idle) as f64;
        if grown <= 0.0 { f64::NAN } else { self.peak.saturating_sub(self.after) as f64 / grown }
    }

    /// after / peak.
    fn after_over_peak(&self) -> f64 {
        self.after as f64 / self.peak.max(1) as f64
    }
}

/// Opens `n` streams on `path` (at most 200 connecting at once), reads the RSS with all open,
/// closes every one, and reads it again 1 s and [`SETTLE`] later.
async fn cycle(addr: SocketAddr, guard: &Guard, path: &str, key: &str, n: usize) -> Result<Cycle> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = guard.rss_kib().context("server RSS")?;
    let gate = Arc::new(Semaphore::new(200));
    let mut opening = Vec::with_capacity(n);
    for _ in 0..n {
        let (gate, path, key) = (gate.clone(), path.to_owned(), key.to_owned());
        opening.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            match tokio::time::timeout(Duration::from_secs(30), SseStream::open(addr, &path, &key)).await {
                Ok(Ok(Ok(stream))) => Ok(stream),
                Ok(Ok(Err(r))) => bail!("stream answered {}: {}", r.status, r.text()),
                Ok(Err(e)) => Err(e.into()),
                Err(_) => bail!("no stream head within 30 s"),
            }
        }));
    }
    let mut streams = Vec::with_capacity(n);
    let mut first_error = None;
    for task in opening {
        match task.await? {
            Ok(stream) => streams.push(stream),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        eprintln!("P7: {}/{n} streams opened; first failure: {e:#}", streams.len());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let peak = guard.rss_kib().context("server RSS")?;
    let opened = streams.len();
    drop(streams);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_1s = guard.rss_kib().context("server RSS")?;
    tokio::time::sleep(SETTLE - Duration::from_secs(1)).await;
    let after = guard.rss_kib().context("server RSS")?;
    Ok(Cycle { opened, idle, peak, after_1s, after })
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Runs P7; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let n = o.p7_streams;
    let mut s = Section::new(
        "P7",
        &format!("memory given back: {n} idle SSE streams opened, then closed"),
        &format!(
            "≥ {:.0}% of the RSS the streams took is given back {} s after they close",
            TARGET_GIVEN_BACK * 100.0,
            SETTLE.as_secs()
        ),
    );
    let settled = format!("{} s after", SETTLE.as_secs());
    s.header = [
        "run",
        "server",
        "streams",
        "RSS idle",
        "RSS peak",
        "1 s after",
        &settled,
        "after/peak",
        "given back",
    ]
    .map(String::from)
    .to_vec();
    let caps = super::stream_caps_for(n);
    let (mut axp_back, mut axp_ratio, mut base_back) = (vec![], vec![], vec![]);
    for run in 0..o.runs {
        let baseline = Baseline::start(ctx.baseline_bin(), "sse").await?;
        let b = cycle(baseline.addr, &baseline.guard, "/subscribe", "", n).await?;
        drop(baseline);

        let (axp, dir) = ctx.axp_with("p7", &caps).await?;
        // An agent with nothing queued: its stream stays open (keep-alives) until wait_seconds.
        let a = cycle(
            axp.addr,
            &axp.guard,
            "/v1/agents/p7-idle/intents/stream?wait_seconds=60",
            &axp.admin_key,
            n,
        )
        .await?;
        let mut axp = axp;
        axp.guard.terminate(Duration::from_secs(30));
        ctx.discard(&dir);
        for (name, c) in [("baseline (system allocator)", &b), ("axp", &a)] {
            s.rows.push(vec![
                format!("{}", run + 1),
                name.into(),
                format!("{}", c.opened),
                mib(c.idle),
                mib(c.peak),
                mib(c.after_1s),
                mib(c.after),
                ratio(c.after_over_peak()),
                format!("{:.0}%", c.given_back() * 100.0),
            ]);
        }
        if a.opened < n {
            s.notes.push(format!("run {}: axp opened {}/{n} streams", run + 1, a.opened));
        }
        axp_back.push(a.given_back());
        axp_ratio.push(a.after_over_peak());
        base_back.push(b.given_back());
    }
    let back = median(&axp_back);
    s.checks.push((
        format!("≥ {:.0}% of the streams' RSS given back", TARGET_GIVEN_BACK * 100.0),
        Verdict::of(back >= TARGET_GIVEN_BACK),
        format!(
            "median {:.0}% given back, after/peak {} (naive baseline on the system allocator: {:.0}% given back)",
            back * 100.0,
            ratio(median(&axp_ratio)),
            median(&base_back) * 100.0
        ),
    ));
    s.notes.push(super::settings_note(&caps));
    s.notes.push(format!("RSS is `VmRSS` of the server process: idle (0.5 s after start), peak (1 s after the last of {n} streams got its head), then 1 s and {} s after the load generator closed every connection. Given back = (peak − after) / (peak − idle). axp's streams are agent streams with nothing queued (`/v1/agents/p7-idle/intents/stream?wait_seconds=60`); the baseline is `axp-baseline sse` (the naive axum `Sse` + broadcast server on glibc malloc), the same cycle in the same run. axp runs on jemalloc with its background purge thread (`#[global_allocator]` in `crates/axp/src/main.rs`).", SETTLE.as_secs()));
    Ok(s)
}
