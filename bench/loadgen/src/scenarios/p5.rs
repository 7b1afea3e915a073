//! P5: durable creates/s with PostgreSQL, 1 and 3 replicas, against `pgbench -N` (TPC-B-like
//! without the branch and teller updates) on the same server in the same run. Runs only when
//! given `--database-url` and when `axp serve` accepts `--database-url`.

use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use axp_loadgen::http;
use axp_loadgen::proc::{Axp, AxpOptions};
use axp_loadgen::stats::median;
use futures::future::try_join_all;

use super::load::{LoadResult, RequestFn, closed_loop};
use super::{Ctx, Section, Verdict, rate, ratio};

/// The targets, as the issue states them.
const VS_PGBENCH: f64 = 1.5;
const VS_ONE_REPLICA: f64 = 0.9;
const CHECK_PGBENCH: &str = "3 replicas creates/s ≥ 1.5 × pgbench -N tps";
const CHECK_SCALING: &str = "3 replicas ≥ 0.9 × 1 replica";

/// `pgbench -j`: one thread per core, at most one per client.
fn pgbench_threads(clients: usize) -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, clients.max(1))
}

/// What one `pgbench -N` run measured.
struct Pgbench {
    tps: f64,
    latency_ms: f64,
}

/// The standard `pgbench -N` on its own fresh database: `pgbench -i -s <scale>`, then
/// `pgbench -N -c <clients> -j <threads> -T <seconds>`; the database is dropped afterwards.
fn pgbench(ctx: &Ctx, admin_url: &str, run: usize, seconds: u64) -> Result<Pgbench> {
    let o = &ctx.opts;
    let db = FreshDb::create(admin_url, &format!("pgbench_{run}"))?;
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", &o.p5_pgbench_scale.to_string()])
        .arg(&db.url)
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .output()
        .context("pgbench -i")?;
    ensure!(init.status.success(), "pgbench -i failed:\n{}", String::from_utf8_lossy(&init.stderr));
    let clients = o.p5_pgbench_clients;
    let out = Command::new("pgbench")
        .args([
            "-N",
            "-c",
            &clients.to_string(),
            "-j",
            &pgbench_threads(clients).to_string(),
            "-T",
            &seconds.to_string(),
        ])
        .arg(&db.url)
        .output()
        .context("pgbench -N")?;
    drop(db);
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let tps = field("tps = ").with_context(|| {
        format!("no tps in pgbench output:\n{text}{}", String::from_utf8_lossy(&out.stderr))
    })?;
    Ok(Pgbench { tps, latency_ms: field("latency average = ").unwrap_or(f64::NAN) })
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.split_once("://").map(|(_, rest)| rest.contains('/')) {
        Some(true) => base.rsplit_once('/').map_or(base, |(b, _)| b),
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

fn psql(url: &str, sql: &str) -> Result<()> {
    let ok = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .status()
        .context("psql")?
        .success();
    ensure!(ok, "psql failed: {sql}");
    Ok(())
}

/// A database created for one measurement and dropped after it.
struct FreshDb {
    admin_url: String,
    name: String,
    url: String,
}

impl FreshDb {
    fn create(admin_url: &str, label: &str) -> Result<Self> {
        let name = format!("axp_bench_{}_{label}", std::process::id());
        psql(admin_url, &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Self { admin_url: admin_url.to_owned(), url: with_database(admin_url, &name), name })
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let _ = psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn axp_has_postgres(ctx: &Ctx) -> bool {
    Command::new(&ctx.opts.axp_bin)
        .args(["serve", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("--database-url"))
        .unwrap_or(false)
}

/// P1's body with `to_agent` set to `agent`.
fn body(agent: &str) -> String {
    let body =
        super::p1::BODY.replacen("\"to_agent\":\"bench-worker\"", &format!("\"to_agent\":\"{agent}\""), 1);
    debug_assert_ne!(body, super::p1::BODY);
    body
}

/// Creates from connection `offset + c` go to agent `(offset + c) % agents`.
fn creates(key: &str, agents: usize, offset: usize) -> RequestFn {
    let requests: Vec<Vec<u8>> = (0..agents.max(1))
        .map(|a| http::post_json("/v1/intents", key, &[], body(&format!("bench-worker-{a}")).as_bytes()))
        .collect();
    Arc::new(move |c, _| requests[(offset + c) % requests.len()].clone())
}

/// `connections` split over `replicas` as evenly as possible (the first ones get the remainder).
fn split(connections: usize, replicas: usize) -> Vec<usize> {
    (0..replicas).map(|r| connections / replicas + usize::from(r < connections % replicas)).collect()
}

/// One measurement: `replicas` `axp serve` processes on one fresh database, the load spread
/// over them; returns the summed creates/s, the first replica's result, and non-200s/errors.
async fn measure_axp(
    ctx: &Ctx,
    url: &str,
    run: usize,
    replicas: usize,
    bootstrap_key: &str,
) -> Result<Measured> {
    let o = &ctx.opts;
    let (warmup, window) = (super::secs(o.warmup), super::secs(o.duration));
    let db = FreshDb::create(url, &format!("axp_{run}_{replicas}"))?;
    let mut servers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..replicas {
        let dir = ctx.fresh_dir("p5")?;
        let mut opts = AxpOptions::new(&o.axp_bin, &dir);
        opts.extra_args = vec!["--database-url".into(), db.url.clone()];
        opts.log_file = Some(dir.with_extension("log"));
        opts.set_env("AXP_BOOTSTRAP_KEY", bootstrap_key);
        servers.push(Axp::start(&opts).await?);
        dirs.push(dir);
    }
    // The first replica bootstraps the database and writes the key to its data dir.
    let key =
        if servers[0].admin_key.is_empty() { bootstrap_key.to_owned() } else { servers[0].admin_key.clone() };
    let mut offset = 0;
    let loads = servers.iter().zip(split(o.connections, replicas)).map(|(a, n)| {
        let make = creates(&key, o.p5_agents, offset);
        offset += n;
        closed_loop(a.addr, Some(a.guard.pid), n, warmup, window, make)
    });
    let results: Vec<LoadResult> = try_join_all(loads).await?;
    drop(servers);
    drop(db);
    for d in &dirs {
        ctx.discard(d);
    }
    Ok(Measured {
        creates: results.iter().map(|r| r.ok_per_sec).sum(),
        cpu_us: results[0].server_cpu_us,
        non_ok: results.iter().map(LoadResult::non_ok).sum(),
        errors: results.iter().map(|r| r.errors).sum(),
    })
}

struct Measured {
    creates: f64,
    /// Server CPU per create of the first replica, µs.
    cpu_us: f64,
    non_ok: u64,
    errors: u64,
}

fn not_measurable(s: &mut Section, why: &str, value: &str) {
    for check in [CHECK_PGBENCH, CHECK_SCALING] {
        s.checks.push((check.into(), Verdict::NotMeasurable(why.into()), value.into()));
    }
}

/// Runs P5; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let clients = o.p5_pgbench_clients;
    let mut s = Section::new(
        "P5",
        &format!(
            "creates/s with PostgreSQL, 1 and 3 `axp serve` replicas on one database, {} connections, creates to {} agent{}",
            o.connections,
            o.p5_agents,
            if o.p5_agents == 1 { "" } else { "s" }
        ),
        &format!(
            "with 3 replicas ≥ {VS_PGBENCH} × `pgbench -N -c {clients}` tps and ≥ {VS_ONE_REPLICA} × 1 replica's creates/s, same server, same run"
        ),
    );
    let Some(url) = o.database_url.clone() else {
        not_measurable(&mut s, "run with `--database-url postgres://…`", "–");
        return Ok(s);
    };
    let seconds = o.duration.ceil().max(1.0) as u64;
    if !axp_has_postgres(ctx) {
        let p = pgbench(ctx, &url, 0, seconds)?;
        not_measurable(
            &mut s,
            "`axp serve` has no `--database-url`",
            &format!(
                "pgbench -N on this server: {} tps ({clients} clients, -j {}, {seconds} s)",
                rate(p.tps),
                pgbench_threads(clients)
            ),
        );
        return Ok(s);
    }
    s.header = [
        "run",
        "pgbench -N tps",
        "pgbench latency",
        "1 replica creates/s",
        "3 replicas creates/s",
        "3 replicas / pgbench -N",
        "3 replicas / 1 replica",
        "server CPU/create (1 replica)",
        "non-200/conn errors (1 / 3 replicas)",
    ]
    .map(String::from)
    .to_vec();
    let (mut tps, mut one, mut three, mut vs_pg, mut vs_one) = (vec![], vec![], vec![], vec![], vec![]);
    // The first admin key of every fresh database, known to every replica (AXP_BOOTSTRAP_KEY).
    let bootstrap_key = format!(
        "axme_sa_{}_{}",
        uuid::Uuid::now_v7(),
        (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect::<String>()
    );
    for run in 0..o.runs {
        let p = pgbench(ctx, &url, run, seconds)?;
        let a1 = measure_axp(ctx, &url, run, 1, &bootstrap_key).await?;
        let a3 = measure_axp(ctx, &url, run, 3, &bootstrap_key).await?;
        let (r_pg, r_one) = (a3.creates / p.tps, a3.creates / a1.creates);
        eprintln!(
            "P5 run {run}: pgbench -N {:.0} tps, axp 1 replica {:.0}/s, 3 replicas {:.0}/s (3 replicas / pgbench -N {r_pg:.3}, 3 / 1 replica {r_one:.3})",
            p.tps, a1.creates, a3.creates
        );
        s.rows.push(vec![
            format!("{}", run + 1),
            rate(p.tps),
            format!("{:.2} ms", p.latency_ms),
            rate(a1.creates),
            rate(a3.creates),
            ratio(r_pg),
            ratio(r_one),
            format!("{:.0} µs", a1.cpu_us),
            format!("{}/{} / {}/{}", a1.non_ok, a1.errors, a3.non_ok, a3.errors),
        ]);
        tps.push(p.tps);
        one.push(a1.creates);
        three.push(a3.creates);
        vs_pg.push(r_pg);
        vs_one.push(r_one);
    }
    let (m_pg, m_one) = (median(&vs_pg), median(&vs_one));
    s.rows.push(vec![
        "**median**".into(),
        rate(median(&tps)),
        String::new(),
        rate(median(&one)),
        rate(median(&three)),
        format!("**{}**", ratio(m_pg)),
        format!("**{}**", ratio(m_one)),
        String::new(),
        String::new(),
    ]);
    s.checks.push((
        CHECK_PGBENCH.into(),
        Verdict::of(m_pg >= VS_PGBENCH),
        format!(
            "median ratio {} ({} creates/s vs {} tps)",
            ratio(m_pg),
            rate(median(&three)),
            rate(median(&tps))
        ),
    ));
    s.checks.push((
        CHECK_SCALING.into(),
        Verdict::of(m_one >= VS_ONE_REPLICA),
        format!(
            "median ratio {} ({} vs {} creates/s)",
            ratio(m_one),
            rate(median(&three)),
            rate(median(&one))
        ),
    ));
    let per = split(o.connections, 3).iter().map(usize::to_string).collect::<Vec<_>>().join("/");
    s.notes.push(format!(
        "Baseline: the standard `pgbench -N` (TPC-B-like without the branch and teller updates: per transaction one `pgbench_accounts` UPDATE, one SELECT, one `pgbench_history` INSERT), `pgbench -i -s {}` on a fresh database, then `pgbench -N -c {clients} -j {} -T {seconds}`, default (simple) query protocol; the database is dropped afterwards.",
        o.p5_pgbench_scale,
        pgbench_threads(clients)
    ));
    s.notes.push(format!(
        "axp: each measurement gets a fresh database (created and dropped with psql on the server of `--database-url`); the replicas share it and an `AXP_BOOTSTRAP_KEY`. The load is P1's closed loop and body ({} connections in all, {:.0} s warm-up + {:.0} s measured; with 3 replicas {per} connections), except that connection `c` sends its creates to agent `bench-worker-{{c mod {}}}` (`--p5-agents`; 1 gives the one-agent shape), so every agent gets creates through every replica.",
        o.connections, o.warmup, o.duration, o.p5_agents
    ));
    s.notes.push("Both ratios are taken within one run; the verdicts use the medians of the per-run ratios. PostgreSQL, pgbench or the replicas, and the load generator all share the same 2 cores.".into());
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_every_connection() {
        assert_eq!(split(64, 3), vec![22, 21, 21]);
        assert_eq!(split(64, 1), vec![64]);
    }

    #[test]
    fn body_names_the_agent() {
        assert!(body("bench-worker-7").contains("\"to_agent\":\"bench-worker-7\""));
    }

    #[test]
    fn replaces_the_database() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
