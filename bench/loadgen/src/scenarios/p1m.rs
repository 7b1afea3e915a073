//! P1m (issue 16, "many agents as fast as one"): P1's durable creates all to one agent, then the
//! same load with every create to a new, unregistered agent address, each on a fresh server;
//! creates/s of both, their ratio, server CPU per create, and the server's RSS growth over the
//! many-agents window (per-agent state must stay bounded however many addresses clients invent).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use axp_loadgen::http;
use axp_loadgen::stats::median;

use super::disk::table_rows;
use super::load::{LoadResult, RequestFn, closed_loop};
use super::p1::BODY;
use super::{Ctx, Section, Verdict, kb, ms, rate, ratio};

/// P1's agent, the one every create of the one-agent load goes to.
const ONE_AGENT: &str = "bench-worker";

/// The most the server's RSS may grow over the many-agents window, bytes (issue 16: "RSS stays
/// flat however many addresses clients invent"; 5 MB is this harness's reading of "flat").
const RSS_GROWTH_LIMIT: f64 = 5e6;

/// Every create to [`ONE_AGENT`]: P1's request, byte for byte.
fn one_agent(key: &str) -> RequestFn {
    let bytes = http::post_json("/v1/intents", key, &[], BODY.as_bytes());
    Arc::new(move |_, _| bytes.clone())
}

/// P1's body with `to_agent` set to `address`.
fn body_to(address: &str) -> String {
    BODY.replacen(&format!("\"{ONE_AGENT}\""), &format!("\"{address}\""), 1)
}

/// Every create to a new address: `bench-m-{run}-{connection}-{index}`, never registered and
/// never used twice (a connection's index keeps counting across reconnects).
fn many_agents(key: &str, run: usize) -> RequestFn {
    let key = key.to_owned();
    Arc::new(move |c, i| {
        let body = body_to(&format!("bench-m-{run}-{c}-{i}"));
        http::post_json("/v1/intents", &key, &[], body.as_bytes())
    })
}

