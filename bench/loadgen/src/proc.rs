//! Spawning the servers under test: the real `axp serve` binary and the baselines.
//!
//! Every child is owned by a guard that kills it by its own PID on drop, so a failing
//! scenario or test never leaves a server behind. Nothing here ends a process it did not start.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::http::{self, Conn};

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Guard {
    child: Option<Child>,
    /// Its PID.
    pub pid: u32,
    /// It leads its own process group (see [`Guard::spawn_group`]), which is ended with it.
    group: bool,
}

impl Guard {
    /// Owns `child`.
    pub fn new(child: Child) -> Self {
        let pid = child.id();
        Self { child: Some(child), pid, group: false }
    }

    /// Spawns `cmd` as the leader of a new process group, for programs that fork workers of
    /// their own (an RQ worker forks a "work horse" per job). Ending the guard ends the group:
    /// only processes descended from this child are in it.
    pub fn spawn_group(cmd: &mut Command) -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt;
        let child = cmd.process_group(0).spawn()?;
        let mut g = Self::new(child);
        g.group = true;
        Ok(g)
    }

    fn signal(&self, sig: &str) {
        let target = if self.group { format!("-{}", self.pid) } else { self.pid.to_string() };
        let _ = Command::new("kill").args([sig, "--", &target]).stderr(Stdio::null()).status();
    }

    /// SIGKILL and reap: no shutdown, no flush.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            if self.group {
                self.signal("-KILL");
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits up to `grace` for a clean exit before SIGKILL.
    pub fn terminate(&mut self, grace: Duration) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        self.signal("-TERM");
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                if self.group {
                    self.signal("-KILL");
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.group {
            self.signal("-KILL");
        }
        let _ = c.kill();
        let _ = c.wait();
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Resident set size in KiB (`VmRSS`), when the process is alive.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// CPU time (user + system) `pid` has used so far, in seconds (`/proc/<pid>/stat`, in clock
/// ticks of 1/100 s).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Counts the instructions `pid` retires during `window` with `perf stat`, when perf and the
/// hardware counters are available. Blocking; run it on a blocking thread.
pub fn perf_instructions(pid: u32, window: Duration) -> Option<f64> {
    let out = Command::new("perf")
        .args(["stat", "-x", ",", "-e", "instructions", "-p", &pid.to_string(), "--", "sleep"])
        .arg(format!("{:.3}", window.as_secs_f64()))
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines().find(|l| l.contains("instructions")).and_then(|l| l.split(',').next()?.trim().parse().ok())
}

/// `RssAnon` and `RssFile` of `pid` in KiB: private memory vs. mapped file pages (the binary
/// and libraries, shared and reclaimable).
pub fn rss_split_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|l| {
            l.strip_prefix(name).and_then(|v| v.trim().strip_suffix("kB")).and_then(|v| v.trim().parse().ok())
        })
    };
    Some((field("RssAnon:")?, field("RssFile:")?))
}

/// Number of threads of `pid`.
pub fn threads(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Threads:").and_then(|v| v.trim().parse().ok()))
}

/// `VmRSS` of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix("VmRSS:").and_then(|v| v.trim().strip_suffix("kB")).and_then(|v| v.trim().parse().ok())
    })
}

/// Bytes `pid` has caused to be written to storage so far (`write_bytes` of `/proc/<pid>/io`:
/// its own writes and the page cache write-back they caused, so a database's WAL, checkpoints
/// and fsyncs all count).
pub fn write_bytes(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines().find_map(|l| l.strip_prefix("write_bytes:").and_then(|v| v.trim().parse().ok()))
}

