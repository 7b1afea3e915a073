//! P1: durable creates/s against the bare axum JSON handler; P1b: the same with an
//! `Idempotency-Key` on every request, against P1.

use std::process::Command;
use std::sync::Arc;

use anyhow::Result;
use axp_loadgen::http;
use axp_loadgen::proc::Baseline;
use axp_loadgen::stats::median;

use super::load::{LoadResult, RequestFn, closed_loop};
use super::{Ctx, Section, Verdict, kb, ms, rate, ratio};

/// The create body used by P1, P1b and the baseline (the same bytes for all three).
pub const BODY: &str = r#"{"intent_type":"bench.report.generate.v1","to_agent":"bench-worker","payload":{"quarter":"Q1","region":"emea","pages":12}}"#;

fn plain(key: &str) -> RequestFn {
    let bytes = http::post_json("/v1/intents", key, &[], BODY.as_bytes());
    Arc::new(move |_, _| bytes.clone())
}

fn with_idempotency_key(key: &str, run: usize) -> RequestFn {
    let key = key.to_owned();
    Arc::new(move |c, i| {
        let idem = format!("p1b-{run}-{c}-{i}");
        http::post_json("/v1/intents", &key, &[("idempotency-key", &idem)], BODY.as_bytes())
    })
}

/// An axp load's cells: creates/s, p50, p99, server CPU, disk writes per create, errors.
fn describe(r: &LoadResult) -> Vec<String> {
    vec![
        rate(r.ok_per_sec),
        ms(r.latency.p50_us),
        ms(r.latency.p99_us),
        cost(r),
        kb(r.server_written_per_ok),
        format!("{}/{}", r.non_ok(), r.errors),
    ]
}

/// Server CPU µs and instructions per request.
fn cost(r: &LoadResult) -> String {
    let instr = if r.server_instructions.is_nan() {
        String::new()
    } else {
        format!(", {:.0}k instr", r.server_instructions / 1000.0)
    };
    format!("{:.1} µs{instr}", r.server_cpu_us)
}

fn strings<const N: usize>(a: [&str; N]) -> Vec<String> {
    a.map(String::from).to_vec()
}

