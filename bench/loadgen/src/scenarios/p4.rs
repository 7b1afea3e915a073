//! P4: the seed's "before" stack (FastAPI + Redis + RQ worker + a client polling every 2 s)
//! against axp + SSE on the same report job: time from "job done" to "client notified", and
//! HTTP requests per job.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use axp_loadgen::http::{self, Conn, SseStream};
use axp_loadgen::proc::{Guard, wait_ready};
use axp_loadgen::stats::{Latency, median};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{Ctx, Section, Verdict, ms, ratio};

/// How often the "before" client polls (the seed's figure).
const POLL_EVERY: Duration = Duration::from_secs(2);

/// Wall-clock seconds since the epoch: the Python worker stamps `done_at` with `time.time()`,
/// so both sides must read the same wall clock (not a monotonic one).
#[allow(clippy::disallowed_methods)]
fn wall_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Job durations, the same seeded sequence for both stacks (ms).
fn durations(jobs: usize, seed: u64) -> Vec<u64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..jobs).map(|_| rng.random_range(200..1500)).collect()
}

/// Per job: notify latency (µs) and HTTP requests the client made.
struct JobResult {
    notify_us: f64,
    client_requests: u64,
}

/// Ensures the venv with the pinned "before" stack exists; returns its `bin/`.
fn venv(ctx: &Ctx) -> Result<PathBuf> {
    let venv = ctx.opts.p4_venv.clone();
    let bin = venv.join("bin");
    let stamp = venv.join(".requirements");
    let req = ctx.opts.p4_dir.join("requirements.txt");
    let wanted = std::fs::read_to_string(&req).with_context(|| format!("reading {}", req.display()))?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(bin);
    }
    eprintln!("P4: creating {} (pip install -r {})", venv.display(), req.display());
    let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status()?.success();
    ensure!(ok, "python3 -m venv failed (install python3-venv)");
    let ok = Command::new(bin.join("pip")).args(["install", "-q", "-r"]).arg(&req).status()?.success();
    ensure!(ok, "pip install -r {} failed", req.display());
    std::fs::write(&stamp, wanted)?;
    Ok(bin)
}

