//! P2c: P2 as a client sees it (issue 16): send a create, and time until the connected agent
//! reads that intent's frame, at a low fixed rate (1,000 intents at 200/s by default).

use anyhow::Result;
use axp_loadgen::stats::{Latency, median};

use super::p2::{baseline_rtt, paced_run, run_p2};
use super::{Ctx, Section, Verdict, ms, rate, ratio};

/// Connections the P2c creates are spread over: each sends every `connections / rate` seconds,
/// so one slow create does not delay the next one's schedule.
const CONNECTIONS: usize = 4;

/// Runs P2 and then P2c; returns both sections.
pub async fn run_p2_and_p2c(ctx: &Ctx) -> Result<Vec<Section>> {
    let p2 = run_p2(ctx).await?;
    let p2c = run_p2c(ctx).await?;
    Ok(vec![p2, p2c])
}

/// Runs P2c; returns its section.
pub async fn run_p2c(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let n = o.p2c_intents;
    let mut s = Section::new(
        "P2c",
        &format!(
            "P2 as a client sees it: create sent → the connected agent reads its frame, {n} intents at {}/s",
            rate(o.p2c_rate)
        ),
        "p50 ≤ 1 ms, p99 ≤ 5 ms",
    );
    s.header = [
        "run",
        "baseline RTT p50 / p99",
        "intents",
        "frames missing",
        "late sends",
        "send→frame p50",
        "p90",
        "p99",
        "max",
        "create 200 p50",
        "frames before the 200",
    ]
    .map(String::from)
    .to_vec();
    let window = super::secs(n as f64 / o.p2c_rate);
    let (mut p50s, mut p99s, mut rtt50s, mut rtt99s) = (vec![], vec![], vec![], vec![]);
    for run in 0..o.runs {
        let rtt = baseline_rtt(ctx, 2000).await?;
        let address = format!("p2c-agent-{run}");
        let (sent, late, map) = paced_run(ctx, "p2c", &address, o.p2c_rate, window, CONNECTIONS).await?;
        let (mut to_frame, mut to_ack) = (vec![], vec![]);
        let (mut missing, mut before_ack) = (0usize, 0usize);
        for c in &sent {
            to_ack.push((c.acked - c.sent).as_secs_f64() * 1e6);
            let Some(at) = map.get(&c.id) else {
                missing += 1;
                continue;
            };
            if *at < c.acked {
                before_ack += 1;
            }
            to_frame.push(at.saturating_duration_since(c.sent).as_secs_f64() * 1e6);
        }
        let f = Latency::of(&mut to_frame);
        let a = Latency::of(&mut to_ack);
        eprintln!(
            "P2c run {run}: send→frame p50 {:.0} µs p99 {:.0} µs over {} intents; missing {missing}",
            f.p50_us,
            f.p99_us,
            sent.len()
        );
        s.rows.push(vec![
            format!("{}", run + 1),
            format!("{} / {}", ms(rtt.p50_us), ms(rtt.p99_us)),
            format!("{}", sent.len()),
            format!("{missing}"),
            format!("{late}"),
            ms(f.p50_us),
            ms(f.p90_us),
            ms(f.p99_us),
            ms(f.max_us),
            ms(a.p50_us),
            format!("{before_ack}"),
        ]);
        if missing > 0 {
            s.notes.push(format!(
                "run {}: {missing} acknowledged intents never reached the agent stream within 5 s",
                run + 1
            ));
        }
        p50s.push(if missing == 0 { f.p50_us } else { f64::INFINITY });
        p99s.push(if missing == 0 { f.p99_us } else { f64::INFINITY });
        rtt50s.push(rtt.p50_us);
        rtt99s.push(rtt.p99_us);
    }
    let (p50, p99, rtt50, rtt99) = (median(&p50s), median(&p99s), median(&rtt50s), median(&rtt99s));
    s.checks.push((
        "create sent → agent reads the frame, p50 ≤ 1 ms".into(),
        Verdict::of(p50 <= 1000.0),
        format!(
            "median over runs {} ({n} intents; baseline loopback round trip p50 {}; axp/baseline {})",
            ms(p50),
            ms(rtt50),
            ratio(p50 / rtt50)
        ),
    ));
    s.checks.push((
        "create sent → agent reads the frame, p99 ≤ 5 ms".into(),
        Verdict::of(p99 <= 5000.0),
        format!(
            "median over runs {} ({n} intents; baseline loopback round trip p99 {}; axp/baseline {})",
            ms(p99),
            ms(rtt99),
            ratio(p99 / rtt99)
        ),
    ));
    s.notes.push(format!(
        "As a client sees it: from writing `POST /v1/intents` to the agent's read of that intent's `intent.delivered` frame on `GET /v1/agents/{{address}}/intents/stream` (held open since before the first create), on the client's clock; it includes the create's commit and fsync, so no estimate of the commit instant is needed. {n} creates paced open-loop at {}/s over {CONNECTIONS} keep-alive connections, fresh server per run. A run with a missing frame counts as a miss. `baseline RTT` is a create-sized POST's loopback round trip on the bare axum handler, same run: the ratio says how many such round trips a dispatch costs.",
        rate(o.p2c_rate)
    ));
    Ok(s)
}
