//! `axp-bench`: runs the benchmark scenarios of issues 3 and 12 against the real `axp serve` (release
//! build) on loopback, each with its baseline in the same run, and writes `bench/REPORT.md`.
//!
//! Run it through `bench/run`, which builds the binaries first. Every load loop is bounded in
//! count and time; every server it starts is killed by its own PID when the scenario ends.

mod scenarios;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use scenarios::{Ctx, Section, Verdict};

/// Command-line options.
#[derive(Parser, Clone, Debug, serde::Serialize)]
#[command(name = "axp-bench", about = "axp benchmark scenarios (P1–P8) with same-run baselines")]
pub struct Opts {
    /// Scenarios to run: p1 (also P1b), p1m, p2 (also P2c), p2b, p3, p4, p5, p6, p7, p8, p9, disk,
    /// or all. None named: all, or with `--quick` the regression guard's p1, p1m, p2, p3 and disk.
    pub scenarios: Vec<String>,
    /// The `axp` binary (a release build).
    #[arg(long, env = "AXP_BIN", default_value = "target/release/axp")]
    pub axp_bin: PathBuf,
    /// The `axp-baseline` binary (default: next to this one).
    #[arg(long)]
    pub baseline_bin: Option<PathBuf>,
    /// Runs per scenario (medians are over runs).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Measured seconds per closed-loop run (P1, P1b, P1m, P5).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Unmeasured warm-up seconds before each closed-loop run (P1, P1b, P1m, P5).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Concurrent connections for P1/P1b/P1m/P5.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Cross-check P1 with one `wrk` run (if installed).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub wrk: bool,
    /// P2 create rate (intents/s).
    #[arg(long, default_value_t = 1000.0)]
    pub p2_rate: f64,
    /// P2 seconds per run.
    #[arg(long, default_value_t = 10.0)]
    pub p2_seconds: f64,
    /// P2c (P2 as a client sees it): intents created, one at a time per due instant.
    #[arg(long, default_value_t = 1000)]
    pub p2c_intents: usize,
    /// P2c create rate (intents/s).
    #[arg(long, default_value_t = 200.0)]
    pub p2c_rate: f64,
    /// P2b loop rate (loops/s).
    #[arg(long, default_value_t = 100.0)]
    pub p2b_rate: f64,
    /// P2b seconds per run.
    #[arg(long, default_value_t = 10.0)]
    pub p2b_seconds: f64,
    /// P3 concurrent observers.
    #[arg(long, default_value_t = 10_000)]
    pub p3_observers: usize,
    /// P4 jobs per run and stack.
    #[arg(long, default_value_t = 12)]
    pub p4_jobs: usize,
    /// P4 jobs in flight at once (and RQ workers).
    #[arg(long, default_value_t = 4)]
    pub p4_concurrency: usize,
    /// P4's Python "before" stack (app.py, jobs.py, requirements.txt).
    #[arg(long, default_value = "bench/p4")]
    pub p4_dir: PathBuf,
    /// Where P4's venv is created.
    #[arg(long, default_value = "bench/out/p4-venv")]
    pub p4_venv: PathBuf,
    /// P5: a PostgreSQL URL (local only); without it P5 is reported as not measurable.
    #[arg(long, env = "AXP_BENCH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// P5: the agents the creates go to (connection `c` sends to agent `c % n`; 1 = all to one).
    #[arg(long, default_value_t = 16)]
    pub p5_agents: usize,
    /// P5: `pgbench -N` clients (`-c`).
    #[arg(long, default_value_t = 32)]
    pub p5_pgbench_clients: usize,
    /// P5: `pgbench -i` scale factor (`-s`; -N touches no branch or teller rows, so 1 has no hot rows).
    #[arg(long, default_value_t = 1)]
    pub p5_pgbench_scale: usize,
    /// P6 starts (each: a first start and a restart).
    #[arg(long, default_value_t = 5)]
    pub p6_starts: usize,
    /// P9 finished intents written and then removed by retention.
    #[arg(long, default_value_t = 200_000)]
    pub p9_intents: usize,
    /// Disk: intents created and then resolved COMPLETED on a fresh SQLite data dir.
    #[arg(long, default_value_t = 10_000)]
    pub disk_intents: usize,
    /// P7 idle SSE streams opened and then closed.
    #[arg(long, default_value_t = 10_000)]
    pub p7_streams: usize,
    /// Work directory for data dirs and logs (must be on a real disk, not tmpfs).
    #[arg(long, default_value = "bench/out/work")]
    pub work_dir: PathBuf,
    /// The report to write (the part between the generated markers is replaced). Default:
    /// `bench/REPORT.md`, or `bench/out/REPORT-quick.md` with `--quick` (its figures are too
    /// short for the report).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Also write every section as JSON here. Default: `bench/out/results.json`, or
    /// `bench/out/results-quick.json` with `--quick`.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The regression guard (under 2 minutes): by default only P1 (and P1b), P1m, P2 (and P2c), P3
    /// and disk; 1 run, 1 + 4 s windows for P1 and P1m, P2 for 3 s, P2c with 300 intents, P3 with 1,000
    /// observers, disk with 2,000 intents (and short settings for any other scenario named).
    #[arg(long)]
    pub quick: bool,
}