/// Runs P1 and P1b; returns their sections.
pub async fn run(ctx: &Ctx) -> Result<Vec<Section>> {
    let o = &ctx.opts;
    let (warmup, window) = (super::secs(o.warmup), super::secs(o.duration));
    let mut p1 = Section::new(
        "P1",
        &format!("durable creates/s, `POST /v1/intents`, {} connections, `synchronous=FULL`", o.connections),
        "≥ 30% of the bare axum JSON POST handler's req/s, same client, same run",
    );
    let mut p1b = Section::new(
        "P1b",
        "durable creates/s with a unique `Idempotency-Key` on every request",
        "≥ 80% of P1's creates/s, same run",
    );
    p1.header = strings([
        "run",
        "baseline req/s",
        "p50",
        "p99",
        "server CPU/req",
        "axp creates/s",
        "p50",
        "p99",
        "server CPU/create",
        "server disk writes/create",
        "non-200/conn errors",
        "ratio (req/s)",
        "ratio (instructions)",
    ]);
    p1b.header = strings([
        "run",
        "P1 creates/s",
        "P1b creates/s",
        "p50",
        "p99",
        "server CPU/create",
        "server disk writes/create",
        "non-200/conn errors",
        "ratio (req/s)",
        "ratio (instructions)",
    ]);
    let (mut base_rps, mut p1_rps, mut p1b_rps) = (vec![], vec![], vec![]);
    let (mut r1, mut r1b, mut ir1, mut ir1b) = (vec![], vec![], vec![], vec![]);
    for run in 0..o.runs {
        let baseline = Baseline::start(ctx.baseline_bin(), "json").await?;
        let pid = Some(baseline.guard.pid);
        let b = closed_loop(baseline.addr, pid, o.connections, warmup, window, plain("none")).await?;
        drop(baseline);

        let (axp, dir) = ctx.axp("p1").await?;
        let pid = Some(axp.guard.pid);
        let a = closed_loop(axp.addr, pid, o.connections, warmup, window, plain(&axp.admin_key)).await?;
        drop(axp);
        ctx.discard(&dir);

        let (axp, dir) = ctx.axp("p1b").await?;
        let pid = Some(axp.guard.pid);
        let keyed = with_idempotency_key(&axp.admin_key, run);
        let k = closed_loop(axp.addr, pid, o.connections, warmup, window, keyed).await?;
        drop(axp);
        ctx.discard(&dir);

        let (ratio1, ratio1b) = (a.ok_per_sec / b.ok_per_sec, k.ok_per_sec / a.ok_per_sec);
        let (iratio1, iratio1b) =
            (b.server_instructions / a.server_instructions, a.server_instructions / k.server_instructions);
        eprintln!(
            "P1 run {run}: baseline {:.0}/s, axp {:.0}/s (ratio {ratio1:.3}, instructions {iratio1:.3}); P1b {:.0}/s (ratio {ratio1b:.3}, instructions {iratio1b:.3})",
            b.ok_per_sec, a.ok_per_sec, k.ok_per_sec
        );
        let mut row = vec![format!("{}", run + 1)];
        row.extend(describe(&b).into_iter().take(4));
        row.extend(describe(&a));
        row.push(ratio(ratio1));
        row.push(ratio(iratio1));
        p1.rows.push(row);
        let mut row = vec![format!("{}", run + 1), rate(a.ok_per_sec)];
        row.extend(describe(&k));
        row.push(ratio(ratio1b));
        row.push(ratio(iratio1b));
        p1b.rows.push(row);
        base_rps.push(b.ok_per_sec);
        p1_rps.push(a.ok_per_sec);
        p1b_rps.push(k.ok_per_sec);
        r1.push(ratio1);
        r1b.push(ratio1b);
        ir1.push(iratio1);
        ir1b.push(iratio1b);
    }
    let (m1, m1b) = (median(&r1), median(&r1b));
    let mut row = vec!["**median**".to_owned(), rate(median(&base_rps))];
    row.extend(std::iter::repeat_n(String::new(), 3));
    row.push(rate(median(&p1_rps)));
    row.extend(std::iter::repeat_n(String::new(), 5));
    row.push(format!("**{}**", ratio(m1)));
    row.push(ratio(median(&ir1)));
    p1.rows.push(row);
    let mut row = vec!["**median**".to_owned(), rate(median(&p1_rps)), rate(median(&p1b_rps))];
    row.extend(std::iter::repeat_n(String::new(), 5));
    row.push(format!("**{}**", ratio(m1b)));
    row.push(ratio(median(&ir1b)));
    p1b.rows.push(row);
    p1.checks.push((
        "axp / baseline req/s".into(),
        Verdict::of(m1 >= 0.30),
        format!(
            "median ratio {} ({} vs {} req/s); server instructions per request, baseline/axp: {}",
            ratio(m1),
            rate(median(&p1_rps)),
            rate(median(&base_rps)),
            ratio(median(&ir1))
        ),
    ));
    p1b.checks.push((
        "P1b / P1".into(),
        Verdict::of(m1b >= 0.80),
        format!(
            "median ratio {} ({} vs {} creates/s); instructions per create, P1/P1b: {}",
            ratio(m1b),
            rate(median(&p1b_rps)),
            rate(median(&p1_rps)),
            ratio(median(&ir1b))
        ),
    ));
    p1.notes.push(format!(
        "Client: `axp-bench`'s closed-loop HTTP/1.1 keep-alive client, {} connections, {:.0} s warm-up + {:.0} s measured per run; every server fresh (new data dir) per run. Each ratio is taken within one run; the verdict uses the median of the per-run ratios.",
        o.connections, o.warmup, o.duration
    ));
    p1.notes.push(format!("Request body (all three): `{BODY}`"));
    p1.notes.push("`server CPU/req` is the server process's user+system CPU time (`/proc/<pid>/stat`) and the instructions it retired (`perf stat -e instructions -p <pid>`) over the measured window, divided by the 200s in it; `server disk writes/create` is the `write_bytes` of `/proc/<pid>/io` over the window ÷ its 200s (the WAL, checkpoints into the database file, and their fsyncs). Other processes on the machine move req/s a lot and these little, so `ratio (instructions)` (baseline instructions per request ÷ axp instructions per create) is the noise-robust view of the same comparison; the verdict uses req/s, as the target is stated.".into());
    if o.wrk {
        match wrk_cross_check(ctx).await {
            Ok(note) => p1.notes.push(note),
            Err(e) => p1.notes.push(format!("wrk cross-check failed: {e:#}")),
        }
    }
    Ok(vec![p1, p1b])
}

/// One run of the same load with `wrk` (if installed), as an independent client.
async fn wrk_cross_check(ctx: &Ctx) -> Result<String> {
    let o = &ctx.opts;
    if Command::new("wrk").arg("--version").output().is_err() {
        return Ok("wrk cross-check skipped: wrk is not installed".into());
    }
    let dir = ctx.fresh_dir("wrk")?;
    let run = |url: String, key: &str| -> Result<f64> {
        let script = dir.join("post.lua");
        std::fs::write(
            &script,
            format!(
                "wrk.method = \"POST\"\nwrk.body = '{BODY}'\nwrk.headers[\"content-type\"] = \"application/json\"\nwrk.headers[\"x-api-key\"] = \"{key}\"\n"
            ),
        )?;
        let out = Command::new("wrk")
            .args([
                "-t2",
                &format!("-c{}", o.connections),
                &format!("-d{}s", (o.duration + o.warmup).ceil() as u64),
                "-s",
            ])
            .arg(&script)
            .arg(format!("{url}/v1/intents"))
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(!text.contains("Non-2xx"), "wrk saw non-2xx responses:\n{text}");
        text.lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no Requests/sec in wrk output:\n{text}"))
    };
    let baseline = Baseline::start(ctx.baseline_bin(), "json").await?;
    let b = run(format!("http://{}", baseline.addr), "none")?;
    drop(baseline);
    let (axp, data) = ctx.axp("p1-wrk").await?;
    let a = run(axp.url.clone(), &axp.admin_key)?;
    drop(axp);
    ctx.discard(&data);
    ctx.discard(&dir);
    Ok(format!(
        "Cross-check with `wrk -t2 -c{} -d{}s` (one run, same body): baseline {} req/s, axp {} creates/s, ratio {}.",
        o.connections,
        (o.duration + o.warmup).ceil(),
        rate(b),
        rate(a),
        ratio(a / b)
    ))
}