/// Makes sure Redis answers on 127.0.0.1:6379, starting `redis-server` if it does not.
async fn redis(ctx: &Ctx) -> Result<Option<Guard>> {
    let addr: SocketAddr = "127.0.0.1:6379".parse()?;
    if redis_ping(addr).await {
        return Ok(None);
    }
    eprintln!("P4: no Redis on {addr}; starting redis-server");
    let dir = ctx.fresh_dir("redis")?;
    let guard = Guard::new(
        Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server")?,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !redis_ping(addr).await {
        if Instant::now() > deadline {
            bail!("redis-server did not answer PING");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Some(guard))
}

async fn redis_ping(addr: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    if s.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await, Ok(Ok(n)) if buf[..n].starts_with(b"+PONG"))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The "before" stack for one run: uvicorn + `workers` RQ workers on queue `queue`.
struct Before {
    _api: Guard,
    _workers: Vec<Guard>,
    addr: SocketAddr,
}

async fn start_before(ctx: &Ctx, bin: &Path, queue: &str, workers: usize) -> Result<Before> {
    let port = free_port()?;
    let log = ctx.work.join("p4-before.log");
    let logf = || -> Result<Stdio> {
        Ok(Stdio::from(std::fs::OpenOptions::new().create(true).append(true).open(&log)?))
    };
    let redis_url = "redis://127.0.0.1:6379/15";
    let api = Guard::spawn_group(
        Command::new(bin.join("uvicorn"))
            .args([
                "app:app",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--log-level",
                "warning",
                "--app-dir",
            ])
            .arg(&ctx.opts.p4_dir)
            .env("P4_REDIS_URL", redis_url)
            .env("P4_QUEUE", queue)
            .stdout(logf()?)
            .stderr(logf()?),
    )
    .context("starting uvicorn")?;
    let mut ws = Vec::new();
    for _ in 0..workers {
        ws.push(
            Guard::spawn_group(
                Command::new(bin.join("rq"))
                    .args(["worker", "--url", redis_url, "--quiet", queue])
                    .env("PYTHONPATH", &ctx.opts.p4_dir)
                    .current_dir(&ctx.opts.p4_dir)
                    .stdout(logf()?)
                    .stderr(logf()?),
            )
            .context("starting rq worker")?,
        );
    }
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    wait_ready(addr, "/health", Duration::from_secs(60)).await?;
    // Let the workers register before the first job.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(Before { _api: api, _workers: ws, addr })
}

/// The "before" client for one job: POST, then GET every 2 s until finished.
async fn before_job(addr: SocketAddr, quarter: String, duration_ms: u64) -> Result<JobResult> {
    let mut conn = Conn::connect(addr).await?;
    let body = json!({"quarter": quarter, "duration_ms": duration_ms}).to_string();
    let r = conn
        .send(&http::request("POST", "/reports", &[("content-type", "application/json")], body.as_bytes()))
        .await?;
    ensure!(r.status == 202, "POST /reports answered {}: {}", r.status, r.text());
    let job_id = r.json()["job_id"].as_str().context("job_id")?.to_owned();
    let poll = http::get(&format!("/reports/{job_id}"), "");
    // The POST, then one GET per poll.
    for requests in 2..62 {
        tokio::time::sleep(POLL_EVERY).await;
        if conn.closed {
            conn = Conn::connect(addr).await?;
        }
        let r = conn.send(&poll).await?;
        let v = r.json();
        match v["status"].as_str() {
            Some("finished") => {
                let done_at = v["result"]["done_at"].as_f64().context("done_at")?;
                return Ok(JobResult { notify_us: (wall_now() - done_at) * 1e6, client_requests: requests });
            }
            Some("failed") => bail!("the RQ job failed"),
            _ => {}
        }
    }
    bail!("the job did not finish within 60 polls")
}

/// The axp agent: holds its agent stream, runs each delivered job, resumes with the result.
fn axp_agent(
    addr: SocketAddr,
    key: String,
    address: String,
    stop: Instant,
    agent_requests: Arc<AtomicU64>,
    stream_opens: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<Result<()>> {
    tokio::spawn(async move {
        let mut cursor = 0;
        let mut seen = std::collections::HashSet::new();
        while Instant::now() < stop {
            let path = format!("/v1/agents/{address}/intents/stream?since={cursor}&wait_seconds=30");
            stream_opens.fetch_add(1, Ordering::Relaxed);
            let mut stream = match SseStream::open(addr, &path, &key).await? {
                Ok(s) => s,
                Err(r) => bail!("agent stream answered {}", r.status),
            };
            while let Ok(Ok(Some(frame))) = tokio::time::timeout_at(stop.into(), stream.next()).await {
                if frame.event.as_deref() != Some("intent.delivered") {
                    continue;
                }
                let d = frame.json();
                cursor = cursor.max(d["seq"].as_u64().unwrap_or(0));
                let Some(id) = d["intent_id"].as_str().map(str::to_owned) else { continue };
                if !seen.insert(id.clone()) {
                    continue;
                }
                let duration_ms = d["payload"]["duration_ms"].as_u64().unwrap_or(0);
                let quarter = d["payload"]["quarter"].as_str().unwrap_or("Q").to_owned();
                let (key, agent_requests) = (key.clone(), agent_requests.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(duration_ms)).await;
                    let body = json!({"report_url": format!("https://example.invalid/reports/{quarter}.pdf"), "done_at": wall_now()}).to_string();
                    agent_requests.fetch_add(1, Ordering::Relaxed);
                    let mut conn = Conn::connect(addr).await?;
                    let r = conn
                        .send(&http::post_json(
                            &format!("/v1/intents/{id}/resume"),
                            &key,
                            &[],
                            body.as_bytes(),
                        ))
                        .await?;
                    ensure!(r.status == 200, "resume answered {}", r.status);
                    Ok::<_, anyhow::Error>(())
                });
            }
        }
        Ok(())
    })
}