/// How to start `axp serve`.
#[derive(Clone, Debug)]
pub struct AxpOptions {
    /// The binary.
    pub bin: PathBuf,
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--listen` (default `127.0.0.1:0`).
    pub listen: String,
    /// More arguments after `serve` (e.g. `--database-url`).
    pub extra_args: Vec<String>,
    /// `RUST_LOG` for the child; `None` keeps the server's default.
    pub rust_log: Option<String>,
    /// Where stderr goes; `None` discards it.
    pub log_file: Option<PathBuf>,
    /// Environment variables for the child: [`HARNESS_ENV`] and what [`AxpOptions::set_env`]
    /// added. Private, so a caller can add or override a variable but never drop the harness's.
    env: Vec<(String, String)>,
}

/// What every `axp serve` the harness and the torture tests start is told, on top of the
/// server's defaults: the per-key request rate limit off (issue 12: "the benchmark harness sets
/// it to `0` for throughput scenarios"), since one bench key sends far more than a normal
/// client, and the per-workspace in-flight cap off, since every throughput scenario is one
/// workspace with more connections than the cap (P8, which measures that cap, turns it back
/// on). Stream caps stay at their defaults unless a scenario raises them (P3, P7).
pub const HARNESS_ENV: [(&str, &str); 2] =
    [("AXP_RATE_LIMIT_PER_KEY", "0"), ("AXP_WORKSPACE_MAX_INFLIGHT", "0")];

impl AxpOptions {
    /// Defaults for `bin` over `data_dir`, with [`HARNESS_ENV`].
    pub fn new(bin: &Path, data_dir: &Path) -> Self {
        Self {
            bin: bin.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            listen: "127.0.0.1:0".into(),
            extra_args: Vec::new(),
            rust_log: None,
            log_file: None,
            env: HARNESS_ENV.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    /// Sets (or overrides) the environment variable `name` for the child.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }
}

/// A running `axp serve`.
pub struct Axp {
    /// The process.
    pub guard: Guard,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The admin key, read from `admin.key` in the data dir (empty when there is none).
    pub admin_key: String,
    /// Time from `exec` to the "listening" line on stdout.
    pub exec_to_listening: Duration,
    /// Time from `exec` to the first `200` from `GET /ready`.
    pub exec_to_ready: Duration,
}

impl Axp {
    /// Starts the binary, waits for its "axp listening on" line, then for `GET /ready` to answer
    /// 200 (within 30 s), and reads the admin key.
    pub async fn start(opts: &AxpOptions) -> Result<Self> {
        let mut cmd = Command::new(&opts.bin);
        cmd.arg("serve")
            .arg("--listen")
            .arg(&opts.listen)
            .arg("--data-dir")
            .arg(&opts.data_dir)
            .args(&opts.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        match &opts.log_file {
            Some(path) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                cmd.stderr(f);
            }
            None => {
                cmd.stderr(Stdio::null());
            }
        }
        if let Some(level) = &opts.rust_log {
            cmd.env("RUST_LOG", level);
        }
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)));
        let t0 = Instant::now();
        let mut child = cmd.spawn().with_context(|| format!("spawning {}", opts.bin.display()))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let guard = Guard::new(child);
        let (url, listening_at) = read_listening_line(stdout, "axp listening on ")?;
        let exec_to_listening = listening_at - t0;
        let addr: SocketAddr = url
            .trim_start_matches("http://")
            .parse()
            .with_context(|| format!("parsing the printed URL {url}"))?;
        let ready_at = wait_ready(addr, "/ready", Duration::from_secs(30)).await?;
        // A replica joining a database bootstrapped by another one has no key file.
        let admin_key = std::fs::read_to_string(opts.data_dir.join("admin.key"))
            .map(|k| k.trim().to_owned())
            .unwrap_or_default();
        Ok(Self { guard, url, addr, admin_key, exec_to_listening, exec_to_ready: ready_at - t0 })
    }
}

/// Reads `stdout` until a line starting with `prefix`, returns the rest of that line and the
/// instant it was read, and keeps draining `stdout` on a thread.
pub fn read_listening_line(stdout: impl Read + Send + 'static, prefix: &str) -> Result<(String, Instant)> {
    let (tx, rx) = mpsc::channel();
    let prefix = prefix.to_owned();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut sent = false;
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if !sent && let Some(rest) = line.strip_prefix(&prefix) {
                let _ = tx.send(Ok((rest.trim().to_owned(), Instant::now())));
                sent = true;
            }
        }
        if !sent {
            let _ = tx.send(Err(anyhow!("the server exited before printing its address")));
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .map_err(|_| anyhow!("the server did not print its address within 60 s"))?
}

/// Polls `GET path` on `addr` until 200; returns the instant of the 200.
pub async fn wait_ready(addr: SocketAddr, path: &str, within: Duration) -> Result<Instant> {
    let deadline = Instant::now() + within;
    let request = http::get(path, "");
    loop {
        if let Ok(mut conn) = Conn::connect(addr).await
            && let Ok(r) = conn.send(&request).await
            && r.status == 200
        {
            return Ok(r.at);
        }
        if Instant::now() >= deadline {
            bail!("{addr}{path} did not answer 200 within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A running baseline server (`axp-baseline json|sse`).
pub struct Baseline {
    /// The process.
    pub guard: Guard,
    /// The bound address.
    pub addr: SocketAddr,
}

impl Baseline {
    /// Starts `bin <mode> --listen 127.0.0.1:0` and waits for its "listening on" line.
    pub async fn start(bin: &Path, mode: &str) -> Result<Self> {
        let mut child = Command::new(bin)
            .args([mode, "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let guard = Guard::new(child);
        let (url, _) = read_listening_line(stdout, "listening on ")?;
        let addr: SocketAddr = url.trim_start_matches("http://").parse()?;
        wait_ready(addr, "/health", Duration::from_secs(30)).await?;
        Ok(Self { guard, addr })
    }
}