/// CPU seconds `pid` has used (NaN when unknown).
pub fn proc_cpu(pid: u32) -> f64 {
    axp_loadgen::proc::cpu_seconds(pid).unwrap_or(f64::NAN)
}

const BEGIN: &str = "<!-- generated by bench/run: begin -->";
const END: &str = "<!-- generated by bench/run: end -->";

fn main() -> Result<()> {
    let mut opts = Opts::parse();
    if opts.quick {
        opts.runs = 1;
        opts.duration = 4.0;
        opts.warmup = 1.0;
        opts.p2_seconds = 3.0;
        opts.p2c_intents = opts.p2c_intents.min(300);
        opts.disk_intents = opts.disk_intents.min(2_000);
        opts.p2b_seconds = 3.0;
        opts.p3_observers = opts.p3_observers.min(1000);
        opts.p7_streams = opts.p7_streams.min(1000);
        opts.p4_jobs = 4;
        opts.p6_starts = 2;
        opts.p9_intents = opts.p9_intents.min(20_000);
        opts.wrk = false;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(run(opts))
}

/// The scenarios `bench/run --quick` runs when none are named: the regression guard.
const QUICK: [&str; 5] = ["p1", "p1m", "p2", "p3", "disk"];

fn wanted(opts: &Opts) -> Result<Vec<String>> {
    const ALL: [&str; 12] = ["p6", "p1", "p1m", "p2", "p2b", "p3", "p4", "p5", "p7", "p8", "p9", "disk"];
    if opts.scenarios.is_empty() {
        let list: &[&str] = if opts.quick { &QUICK } else { &ALL };
        return Ok(list.iter().map(|s| s.to_string()).collect());
    }
    let mut out = Vec::new();
    for s in &opts.scenarios {
        let s = s.to_ascii_lowercase();
        if s == "all" {
            out.extend(ALL.iter().map(|s| s.to_string()));
        } else if s == "p1b" {
            out.push("p1".into());
        } else if s == "p2c" {
            out.push("p2".into());
        } else if ALL.contains(&s.as_str()) {
            out.push(s);
        } else {
            bail!("unknown scenario {s} (expected one of {ALL:?} or all)");
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    Ok(out)
}

async fn run(mut opts: Opts) -> Result<()> {
    let list = wanted(&opts)?;
    anyhow::ensure!(
        opts.axp_bin.exists(),
        "{} does not exist: build it with `cargo build --release -p axp`",
        opts.axp_bin.display()
    );
    if opts.baseline_bin.is_none() {
        let me = std::env::current_exe()?;
        opts.baseline_bin = Some(me.with_file_name("axp-baseline"));
    }
    let work = opts.work_dir.clone();
    std::fs::create_dir_all(&work)?;
    // Children run in other directories: make every path absolute.
    let cwd = std::env::current_dir()?;
    for p in [&mut opts.work_dir, &mut opts.p4_dir, &mut opts.p4_venv, &mut opts.axp_bin] {
        if p.is_relative() {
            *p = cwd.join(&*p);
        }
    }
    let work = if work.is_relative() { cwd.join(work) } else { work };
    let started = time::OffsetDateTime::now_utc();
    let t0 = Instant::now();
    let machine = machine(&work);
    let ctx = Ctx::new(opts.clone(), work.clone());
    let mut sections: Vec<Section> = Vec::new();
    for s in &list {
        eprintln!("==> {s}");
        let result = match s.as_str() {
            "p1" => scenarios::p1::run(&ctx).await,
            "p1m" => scenarios::p1m::run(&ctx).await.map(|s| vec![s]),
            "p2" => scenarios::p2c::run_p2_and_p2c(&ctx).await,
            "p2b" => scenarios::p2::run_p2b(&ctx).await.map(|s| vec![s]),
            "p3" => scenarios::p3::run(&ctx).await.map(|s| vec![s]),
            "p4" => scenarios::p4::run(&ctx).await.map(|s| vec![s]),
            "p5" => scenarios::p5::run(&ctx).await.map(|s| vec![s]),
            "p6" => scenarios::p6::run(&ctx).await.map(|s| vec![s]),
            "p7" => scenarios::p7::run(&ctx).await.map(|s| vec![s]),
            "p8" => scenarios::p8::run(&ctx).await.map(|s| vec![s]),
            "p9" => scenarios::p9::run(&ctx).await.map(|s| vec![s]),
            "disk" => scenarios::disk::run(&ctx).await.map(|s| vec![s]),
            _ => unreachable!(),
        };
        match result {
            Ok(mut v) => {
                for sec in &v {
                    for (what, verdict, value) in &sec.checks {
                        eprintln!("    {} {what}: {} — {value}", sec.id, verdict.word());
                    }
                }
                sections.append(&mut v);
            }
            Err(e) => {
                eprintln!("    {s} failed: {e:#}");
                let mut sec = Section::new(&s.to_uppercase(), "scenario failed", "–");
                sec.checks.push((
                    "scenario".into(),
                    Verdict::NotMeasurable(format!("the harness failed: {e:#}")),
                    "–".into(),
                ));
                sections.push(sec);
            }
        }
    }
    let elapsed = t0.elapsed();
    let generated = render(&opts, &machine, started, elapsed, &sections);
    let (report, json) = if opts.quick {
        ("bench/out/REPORT-quick.md", "bench/out/results-quick.json")
    } else {
        ("bench/REPORT.md", "bench/out/results.json")
    };
    let report = opts.report.clone().unwrap_or_else(|| report.into());
    let json = opts.json.clone().unwrap_or_else(|| json.into());
    write_report(&report, &generated)?;
    if let Some(parent) = json.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(
        &json,
        serde_json::to_string_pretty(&serde_json::json!({"opts": opts, "sections": sections}))?,
    )?;
    eprintln!("wrote {} and {}", report.display(), json.display());
    eprintln!("{}", summary(&opts, &sections, elapsed));
    Ok(())
}

/// The closing summary on stderr: every target's verdict with its same-run ratio, the settings
/// that differ from a full run, and the wall time.
fn summary(opts: &Opts, sections: &[Section], elapsed: Duration) -> String {
    let mut s = String::from("==> summary");
    if opts.quick {
        let _ = write!(
            s,
            " (quick settings: 1 run; P1 and P1m {:.0} + {:.0} s windows; P2 {:.0} s at {:.0}/s; P2c {} intents at {:.0}/s; P3 {} observers; disk {} intents. A regression guard: compare ratios with the last run, not absolute numbers)",
            opts.warmup,
            opts.duration,
            opts.p2_seconds,
            opts.p2_rate,
            opts.p2c_intents,
            opts.p2c_rate,
            opts.p3_observers,
            opts.disk_intents
        );
    }
    for sec in sections {
        for (what, verdict, value) in &sec.checks {
            let _ = write!(s, "\n  {} {what}: {} — {value}", sec.id, verdict.word().replace("**", ""));
        }
    }
    let _ = write!(s, "\nwall time: {:.0} s", elapsed.as_secs_f64());
    s
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The machine section: CPU, memory, kernel, filesystem, load, and the cost of one fsync.
fn machine(work: &std::path::Path) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(str::to_owned))
        .unwrap_or_default();
    let fs = sh("df", &["-T", &work.to_string_lossy()]);
    let fs = fs.lines().nth(1).unwrap_or("").split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let fsync = fsync_cost(work)
        .map(|(p50, p99)| format!("{p50:.0} µs p50, {p99:.0} µs p99"))
        .unwrap_or_else(|e| format!("not measured ({e})"));
    let mut s = String::new();
    let _ = writeln!(s, "- CPU: {} × {cpu}", sh("nproc", &[]));
    let _ = writeln!(s, "- {mem}");
    let _ = writeln!(s, "- Kernel: {}", sh("uname", &["-sr"]));
    let _ = writeln!(s, "- Data dirs on: {fs} (`{}`)", work.display());
    let _ = writeln!(s, "- One 4 KiB write + `fdatasync` there: {fsync}");
    let _ = writeln!(
        s,
        "- Load average at start: {}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    let _ = writeln!(s, "- rustc: {}", sh("rustc", &["--version"]));
    s
}

/// p50 and p99 of 200 × (4 KiB write + fdatasync) in `dir`, µs.
fn fsync_cost(dir: &std::path::Path) -> Result<(f64, f64)> {
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path)?;
    let block = vec![7u8; 4096];
    let mut samples = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        f.write_all(&block)?;
        f.sync_data()?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    samples.sort_by(f64::total_cmp);
    Ok((axp_loadgen::stats::percentile(&samples, 50.0), axp_loadgen::stats::percentile(&samples, 99.0)))
}

fn render(
    opts: &Opts,
    machine: &str,
    started: time::OffsetDateTime,
    elapsed: Duration,
    sections: &[Section],
) -> String {
    let commit = sh("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = if sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        ""
    } else {
        " (with uncommitted changes)"
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut s = String::new();
    let _ = writeln!(s, "{BEGIN}\n");
    let _ = writeln!(
        s,
        "## Latest run\n\n{} UTC, commit `{commit}`{dirty}, {:.0} s in all. Command: `bench/run{}{}`{}.\n",
        started.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        elapsed.as_secs_f64(),
        if args.is_empty() { "" } else { " " },
        args.join(" "),
        if opts.quick {
            " (**quick settings: the regression guard, one short run; compare ratios, not absolute numbers**)"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "axp binary: `{}`.\n", opts.axp_bin.display());
    let harness: Vec<String> =
        axp_loadgen::proc::HARNESS_ENV.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
    let _ = writeln!(
        s,
        "Server settings: every `axp serve` runs with {} (the per-key rate limit and the per-workspace in-flight cap off: these are throughput scenarios from one key and one workspace) and otherwise its defaults; a scenario that changes more (P3 and P7 raise the stream caps for their many streams on one key, P8 turns the in-flight cap back on) says so under its table.\n",
        harness.join(", ")
    );
    let _ = writeln!(s, "### Machine\n\n{machine}");
    let _ = writeln!(
        s,
        "### Summary\n\n| ID | target | verdict | measured (median of {} runs) |\n|---|---|---|---|",
        opts.runs
    );
    for sec in sections {
        for (what, verdict, value) in &sec.checks {
            let _ = writeln!(s, "| {} | {what} | {} | {value} |", sec.id, verdict.word());
        }
    }
    s.push('\n');
    for sec in sections {
        s.push_str(&sec.markdown());
    }
    let _ = writeln!(s, "{END}");
    s
}

/// Replaces the generated block of `path` (or appends one), keeping the hand-written rest.
fn write_report(path: &PathBuf, generated: &str) -> Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# axp benchmark report\n\n".into());
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => {
            format!("{}{}{}", &old[..b], generated.trim_end(), &old[e + END.len()..])
        }
        _ => format!("{}\n{}", old.trim_end(), generated),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))
}