/// `axp.db` + `axp.db-wal` in `dir`, bytes (0 for a missing file).
fn data_bytes(dir: &Path) -> u64 {
    ["axp.db", "axp.db-wal"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// One load on one fresh server.
struct Measured {
    load: LoadResult,
    /// `VmRSS` once `/ready` answered, before any create, KiB.
    rss_start_kib: u64,
    /// `VmRSS` when the measured window began (after the warm-up) and when it ended, KiB.
    rss_window_kib: (u64, u64),
    /// Intents in the store after the window (warm-up and window): for the many-agents load,
    /// the distinct addresses created.
    intents: u64,
    /// Growth of `axp.db` + `axp.db-wal` from start to the end of the window, bytes.
    disk_growth: u64,
    /// Rows per table at the end (`GET /v1/admin/stats`).
    tables: BTreeMap<String, u64>,
}

impl Measured {
    /// The 200s in the measured window (for the many-agents load, new addresses).
    fn window_creates(&self) -> u64 {
        self.load.statuses.get(&200).copied().unwrap_or(0)
    }

    /// RSS growth over the measured window, bytes (negative when it shrank).
    fn rss_growth(&self) -> f64 {
        (self.rss_window_kib.1 as f64 - self.rss_window_kib.0 as f64) * 1024.0
    }

    /// RSS growth from start (before any create) to the end of the window, bytes.
    fn rss_growth_from_start(&self) -> f64 {
        (self.rss_window_kib.1 as f64 - self.rss_start_kib as f64) * 1024.0
    }

    /// RSS growth over the window per 100k creates in it, bytes.
    fn rss_growth_per_100k(&self) -> f64 {
        self.rss_growth() / self.window_creates().max(1) as f64 * 1e5
    }

    /// Data dir growth per create, bytes.
    fn disk_per_create(&self) -> f64 {
        self.disk_growth as f64 / self.intents.max(1) as f64
    }
}

/// Starts a fresh server, runs P1's closed loop with the requests `make` renders for its admin
/// key, and reads RSS (after start and at both ends of the measured window), the data dir's
/// size and the table rows.
async fn measure(ctx: &Ctx, label: &str, make: impl FnOnce(&str) -> RequestFn) -> Result<Measured> {
    let o = &ctx.opts;
    let (axp, dir) = ctx.axp(label).await?;
    let pid = axp.guard.pid;
    let rss_start_kib = axp.guard.rss_kib().context("VmRSS of the server after start")?;
    let disk_start = data_bytes(&dir);
    let make = make(&axp.admin_key);
    let load =
        closed_loop(axp.addr, Some(pid), o.connections, super::secs(o.warmup), super::secs(o.duration), make)
            .await?;
    let rss_window_kib = load.server_rss_kib.context("VmRSS of the server at the window's ends")?;
    let disk_growth = data_bytes(&dir).saturating_sub(disk_start);
    let tables = table_rows(&axp).await?;
    let intents = tables.get("intents").copied().unwrap_or(0);
    drop(axp);
    ctx.discard(&dir);
    Ok(Measured { load, rss_start_kib, rss_window_kib, intents, disk_growth, tables })
}

/// Bytes as MB (10^6), signed, one decimal.
fn mb(bytes: f64) -> String {
    if bytes.is_nan() { "–".into() } else { format!("{:+.1} MB", bytes / 1e6) }
}

/// KiB as MiB, one decimal.
fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// One table row: `run`, `load`, then the measured figures; `ratio` only on the many row.
fn row(run: &str, load: &str, m: &Measured, ratio_cell: String) -> Vec<String> {
    let r = &m.load;
    vec![
        run.into(),
        load.into(),
        rate(r.ok_per_sec),
        ms(r.latency.p50_us),
        ms(r.latency.p99_us),
        format!("{:.1} µs", r.server_cpu_us),
        format!("{}/{}", r.non_ok(), r.errors),
        format!("{} ({} in the window)", m.intents, m.window_creates()),
        format!("{} → {} → {}", mib(m.rss_start_kib), mib(m.rss_window_kib.0), mib(m.rss_window_kib.1)),
        format!("{} ({} from start)", mb(m.rss_growth()), mb(m.rss_growth_from_start())),
        mb(m.rss_growth_per_100k()),
        format!("{:.0}", m.disk_per_create()),
        kb(r.server_written_per_ok),
        ratio_cell,
    ]
}

/// The tables with rows, as `` `name` rows ``.
fn nonzero_tables(tables: &BTreeMap<String, u64>) -> String {
    let list: Vec<String> =
        tables.iter().filter(|(_, n)| **n > 0).map(|(t, n)| format!("`{t}` {n}")).collect();
    list.join(", ")
}

/// Runs P1m; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let mut s = Section::new(
        "P1m",
        &format!(
            "creates to many agents: P1's durable creates ({} connections), all to one agent vs each to a new, unregistered address",
            o.connections
        ),
        "many agents ≥ 0.9 × one agent's creates/s (\"many agents as fast as one\"); RSS growth over the many-agents window ≤ 5 MB (issue 16)",
    );
    s.header = [
        "run",
        "load",
        "creates/s",
        "p50",
        "p99",
        "server CPU/create",
        "non-200/conn errors",
        "creates in all (addresses)",
        "RSS: after start → window start → window end",
        "RSS growth over the window",
        "per 100k creates in the window",
        "data dir bytes/create",
        "server disk writes/create",
        "ratio many/one (creates/s)",
    ]
    .map(String::from)
    .to_vec();
    let (mut one_rps, mut many_rps, mut ratios) = (vec![], vec![], vec![]);
    let (mut one_cpu, mut many_cpu, mut one_written, mut many_written) = (vec![], vec![], vec![], vec![]);
    let (mut one_growth, mut many_growth, mut one_per_100k, mut many_per_100k) =
        (vec![], vec![], vec![], vec![]);
    let (mut one_from_start, mut many_from_start, mut many_window, mut many_all) =
        (vec![], vec![], vec![], vec![]);
    let mut last = None;
    for run in 0..o.runs {
        let one = measure(ctx, "p1m-one", one_agent).await?;
        let many = measure(ctx, "p1m-many", |key| many_agents(key, run)).await?;
        let r = many.load.ok_per_sec / one.load.ok_per_sec;
        eprintln!(
            "P1m run {run}: one agent {:.0}/s ({:.1} µs CPU, RSS {} over the window, {} from start), many agents {:.0}/s ({:.1} µs CPU, RSS {} over the window's {} addresses, {} from start over {}), ratio {r:.3}",
            one.load.ok_per_sec,
            one.load.server_cpu_us,
            mb(one.rss_growth()),
            mb(one.rss_growth_from_start()),
            many.load.ok_per_sec,
            many.load.server_cpu_us,
            mb(many.rss_growth()),
            many.window_creates(),
            mb(many.rss_growth_from_start()),
            many.intents
        );
        let n = format!("{}", run + 1);
        s.rows.push(row(&n, "one agent", &one, String::new()));
        s.rows.push(row(&n, "many agents", &many, ratio(r)));
        one_rps.push(one.load.ok_per_sec);
        many_rps.push(many.load.ok_per_sec);
        ratios.push(r);
        one_cpu.push(one.load.server_cpu_us);
        many_cpu.push(many.load.server_cpu_us);
        one_written.push(one.load.server_written_per_ok);
        many_written.push(many.load.server_written_per_ok);
        one_growth.push(one.rss_growth());
        many_growth.push(many.rss_growth());
        one_per_100k.push(one.rss_growth_per_100k());
        many_per_100k.push(many.rss_growth_per_100k());
        one_from_start.push(one.rss_growth_from_start());
        many_from_start.push(many.rss_growth_from_start());
        many_window.push(many.window_creates() as f64);
        many_all.push(many.intents as f64);
        last = Some((one, many));
    }
    let (m_ratio, m_growth) = (median(&ratios), median(&many_growth));
    let mut median_row = vec!["**median**".to_owned(), "one / many".into()];
    median_row.push(format!("{} / {}", rate(median(&one_rps)), rate(median(&many_rps))));
    median_row.extend(std::iter::repeat_n(String::new(), 2));
    median_row.push(format!("{:.1} / {:.1} µs", median(&one_cpu), median(&many_cpu)));
    median_row.extend(std::iter::repeat_n(String::new(), 3));
    median_row.push(format!(
        "{} / {} ({} / {} from start)",
        mb(median(&one_growth)),
        mb(m_growth),
        mb(median(&one_from_start)),
        mb(median(&many_from_start))
    ));
    median_row.push(format!("{} / {}", mb(median(&one_per_100k)), mb(median(&many_per_100k))));
    median_row.push(String::new());
    median_row.push(format!("{} / {}", kb(median(&one_written)), kb(median(&many_written))));
    median_row.push(format!("**{}**", ratio(m_ratio)));
    s.rows.push(median_row);
    s.checks.push((
        "many agents / one agent creates/s ≥ 0.9".into(),
        Verdict::of(m_ratio >= 0.9),
        format!(
            "median ratio {} ({} vs {} creates/s); server CPU per create {:.1} µs vs {:.1} µs; written to disk per create {} vs {}",
            ratio(m_ratio),
            rate(median(&many_rps)),
            rate(median(&one_rps)),
            median(&many_cpu),
            median(&one_cpu),
            kb(median(&many_written)),
            kb(median(&one_written))
        ),
    ));
    s.checks.push((
        "RSS growth over the many-agents window ≤ 5 MB".into(),
        Verdict::of(m_growth <= RSS_GROWTH_LIMIT),
        format!(
            "median {} over the window's {:.0} new addresses ({} per 100k; {} from start over {:.0} addresses with the warm-up's); one agent, same windows: {} ({} from start)",
            mb(m_growth),
            median(&many_window),
            mb(median(&many_per_100k)),
            mb(median(&many_from_start)),
            median(&many_all),
            mb(median(&one_growth)),
            mb(median(&one_from_start))
        ),
    ));
    s.notes.push(format!(
        "Per run, two fresh servers (new data dirs), each under P1's closed loop ({} connections, {:.0} s warm-up + {:.0} s measured): the first with P1's request byte for byte (every create `to_agent: \"{ONE_AGENT}\"`), the second with every create to a new bare address `bench-m-{{run}}-{{connection}}-{{index}}` (normalised by the server to `agent://<org>/<workspace>/bench-m-…`; never registered, never repeated; the body is P1's with only `to_agent` changed, a few bytes longer). The ratio is taken within one run; the verdicts use the medians over runs.",
        o.connections, o.warmup, o.duration
    ));
    s.notes.push("RSS is `VmRSS` from `/proc/<pid>/status`, read three times: after start (once `GET /ready` answered 200, before any create), when the measured window begins (after the warm-up) and when it ends. The verdict takes the growth over the measured window: a fresh server grows under any create load during its first seconds (connection buffers, SQLite's page cache, allocator arenas; the one-agent rows show it), which the warm-up absorbs, while state kept per address keeps growing with every new one. The growth from start is shown too. `per 100k creates in the window` = window growth ÷ the window's 200s × 100,000. `creates in all` are the `intents` rows from `GET /v1/admin/stats` after the window (warm-up and window), each to its own address under the many-agents load. 1 MB = 10^6 bytes.".into());
    s.notes.push("`server CPU/create` is the server's user+system CPU time (`/proc/<pid>/stat`) over the measured window ÷ its 200s. `server disk writes/create` is the `write_bytes` of `/proc/<pid>/io` over the window ÷ its 200s (the WAL, checkpoints, fsyncs). `data dir bytes/create` is the growth of `axp.db` + `axp.db-wal` from start to the end of the window ÷ creates, with the server still running: the WAL is not checkpointed away and does not shrink, so this is an indication of write volume per create, not disk held per intent (that is the Disk scenario's).".into());
    if let Some((one, many)) = last {
        s.notes.push(format!(
            "Rows by table at the end of the last run (tables with rows): one agent {}; many agents {}.",
            nonzero_tables(&one.tables),
            nonzero_tables(&many.tables)
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_agents_bodies_are_p1s_with_a_new_address_each() {
        let make = many_agents("k", 2);
        let a = String::from_utf8(make(3, 7)).unwrap();
        let b = String::from_utf8(make(3, 8)).unwrap();
        let body =
            |r: &str| serde_json::from_str::<serde_json::Value>(r.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let (ja, jb) = (body(&a), body(&b));
        assert_eq!(ja["to_agent"], "bench-m-2-3-7");
        assert_eq!(jb["to_agent"], "bench-m-2-3-8");
        let mut p1: serde_json::Value = serde_json::from_str(BODY).unwrap();
        p1["to_agent"] = "bench-m-2-3-7".into();
        assert_eq!(ja, p1);
    }
}
