//! P6: idle RSS after start, and the time from `exec` to the first 200 from `GET /ready`, on a
//! first start (empty data dir: migrations + bootstrap) and on a restart.

use std::time::Duration;

use anyhow::Result;
use axp_loadgen::proc::{Axp, AxpOptions};
use axp_loadgen::stats::median;

use super::{Ctx, Section, Verdict, ms};

/// Runs P6; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let mut s = Section::new(
        "P6",
        "idle RSS after start; time from exec to `/ready`",
        "≤ 15 MB idle RSS; ≤ 100 ms from exec to ready",
    );
    s.header = [
        "start",
        "kind",
        "exec → listening",
        "exec → /ready 200",
        "idle RSS after 1 s",
        "of which anonymous / file-backed",
    ]
    .map(String::from)
    .to_vec();
    let (mut ready_first, mut ready_restart, mut rss, mut anons) = (vec![], vec![], vec![], vec![]);
    let starts = o.p6_starts;
    for i in 0..starts {
        let dir = ctx.fresh_dir("p6")?;
        let mut opts = AxpOptions::new(&o.axp_bin, &dir);
        opts.log_file = Some(dir.with_extension("log"));
        for kind in ["first start", "restart"] {
            let mut axp = Axp::start(&opts).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let kib = axp.guard.rss_kib().unwrap_or(0);
            let (anon, file) = axp_loadgen::proc::rss_split_kib(axp.guard.pid).unwrap_or((0, 0));
            s.rows.push(vec![
                format!("{}", i + 1),
                kind.into(),
                ms(axp.exec_to_listening.as_secs_f64() * 1e6),
                ms(axp.exec_to_ready.as_secs_f64() * 1e6),
                format!("{:.1} MiB ({kib} KiB)", kib as f64 / 1024.0),
                format!("{:.1} / {:.1} MiB", anon as f64 / 1024.0, file as f64 / 1024.0),
            ]);
            let ready = axp.exec_to_ready.as_secs_f64() * 1e6;
            if kind == "first start" {
                ready_first.push(ready);
            } else {
                ready_restart.push(ready);
            }
            rss.push(kib as f64);
            anons.push(anon as f64);
            axp.guard.terminate(Duration::from_secs(5));
        }
        ctx.discard(&dir);
    }
    let m_rss = median(&rss);
    let (m_first, m_restart) = (median(&ready_first), median(&ready_restart));
    s.checks.push((
        "idle RSS ≤ 15 MB".into(),
        Verdict::of(m_rss * 1024.0 <= 15_000_000.0),
        format!(
            "median {:.1} MB ({:.0} KiB), of which {:.1} MB anonymous (the rest is the binary's and libraries' mapped pages)",
            m_rss * 1024.0 / 1e6,
            m_rss,
            median(&anons) * 1024.0 / 1e6
        ),
    ));
    s.checks.push((
        "exec → /ready ≤ 100 ms".into(),
        Verdict::of(m_first.max(m_restart) <= 100_000.0),
        format!("median {} on a first start, {} on a restart", ms(m_first), ms(m_restart)),
    ));
    s.notes.push("`exec → /ready` is measured by the harness from just before `spawn` to the arrival of the first 200 from `GET /ready`, polling every 2 ms once the server printed its address. RSS is `VmRSS` from `/proc/<pid>/status`, 1 s after ready with no traffic; 1 MB = 10^6 bytes.".into());
    Ok(s)
}