/// The axp client for one job: create, then watch the lifecycle stream until COMPLETED.
async fn axp_job(
    addr: SocketAddr,
    key: String,
    address: String,
    quarter: String,
    duration_ms: u64,
) -> Result<JobResult> {
    let mut conn = Conn::connect(addr).await?;
    let body = json!({"intent_type": "report.generate.v1", "to_agent": address, "payload": {"quarter": quarter, "duration_ms": duration_ms}}).to_string();
    let r = conn.send(&http::post_json("/v1/intents", &key, &[], body.as_bytes())).await?;
    ensure!(r.status == 200, "create answered {}", r.status);
    let id = r.json()["intent_id"].as_str().context("intent_id")?.to_owned();
    let mut since = 0;
    // The create, then one stream request per (re)connection.
    for requests in 2..12 {
        let path = format!("/v1/intents/{id}/events/stream?since={since}&wait_seconds=60");
        let mut stream = match SseStream::open(addr, &path, &key).await? {
            Ok(s) => s,
            Err(r) => bail!("observer stream answered {}", r.status),
        };
        while let Some(frame) = stream.next().await? {
            let v: Value = frame.json();
            since = since.max(v["seq"].as_u64().unwrap_or(0));
            if frame.event.as_deref() == Some("intent.completed") {
                let done_at = v["details"]["result"]["done_at"].as_f64().context("done_at in the result")?;
                return Ok(JobResult { notify_us: (wall_now() - done_at) * 1e6, client_requests: requests });
            }
        }
    }
    bail!("no intent.completed")
}

