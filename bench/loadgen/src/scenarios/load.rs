//! Closed-loop load: `connections` keep-alive connections, each sending its next request as
//! soon as the previous response arrived (like `wrk`), for a warm-up and then a measured window.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use axp_loadgen::http::Conn;
use axp_loadgen::stats::Latency;

/// Renders the `i`-th request of connection `c`.
pub type RequestFn = Arc<dyn Fn(usize, u64) -> Vec<u8> + Send + Sync>;

/// What one closed-loop run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// 200 responses per second in the measured window.
    pub ok_per_sec: f64,
    /// Responses by status in the measured window.
    pub statuses: BTreeMap<u16, u64>,
    /// Connection errors (whole run).
    pub errors: u64,
    /// Latency of the 200s in the window.
    pub latency: Latency,
    /// Server CPU time (user + system) per 200 in the window, µs (when the PID was given).
    pub server_cpu_us: f64,
    /// Instructions the server retired per 200 in the window (when `perf stat` works).
    pub server_instructions: f64,
    /// The server's `VmRSS` when the measured window began and when it ended, KiB (when the PID
    /// was given and `/proc` answered).
    pub server_rss_kib: Option<(u64, u64)>,
    /// Bytes the server wrote to storage per 200 in the window ([`axp_loadgen::proc::write_bytes`]),
    /// NaN when unknown.
    pub server_written_per_ok: f64,
}

impl LoadResult {
    /// Non-200 responses in the window.
    pub fn non_ok(&self) -> u64 {
        self.statuses.iter().filter(|(s, _)| **s != 200).map(|(_, n)| n).sum()
    }
}

/// Runs the load: `warmup` unmeasured, then `window` measured. Every loop is bounded by time
/// (and each connection by `max_per_conn` requests).
pub async fn closed_loop(
    addr: SocketAddr,
    server_pid: Option<u32>,
    connections: usize,
    warmup: Duration,
    window: Duration,
    make: RequestFn,
) -> Result<LoadResult> {
    let max_per_conn: u64 = 5_000_000;
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + warmup;
    let measure_to = measure_from + window;
    // The server's CPU time and retired instructions over the measured window: unlike req/s,
    // they barely move when other processes load the machine. And its RSS at both ends.
    let probe = server_pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let cpu0 = crate::proc_cpu(pid);
            let rss0 = axp_loadgen::proc::rss_kib(pid);
            let written0 = axp_loadgen::proc::write_bytes(pid);
            let instructions =
                tokio::task::spawn_blocking(move || axp_loadgen::proc::perf_instructions(pid, window))
                    .await
                    .ok()
                    .flatten();
            tokio::time::sleep_until(measure_to.into()).await;
            let cpu1 = crate::proc_cpu(pid);
            let rss = rss0.zip(axp_loadgen::proc::rss_kib(pid));
            let written = written0.zip(axp_loadgen::proc::write_bytes(pid)).map(|(a, b)| b.saturating_sub(a));
            (cpu1 - cpu0, instructions, rss, written)
        })
    });
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            let mut latencies: Vec<f64> = Vec::with_capacity(1 << 14);
            let mut errors = 0u64;
            let mut conn: Option<Conn> = None;
            tokio::time::sleep_until(start.into()).await;
            for i in 0..max_per_conn {
                if Instant::now() >= measure_to {
                    break;
                }
                if conn.as_ref().is_none_or(|c| c.closed) {
                    match Conn::connect(addr).await {
                        Ok(c) => conn = Some(c),
                        Err(_) => {
                            errors += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let request = make(c, i);
                let sent = Instant::now();
                let Some(cn) = conn.as_mut() else { continue };
                match cn.send(&request).await {
                    Ok(r) => {
                        if r.at >= measure_from && r.at <= measure_to {
                            *statuses.entry(r.status).or_default() += 1;
                            if r.status == 200 {
                                latencies.push((r.at - sent).as_secs_f64() * 1e6);
                            }
                        }
                    }
                    Err(_) => {
                        errors += 1;
                        conn = None;
                    }
                }
            }
            (statuses, latencies, errors)
        }));
    }
    let mut result = LoadResult::default();
    let mut all = Vec::new();
    for t in tasks {
        let (statuses, latencies, errors) = t.await?;
        for (s, n) in statuses {
            *result.statuses.entry(s).or_default() += n;
        }
        all.extend(latencies);
        result.errors += errors;
    }
    let ok = result.statuses.get(&200).copied().unwrap_or(0);
    result.ok_per_sec = ok as f64 / window.as_secs_f64();
    result.server_cpu_us = f64::NAN;
    result.server_instructions = f64::NAN;
    result.server_written_per_ok = f64::NAN;
    if let Some(probe) = probe
        && let Ok((cpu, instructions, rss, written)) = probe.await
    {
        result.server_rss_kib = rss;
        if ok > 0 {
            result.server_cpu_us = cpu * 1e6 / ok as f64;
            result.server_instructions = instructions.map_or(f64::NAN, |i| i / ok as f64);
            result.server_written_per_ok = written.map_or(f64::NAN, |w| w as f64 / ok as f64);
        }
    }
    result.latency = Latency::of(&mut all);
    Ok(result)
}
