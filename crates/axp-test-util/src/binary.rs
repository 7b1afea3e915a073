//! The real `axp` binary as a child process, for end-to-end tests that need what an in-process
//! [`crate::TestServer`] cannot give: signals (`SIGTERM`, `kill -9`), restarts of a process on
//! the same data directory, the data-directory lock, TLS and listener settings read from the
//! environment.
//!
//! [`ServeCommand`] runs `axp serve --listen 127.0.0.1:0 --data-dir <dir>` (plus the caller's
//! arguments and environment) and reads the `axp listening on <url>` line the binary prints once
//! its listener is bound, so a test never sleeps waiting for startup. The binary's path comes
//! from the caller: `env!("CARGO_BIN_EXE_axp")` exists only in the `axp` crate's tests.
//!
//! The process is killed (`SIGKILL`) and reaped when its [`ServeProcess`] is dropped. Only the
//! child this harness started is ever signalled, by its process id.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The line prefix `axp serve` prints before its base URL once it listens.
const LISTENING: &str = "axp listening on ";

/// How often a bounded wait for the child's exit checks it (it cannot block with a timeout).
const EXIT_POLL: Duration = Duration::from_millis(20);

/// How long a refused start may take to exit after closing its stdout (generous: debug build,
/// shared CI machine).
const REFUSED_EXIT: Duration = Duration::from_secs(30);

/// A configured `axp serve` on port 0 of loopback, not yet started.
///
/// Defaults: `RUST_LOG=warn`, stdout piped (the harness reads the URL from it), stderr
/// discarded. Variables the caller does not set or remove are inherited from the test process.
pub struct ServeCommand {
    command: Command,
    data_dir: PathBuf,
}

impl ServeCommand {
    /// `binary serve --listen 127.0.0.1:0 --data-dir <data_dir>`; `binary` is the path of the
    /// `axp` executable (`env!("CARGO_BIN_EXE_axp")` in the `axp` crate's tests).
    pub fn new(binary: impl AsRef<OsStr>, data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let mut command = Command::new(binary);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        Self { command, data_dir }
    }

    /// Appends command-line arguments after `--data-dir <dir>` (e.g. `--tls-cert <file>`).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Sets the environment variables `vars` (`(name, value)` pairs), after any removal.
    pub fn envs<'a>(mut self, vars: impl IntoIterator<Item = &'a (&'a str, &'a str)>) -> Self {
        self.command.envs(vars.into_iter().copied());
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    /// Starts the process without `names` in its environment, so the host's setup cannot leak in.
    pub fn env_remove<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Self {
        for name in names {
            self.command.env_remove(name);
        }
        self
    }

    /// Where the child's stderr goes: [`Stdio::null`] by default, [`Stdio::inherit`] to see its
    /// logs in the test output, [`Stdio::piped`] to read them from a refused start
    /// ([`Refused::stderr`]).
    pub fn stderr(mut self, stderr: Stdio) -> Self {
        self.command.stderr(stderr);
        self
    }

    /// Starts the binary and waits for its URL.
    ///
    /// # Panics
    /// When the binary cannot be spawned or exits without printing its URL (with its stderr
    /// when piped).
    pub fn start(self) -> ServeProcess {
        self.try_start().unwrap_or_else(|refused| {
            panic!("axp serve did not start ({}): {}", refused.status, refused.stderr)
        })
    }

    /// Starts the binary and waits for its URL; a start that ends with stdout closed and no URL
    /// (the binary refused to serve) is its exit status and stderr.
    ///
    /// # Panics
    /// When the binary cannot be spawned, or a refused process has not exited within 30 s of
    /// closing its stdout.
    pub fn try_start(mut self) -> Result<ServeProcess, Refused> {
        let child = self.command.spawn().expect("spawn axp serve");
        let mut process = ServeProcess { child, url: String::new(), data_dir: self.data_dir };
        let stdout = process.child.stdout.take().expect("stdout is piped");
        let url = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix(LISTENING).map(str::to_owned));
        match url {
            Some(url) => {
                process.url = url;
                Ok(process)
            }
            None => {
                let status = process.wait_exit(REFUSED_EXIT);
                let mut stderr = String::new();
                if let Some(mut pipe) = process.child.stderr.take() {
                    pipe.read_to_string(&mut stderr).expect("read axp's stderr");
                }
                Err(Refused { status, stderr })
            }
        }
    }
}

/// A start the binary refused: it exited without printing its URL.
#[derive(Debug)]
pub struct Refused {
    /// How it exited.
    pub status: ExitStatus,
    /// Its stderr; empty unless [`ServeCommand::stderr`] piped it.
    pub stderr: String,
}

/// A running `axp serve`; killed with `SIGKILL` and reaped on drop.
pub struct ServeProcess {
    child: Child,
    url: String,
    data_dir: PathBuf,
}

impl ServeProcess {
    /// The base URL it printed: `http://127.0.0.1:<port>` (`https://` with TLS), no trailing `/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The listening address, `127.0.0.1:<port>`, for raw TCP connections.
    pub fn addr(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or(&self.url)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The bootstrap admin key the server wrote to `<data_dir>/admin.key`, trimmed.
    ///
    /// # Panics
    /// When the file cannot be read (e.g. a server on PostgreSQL with `AXP_BOOTSTRAP_KEY`).
    pub fn admin_key(&self) -> String {
        let path = self.data_dir.join("admin.key");
        let key = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        key.trim().to_owned()
    }

    /// Sends `SIGTERM` (a graceful stop) with `kill -TERM <pid>`, without waiting.
    ///
    /// The binary installs its handler just after printing its URL: a test that needs the
    /// clean stop makes one request first.
    ///
    /// # Panics
    /// When `kill` fails.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM {}: {status}", self.child.id());
    }

    /// Waits for the process to exit, checking every 20 ms; its exit status.
    ///
    /// # Panics
    /// When it is still running `bound` after the call.
    pub fn wait_exit(&mut self, bound: Duration) -> ExitStatus {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait on axp") {
                return status;
            }
            assert!(Instant::now() < deadline, "axp did not exit within {bound:?}");
            std::thread::sleep(EXIT_POLL);
        }
    }

    /// [`ServeProcess::sigterm`], then [`ServeProcess::wait_exit`] within `bound`.
    pub fn terminate(&mut self, bound: Duration) -> ExitStatus {
        self.sigterm();
        self.wait_exit(bound)
    }

    /// `SIGKILL` (no shutdown, no flush) and reap. Calling it again, or dropping, is harmless.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
