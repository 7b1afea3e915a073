//! P3: many concurrent SSE observers: server memory per connection, and the time from one
//! commit to its delivery on every stream; against the naive axum `Sse` + broadcast server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axp_loadgen::http::{self, Conn, SseStream};
use axp_loadgen::proc::{Baseline, Guard};
use axp_loadgen::stats::median;
use futures::StreamExt;
use tokio::sync::Semaphore;

use super::{Ctx, Section, Verdict, ms};

/// What one fan-out measurement saw.
struct FanOut {
    connected: usize,
    rss_idle_kib: u64,
    rss_connected_kib: u64,
    threads_connected: u64,
    rss_after_kib: u64,
    threads_after: u64,
    received: usize,
    /// Last frame arrival − the trigger's 200 arrival, µs.
    last_after_ack_us: f64,
    /// Median frame arrival − the trigger's 200 arrival, µs.
    p50_after_ack_us: f64,
    /// Last frame arrival − the trigger request sent, µs.
    last_after_send_us: f64,
}

impl FanOut {
    fn bytes_per_conn(&self) -> f64 {
        (self.rss_connected_kib.saturating_sub(self.rss_idle_kib)) as f64 * 1024.0
            / self.connected.max(1) as f64
    }
}

/// Opens `n` SSE streams on `path` (at most 200 connecting at once), waits until every one has
/// its 200 head, measures the server's RSS, fires `trigger`, and times the frame `event` on
/// every stream.
async fn fan_out(
    addr: SocketAddr,
    guard: &Guard,
    path: String,
    key: String,
    n: usize,
    event: &'static str,
    trigger: Vec<u8>,
) -> Result<FanOut> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle_kib = guard.rss_kib().context("server RSS")?;
    let gate = Arc::new(Semaphore::new(200));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let deadline = Instant::now() + Duration::from_secs(50);
    let mut observers = futures::stream::FuturesUnordered::new();
    for _ in 0..n {
        let (gate, path, key, ready_tx, mut go_rx) =
            (gate.clone(), path.clone(), key.clone(), ready_tx.clone(), go_rx.clone());
        observers.push(tokio::spawn(async move {
            let mut stream = {
                let _permit = gate.acquire().await?;
                match SseStream::open(addr, &path, &key).await? {
                    Ok(s) => s,
                    Err(r) => bail!("stream answered {}", r.status),
                }
            };
            let _ = ready_tx.send(());
            let _ = go_rx.wait_for(|go| *go).await;
            loop {
                let frame = tokio::time::timeout_at(deadline.into(), stream.next())
                    .await
                    .context("no frame before the deadline")??
                    .context("stream ended before the event")?;
                if frame.event.as_deref() == Some(event) {
                    return Ok(frame.at);
                }
            }
        }));
    }
    drop(ready_tx);
    let mut connected = 0;
    while connected < n {
        match tokio::time::timeout_at(deadline.into(), ready_rx.recv()).await {
            Ok(Some(())) => connected += 1,
            _ => break,
        }
    }
    if connected < n {
        eprintln!("P3: only {connected}/{n} observers connected");
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let rss_connected_kib = guard.rss_kib().context("server RSS")?;
    let threads_connected = axp_loadgen::proc::threads(guard.pid).unwrap_or(0);
    let _ = go_tx.send(true);
    let mut conn = Conn::connect(addr).await?;
    let sent = Instant::now();
    let r = conn.send(&trigger).await?;
    if r.status != 200 {
        bail!("trigger answered {}: {}", r.status, r.text());
    }
    let acked = r.at;
    let mut arrivals = Vec::with_capacity(n);
    while let Some(joined) = observers.next().await {
        if let Ok(Ok(at)) = joined {
            arrivals.push(at);
        }
    }
    let after =
        |t0: Instant| -> Vec<f64> {
            arrivals
                .iter()
                .map(|at| {
                    if *at >= t0 { (*at - t0).as_secs_f64() * 1e6 } else { -((t0 - *at).as_secs_f64() * 1e6) }
                })
                .collect()
        };
    let rss_after_kib = guard.rss_kib().unwrap_or(0);
    let threads_after = axp_loadgen::proc::threads(guard.pid).unwrap_or(0);
    // The trigger's 200 can queue behind the fan-out itself, so the commit instant is taken as
    // the earlier of that 200 and the first frame (both come after the commit).
    let first = arrivals.iter().min().copied().unwrap_or(acked);
    let acked = acked.min(first);
    let mut a = after(acked);
    a.sort_by(f64::total_cmp);
    let s = after(sent);
    Ok(FanOut {
        connected,
        rss_idle_kib,
        rss_connected_kib,
        threads_connected,
        rss_after_kib,
        threads_after,
        received: arrivals.len(),
        last_after_ack_us: a.last().copied().unwrap_or(f64::NAN),
        p50_after_ack_us: a.get(a.len() / 2).copied().unwrap_or(f64::NAN),
        last_after_send_us: s.iter().copied().fold(f64::NAN, f64::max),
    })
}

