//! P5: durable creates/s with PostgreSQL, 1 and 3 replicas, against pgbench's single-row commit
//! rate on the same database in the same run. Runs only when given `--database-url` and when
//! `axp serve` accepts `--database-url`.

use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use axp_loadgen::http;
use axp_loadgen::proc::{Axp, AxpOptions};
use axp_loadgen::stats::median;
use futures::future::try_join_all;

use super::load::closed_loop;
use super::{Ctx, Section, Verdict, rate, ratio};

/// pgbench: `connections` clients, each committing single-row INSERTs, for `seconds`.
fn pgbench(ctx: &Ctx, url: &str, seconds: u64) -> Result<f64> {
    let o = &ctx.opts;
    let ok = Command::new("psql")
        .args([url, "-q", "-c", "CREATE TABLE IF NOT EXISTS axp_bench_p5 (id bigint, body text)"])
        .status()
        .context("psql")?
        .success();
    ensure!(ok, "psql could not create the pgbench table");
    let dir = ctx.fresh_dir("pgbench")?;
    let script = dir.join("insert.sql");
    std::fs::write(
        &script,
        "\\set id random(1, 1000000000)\nINSERT INTO axp_bench_p5 (id, body) VALUES (:id, 'bench');\n",
    )?;
    let out = Command::new("pgbench")
        .args(["-n", "-c", &o.connections.to_string(), "-j", "2", "-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg(url)
        .output()
        .context("pgbench")?;
    ctx.discard(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no tps in pgbench output:\n{text}{}", String::from_utf8_lossy(&out.stderr)))
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
    fn create(admin_url: &str, n: usize) -> Result<Self> {
        let name = format!("axp_bench_{}_{n}", std::process::id());
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

/// Runs P5; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let mut s = Section::new(
        "P5",
        "creates/s with PostgreSQL, 1 and 3 `axp serve` replicas on one database",
        "≥ 10k intents/s with 3 replicas; baseline: pgbench single-row commit rate, same run",
    );
    let Some(url) = o.database_url.clone() else {
        s.checks.push((
            "creates/s with 3 replicas ≥ 10k".into(),
            Verdict::NotMeasurable(
                "run with `--database-url postgres://…`; the PostgreSQL backend does not exist yet".into(),
            ),
            "–".into(),
        ));
        return Ok(s);
    };
    if !axp_has_postgres(ctx) {
        let tps = pgbench(ctx, &url, o.duration.ceil() as u64)?;
        s.checks.push((
            "creates/s with 3 replicas ≥ 10k".into(),
            Verdict::NotMeasurable("`axp serve` has no `--database-url` yet".into()),
            format!(
                "pgbench single-row commit rate on this database: {} tps ({} clients)",
                rate(tps),
                o.connections
            ),
        ));
        return Ok(s);
    }
    s.header = [
        "run",
        "pgbench tps",
        "1 replica creates/s",
        "3 replicas creates/s",
        "3 replicas / pgbench",
        "server CPU/create (1 replica)",
    ]
    .map(String::from)
    .to_vec();
    let (warmup, window) = (super::secs(o.warmup), super::secs(o.duration));
    let (mut one, mut three) = (vec![], vec![]);
    // The first admin key of every fresh database, known to every replica (AXP_BOOTSTRAP_KEY).
    let bootstrap_key = format!(
        "axme_sa_{}_{}",
        uuid::Uuid::now_v7(),
        (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect::<String>()
    );
    for run in 0..o.runs {
        let tps = pgbench(ctx, &url, o.duration.ceil() as u64)?;
        let mut rates = Vec::new();
        let mut cpu = f64::NAN;
        for replicas in [1usize, 3] {
            let db = FreshDb::create(&url, run * 10 + replicas)?;
            let mut servers = Vec::new();
            for _ in 0..replicas {
                let dir = ctx.fresh_dir("p5")?;
                let mut opts = AxpOptions::new(&o.axp_bin, &dir);
                opts.extra_args = vec!["--database-url".into(), db.url.clone()];
                opts.log_file = Some(dir.with_extension("log"));
                opts.env = vec![("AXP_BOOTSTRAP_KEY".into(), bootstrap_key.clone())];
                servers.push(Axp::start(&opts).await?);
            }
            let per = o.connections / replicas;
            let key = servers[0].admin_key.clone();
            let loads = servers.iter().map(|a| {
                let req = http::post_json("/v1/intents", &key, &[], super::p1::BODY.as_bytes());
                closed_loop(a.addr, Some(a.guard.pid), per, warmup, window, Arc::new(move |_, _| req.clone()))
            });
            let results = try_join_all(loads).await?;
            rates.push(results.iter().map(|r| r.ok_per_sec).sum::<f64>());
            if replicas == 1 {
                cpu = results[0].server_cpu_us;
            }
            drop(servers);
            drop(db);
        }
        s.rows.push(vec![
            format!("{}", run + 1),
            rate(tps),
            rate(rates[0]),
            rate(rates[1]),
            ratio(rates[1] / tps),
            format!("{cpu:.0} µs"),
        ]);
        one.push(rates[0]);
        three.push(rates[1]);
    }
    s.notes.push(format!("Each measurement gets a fresh database (created and dropped with psql on the server of `--database-url`); replicas share it and an `AXP_BOOTSTRAP_KEY`. The load is P1's ({} connections in all, split evenly over the replicas, closed loop, same body). pgbench: {} clients, `-j 2`, single-row INSERT transactions, on the `--database-url` database. PostgreSQL runs on the same 2 cores as the replicas and the load generator.", o.connections, o.connections));
    let m = median(&three);
    s.checks.push((
        "creates/s with 3 replicas ≥ 10k".into(),
        Verdict::of(m >= 10_000.0),
        format!("median {} (1 replica: {})", rate(m), rate(median(&one))),
    ));
    Ok(s)
}