/// Runs `jobs` jobs, `concurrency` at a time.
async fn run_jobs<F, Fut>(durations: &[u64], concurrency: usize, job: F) -> Result<Vec<JobResult>>
where
    F: Fn(String, u64) -> Fut,
    Fut: std::future::Future<Output = Result<JobResult>> + Send + 'static,
{
    let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = Vec::new();
    for (i, d) in durations.iter().enumerate() {
        let permit = gate.clone().acquire_owned().await?;
        let fut = job(format!("Q{}", i % 4 + 1), *d);
        tasks.push(tokio::spawn(async move {
            let r = fut.await;
            drop(permit);
            r
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

/// Runs P4; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let mut s = Section::new(
        "P4",
        "the seed's \"before\" stack (FastAPI + Redis + RQ + polling every 2 s) vs axp + SSE, same report job",
        "job done → client notified ≥ 100× shorter with axp; ≤ 3 HTTP requests per job with axp (both counts reported)",
    );
    s.header = [
        "run",
        "jobs",
        "before: notify p50",
        "p99",
        "before: requests/job",
        "axp: notify p50",
        "p99",
        "axp: client requests/job",
        "axp: incl. agent's resume",
        "ratio (p50)",
    ]
    .map(String::from)
    .to_vec();
    let bin = venv(ctx)?;
    let _redis = redis(ctx).await?;
    let (mut ratios, mut axp_reqs, mut axp_total) = (vec![], vec![], vec![]);
    let (mut before_p50s, mut axp_p50s, mut before_reqs) = (vec![], vec![], vec![]);
    for run in 0..o.runs {
        let ds = durations(o.p4_jobs, 42 + run as u64);
        let queue = format!("p4-{}-{run}", std::process::id());
        let before = start_before(ctx, &bin, &queue, o.p4_concurrency).await?;
        let addr = before.addr;
        let mut b = run_jobs(&ds, o.p4_concurrency, |q, d| before_job(addr, q, d)).await?;
        drop(before);

        let (axp, dir) = ctx.axp("p4").await?;
        let address = format!("p4-report-service-{run}");
        let agent_requests = Arc::new(AtomicU64::new(0));
        let stream_opens = Arc::new(AtomicU64::new(0));
        let agent = axp_agent(
            axp.addr,
            axp.admin_key.clone(),
            address.clone(),
            Instant::now() + Duration::from_secs(120),
            agent_requests.clone(),
            stream_opens.clone(),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (aaddr, akey) = (axp.addr, axp.admin_key.clone());
        let mut a =
            run_jobs(&ds, o.p4_concurrency, |q, d| axp_job(aaddr, akey.clone(), address.clone(), q, d))
                .await?;
        agent.abort();
        drop(axp);
        ctx.discard(&dir);

        let lat = |v: &mut Vec<JobResult>| {
            let mut us: Vec<f64> = v.iter().map(|j| j.notify_us).collect();
            Latency::of(&mut us)
        };
        let (lb, la) = (lat(&mut b), lat(&mut a));
        let per_job =
            |v: &Vec<JobResult>| v.iter().map(|j| j.client_requests).sum::<u64>() as f64 / v.len() as f64;
        let (rb, ra) = (per_job(&b), per_job(&a));
        let total = ra + agent_requests.load(Ordering::Relaxed) as f64 / a.len() as f64;
        let opens = stream_opens.load(Ordering::Relaxed);
        let r = lb.p50_us / la.p50_us.max(1.0);
        eprintln!(
            "P4 run {run}: before p50 {:.0} ms, axp p50 {:.2} ms, ratio {r:.0}",
            lb.p50_us / 1000.0,
            la.p50_us / 1000.0
        );
        s.rows.push(vec![
            format!("{}", run + 1),
            format!("{}", a.len()),
            ms(lb.p50_us),
            ms(lb.p99_us),
            format!("{rb:.2}"),
            ms(la.p50_us),
            ms(la.p99_us),
            format!("{ra:.2}"),
            format!("{total:.2} (+{opens} agent stream)"),
            ratio(r),
        ]);
        ratios.push(r);
        axp_reqs.push(ra);
        before_reqs.push(rb);
        axp_total.push(total);
        before_p50s.push(lb.p50_us);
        axp_p50s.push(la.p50_us);
    }
    let m = median(&ratios);
    s.checks.push((
        "job done → client notified, before / axp".into(),
        Verdict::of(m >= 100.0),
        format!("median ratio {} ({} vs {})", ratio(m), ms(median(&before_p50s)), ms(median(&axp_p50s))),
    ));
    let (rc, rt) = (median(&axp_reqs), median(&axp_total));
    s.checks.push((
        "HTTP requests per job with axp ≤ 3".into(),
        Verdict::of(rt <= 3.0 + 1e-9),
        format!("{rt:.2} per job: client {rc:.2} (create + lifecycle stream) + the agent's resume; the agent's stream requests are counted apart (column \"+N agent stream\"): its stream ends after each batch of deliveries and it reconnects from `next_since` (contract §4.11), so that count grows with the batches, not with the clients. Before: {:.2} per job (1 POST + polls), all from the client", median(&before_reqs)),
    ));
    s.notes.push(format!(
        "Both stacks run the same seeded job durations (200–1500 ms, {} jobs per run, {} at a time; {} RQ workers). The job records `done_at` (wall clock) when it finishes: the RQ job returns it, the axp agent puts it in its resume result. `notify` = the client's wall clock when it learns the job finished − `done_at`. Before: `POST /reports` (202 + job id), then `GET /reports/{{id}}` every 2 s. axp: `POST /v1/intents`, then `GET /v1/intents/{{id}}/events/stream` until `intent.completed`; the agent holds `GET /v1/agents/{{address}}/intents/stream` and answers with `POST /v1/intents/{{id}}/resume`. Versions: see `bench/p4/requirements.txt`; Redis on 127.0.0.1:6379 db 15.",
        o.p4_jobs, o.p4_concurrency, o.p4_concurrency
    ));
    Ok(s)
}