/// Runs P3; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let n = o.p3_observers;
    let mut s = Section::new(
        "P3",
        &format!(
            "{n} concurrent SSE observers of one intent: server memory per connection; one event to all"
        ),
        "≤ 10 KB of server RSS per connection; last delivery ≤ 50 ms after the commit",
    );
    s.header = [
        "run",
        "server",
        "connected",
        "RSS idle",
        "RSS connected",
        "bytes/conn",
        "threads connected",
        "RSS / threads after the event",
        "received",
        "p50 after commit",
        "last after commit",
        "last after send",
    ]
    .map(String::from)
    .to_vec();
    let (mut axp_bytes, mut axp_last, mut base_bytes, mut base_last) = (vec![], vec![], vec![], vec![]);
    for run in 0..o.runs {
        // Baseline: naive axum Sse + broadcast.
        let baseline = Baseline::start(ctx.baseline_bin(), "sse").await?;
        let b = fan_out(
            baseline.addr,
            &baseline.guard,
            "/subscribe".into(),
            String::new(),
            n,
            "intent.completed",
            http::request(
                "POST",
                "/publish",
                &[("content-type", "application/json")],
                br#"{"intent_id":"x","seq":3,"event_type":"intent.completed","status":"COMPLETED"}"#,
            ),
        )
        .await?;
        drop(baseline);

        // axp: observers on one intent's lifecycle stream, then one resolve → intent.completed.
        let (axp, dir) = ctx.axp_with("p3", &super::stream_caps_for(n)).await?;
        let mut conn = Conn::connect(axp.addr).await?;
        let r = conn
            .send(&http::post_json(
                "/v1/intents",
                &axp.admin_key,
                &[],
                br#"{"intent_type":"bench.fanout.v1","to_agent":"p3-nobody","payload":{}}"#,
            ))
            .await?;
        let id = r.json()["intent_id"].as_str().context("intent_id")?.to_owned();
        let a = fan_out(
            axp.addr,
            &axp.guard,
            format!("/v1/intents/{id}/events/stream?since=2&wait_seconds=60"),
            axp.admin_key.clone(),
            n,
            "intent.completed",
            http::post_json(
                &format!("/v1/intents/{id}/resolve"),
                &axp.admin_key,
                &[],
                br#"{"status":"COMPLETED","result":{"ok":true}}"#,
            ),
        )
        .await?;
        // A clean stop lets a wrapped server (valgrind --tool=massif, perf) write its output.
        let mut axp = axp;
        axp.guard.terminate(Duration::from_secs(30));
        ctx.discard(&dir);
        for (name, f) in [("baseline", &b), ("axp", &a)] {
            s.rows.push(vec![
                format!("{}", run + 1),
                name.into(),
                format!("{}", f.connected),
                format!("{:.1} MiB", f.rss_idle_kib as f64 / 1024.0),
                format!("{:.1} MiB", f.rss_connected_kib as f64 / 1024.0),
                format!("{:.0}", f.bytes_per_conn()),
                format!("{}", f.threads_connected),
                format!("{:.1} MiB / {}", f.rss_after_kib as f64 / 1024.0, f.threads_after),
                format!("{}", f.received),
                ms(f.p50_after_ack_us),
                ms(f.last_after_ack_us),
                ms(f.last_after_send_us),
            ]);
        }
        eprintln!(
            "P3 run {run}: axp {:.0} B/conn, last {:.1} ms; baseline {:.0} B/conn, last {:.1} ms",
            a.bytes_per_conn(),
            a.last_after_ack_us / 1000.0,
            b.bytes_per_conn(),
            b.last_after_ack_us / 1000.0
        );
        if a.received < n {
            s.notes.push(format!("run {}: axp delivered to {}/{n} observers", run + 1, a.received));
        }
        axp_bytes.push(a.bytes_per_conn());
        axp_last.push(if a.received == n { a.last_after_ack_us } else { f64::INFINITY });
        base_bytes.push(b.bytes_per_conn());
        base_last.push(b.last_after_ack_us);
    }
    let (bytes, last) = (median(&axp_bytes), median(&axp_last));
    s.checks.push((
        format!("server RSS per idle observer ≤ 10 KB ({n} observers)"),
        Verdict::of(bytes <= 10_000.0),
        format!(
            "median {:.0} bytes/connection (naive baseline {:.0}; axp/baseline {})",
            bytes,
            median(&base_bytes),
            super::ratio(bytes / median(&base_bytes))
        ),
    ));
    s.checks.push((
        format!("last delivery to {n} observers ≤ 50 ms after the commit"),
        Verdict::of(last <= 50_000.0),
        format!(
            "median {} after the commit (naive baseline: {}; axp/baseline {})",
            ms(last),
            ms(median(&base_last)),
            super::ratio(last / median(&base_last))
        ),
    ));
    s.notes.push(super::settings_note(&super::stream_caps_for(n)));
    s.notes.push("Bytes per connection = (server VmRSS with every observer connected − VmRSS before connecting) / observers; 1 KB = 1000 bytes. The trigger is `POST /v1/intents/{id}/resolve` (COMPLETED) for axp and `POST /publish` for the baseline. The commit instant is estimated as the earlier of the trigger's 200 and the first frame to arrive (both follow the commit; the 200 can queue behind the fan-out); `last after send` (from the trigger request) is the upper bound. The 10k observers run in the load generator's process on the same 2 cores, so reading 10k frames costs the client as much as writing them costs the server: the naive baseline is the reference for what this machine can do.".into());
    Ok(s)
}
