//! The harness: the real `axp` binary, a real `axp serve` on port 0, JSON snapshots with the
//! varying parts (ids, timestamps, keys, ports) redacted.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::LazyLock;

use axp_test_util::binary::{ServeCommand, ServeProcess};
use regex::Regex;
use serde_json::Value;
use tokio::process::Command;

pub const AXP: &str = env!("CARGO_BIN_EXE_axp");

/// Variables the CLI reads; every run starts without them, so the host's setup never leaks in.
const CLI_ENV: [&str; 10] = [
    "AXP_URL",
    "AXP_API_KEY",
    "AXP_CONTEXT",
    "AXP_DATA_DIR",
    "AXME_BASE_URL",
    "AXME_API_KEY",
    "AXME_CONTEXT",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "RUST_LOG",
];

/// `axp serve` on a free port over a fresh data directory; killed on drop.
pub struct Server {
    _process: ServeProcess,
    pub url: String,
    pub admin_key: String,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server in `<tmp>/axp-data` and waits for its `axp listening on` line (no sleeps).
    pub async fn start() -> Self {
        Self::start_with_env(&[]).await
    }

    /// [`Server::start`] with extra environment variables for `axp serve`. Async for its callers;
    /// the start itself is the harness's blocking read of the URL line.
    pub async fn start_with_env(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("axp-data");
        let process = ServeCommand::new(AXP, &data_dir).env_remove(CLI_ENV).envs(vars).start();
        let (url, admin_key) = (process.url().to_owned(), process.admin_key());
        Self { _process: process, url, admin_key, data_dir, _dir: dir }
    }

    /// An SDK client with the admin key.
    pub fn client(&self) -> axp_client::Client {
        axp_client::Client::new(&self.url, &self.admin_key)
    }
}

/// What a run of the CLI produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as one JSON value.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// stdout as JSON lines.
    pub fn jsonl(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\n{self}")))
            .collect()
    }

    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "unexpected exit code\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// One user's shell: its own config home and working directory, and the environment it sets.
pub struct Shell {
    pub home: tempfile::TempDir,
    pub cwd: PathBuf,
    env: Vec<(String, String)>,
}

impl Shell {
    /// A shell with an empty config and a scratch working directory.
    pub fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        let cwd = home.path().join("work");
        std::fs::create_dir_all(&cwd).unwrap();
        Self { home, cwd, env: Vec::new() }
    }

    /// A shell whose environment points at `server` with its admin key (`AXP_URL`/`AXP_API_KEY`).
    pub fn for_server(server: &Server) -> Self {
        Self::new().env("AXP_URL", &server.url).env("AXP_API_KEY", &server.admin_key)
    }

    /// Sets an environment variable for later runs.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Runs in another working directory.
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = dir.to_path_buf();
        self
    }

    /// The config file `axp login` writes.
    pub fn config_file(&self) -> PathBuf {
        self.home.path().join("config").join("axp").join("config.json")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(AXP);
        command
            .args(args)
            .current_dir(&self.cwd)
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("HOME", self.home.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for name in CLI_ENV {
            command.env_remove(name);
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
    }

    /// Runs `axp args…` to completion.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None).await
    }

    /// Runs `axp args…` with `stdin` as its standard input.
    pub async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = self.command(args);
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn axp");
        if let Some(text) = stdin {
            use tokio::io::AsyncWriteExt;
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(text.as_bytes()).await.unwrap();
            drop(pipe);
        }
        let output = tokio::time::timeout(std::time::Duration::from_secs(90), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("axp {args:?} did not finish within 90 s"))
            .unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

static UUID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap());
static TIMESTAMP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})").unwrap());
static KEY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"axme_sa_[0-9a-f-]{36}_[A-Za-z0-9_-]+").unwrap());
static HINT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\*\*\*\*.{1,4}$").unwrap());
static LOCAL_URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"http://127\.0\.0\.1:\d+").unwrap());
static TMP_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^/.*/(axp/config\.json|admin\.key)$").unwrap());

/// `text` with ids, timestamps, keys and local URLs replaced by placeholders.
pub fn redact_str(text: &str) -> String {
    let text = KEY.replace_all(text, "[api_key]");
    let text = UUID.replace_all(&text, "[uuid]");
    let text = TIMESTAMP.replace_all(&text, "[timestamp]");
    let text = LOCAL_URL.replace_all(&text, "[url]");
    let text = HINT.replace_all(&text, "[key_hint]");
    TMP_PATH.replace_all(&text, "[path]/$1").into_owned()
}

/// `value` with every string redacted by [`redact_str`].
pub fn redact(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(redact_str(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), redact(v))).collect()),
        other => other.clone(),
    }
}

/// Compares the redacted `value` with `snapshots/<name>.json`. A missing snapshot is written as
/// `<name>.json.new` and fails the test; `AXP_UPDATE_SNAPSHOTS=1` (re)writes snapshots instead.
#[track_caller]
pub fn assert_snapshot(name: &str, value: &Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/snapshots");
    let path = dir.join(format!("{name}.json"));
    let actual = format!("{}\n", serde_json::to_string_pretty(&redact(value)).unwrap());
    if std::env::var_os("AXP_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) => {
            assert_eq!(expected, actual, "snapshot {name} differs (AXP_UPDATE_SNAPSHOTS=1 to accept)")
        }
        Err(_) => {
            let new = dir.join(format!("{name}.json.new"));
            std::fs::write(&new, &actual).unwrap();
            panic!(
                "no snapshot {name}; wrote {} (review, then rename or set AXP_UPDATE_SNAPSHOTS=1)",
                new.display()
            );
        }
    }
}

/// Asserts that no output of `run` carries ANSI escapes (pipes are not terminals).
#[track_caller]
pub fn assert_plain(run: &Run) {
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'),
        "escape codes in piped output\n{run}"
    );
}
