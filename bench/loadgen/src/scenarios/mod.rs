//! The scenarios P1–P6 of issue 3, P7–P8 of issue 12, P9 of issue 14, and P1m, P2c and disk
//! bytes per intent of issue 16, each measured against its baseline in the same run where it has one.

pub mod disk;
pub mod load;
pub mod p1;
pub mod p1m;
pub mod p2;
pub mod p2c;
pub mod p3;
pub mod p4;
pub mod p5;
pub mod p6;
pub mod p7;
pub mod p8;
pub mod p9;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use axp_loadgen::proc::{Axp, AxpOptions};
use serde::Serialize;

use crate::Opts;

/// Whether a target was met.
#[derive(Debug, Clone, Serialize)]
pub enum Verdict {
    /// The measured median meets the target.
    Met,
    /// It does not.
    Missed,
    /// It cannot be measured yet (the reason is given).
    NotMeasurable(String),
}

impl Verdict {
    /// `Met` when `ok`.
    pub fn of(ok: bool) -> Self {
        if ok { Self::Met } else { Self::Missed }
    }

    /// The word used in the report.
    pub fn word(&self) -> String {
        match self {
            Self::Met => "**met**".into(),
            Self::Missed => "**missed**".into(),
            Self::NotMeasurable(why) => format!("not yet measurable ({why})"),
        }
    }
}

/// One scenario's report: a headline, a table with every run, and notes.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// `P1`, `P1b`, …
    pub id: String,
    /// What is measured.
    pub title: String,
    /// The target, as the issue states it.
    pub target: String,
    /// Each checked target with its verdict and measured value.
    pub checks: Vec<(String, Verdict, String)>,
    /// Table header.
    pub header: Vec<String>,
    /// Table rows (one per run, plus a median row).
    pub rows: Vec<Vec<String>>,
    /// Method notes.
    pub notes: Vec<String>,
}

impl Section {
    /// An empty section.
    pub fn new(id: &str, title: &str, target: &str) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            target: target.into(),
            checks: Vec::new(),
            header: Vec::new(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Renders it as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = format!("### {} — {}\n\nTarget: {}\n\n", self.id, self.title, self.target);
        for (what, verdict, value) in &self.checks {
            s.push_str(&format!("- {what}: {} — {value}\n", verdict.word()));
        }
        if !self.header.is_empty() {
            s.push('\n');
            s.push_str(&format!("| {} |\n", self.header.join(" | ")));
            s.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
            for row in &self.rows {
                s.push_str(&format!("| {} |\n", row.join(" | ")));
            }
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                s.push_str(&format!("- {n}\n"));
            }
        }
        s.push('\n');
        s
    }
}

/// What every scenario can reach.
pub struct Ctx {
    /// Command-line options.
    pub opts: Opts,
    /// Where data dirs and logs go (on the real disk: fsync must cost what it costs).
    pub work: PathBuf,
    next: AtomicU64,
}

impl Ctx {
    /// A context writing under `work`.
    pub fn new(opts: Opts, work: PathBuf) -> Self {
        Self { opts, work, next: AtomicU64::new(0) }
    }

    /// The `axp-baseline` binary.
    pub fn baseline_bin(&self) -> &std::path::Path {
        self.opts.baseline_bin.as_deref().unwrap_or_else(|| std::path::Path::new("axp-baseline"))
    }

    /// A fresh, empty directory under the work dir.
    pub fn fresh_dir(&self, label: &str) -> Result<PathBuf> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = self.work.join(format!("{label}-{n}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Starts the release `axp serve` on a fresh data dir (stderr to `<dir>.log`), with the
    /// harness's settings ([`axp_loadgen::proc::HARNESS_ENV`]).
    pub async fn axp(&self, label: &str) -> Result<(Axp, PathBuf)> {
        self.axp_with(label, &[]).await
    }

    /// [`Ctx::axp`] with more environment variables (a scenario's own settings; the scenario
    /// names them in its report notes, see [`settings_note`]).
    pub async fn axp_with(&self, label: &str, env: &[(&str, String)]) -> Result<(Axp, PathBuf)> {
        let dir = self.fresh_dir(label)?;
        Ok((self.axp_on(&dir, env).await?, dir))
    }

    /// Starts the release `axp serve` on `dir`, which may hold the data of an earlier server
    /// (stderr appended to `<dir>.log`), with the harness's settings and `env`.
    pub async fn axp_on(&self, dir: &std::path::Path, env: &[(&str, String)]) -> Result<Axp> {
        let mut opts = AxpOptions::new(&self.opts.axp_bin, dir);
        opts.log_file = Some(dir.with_extension("log"));
        for (name, value) in env {
            opts.set_env(name, value);
        }
        Axp::start(&opts).await
    }

    /// Deletes a data dir made by [`Ctx::fresh_dir`] (keeps the disk from filling).
    pub fn discard(&self, dir: &PathBuf) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The report note naming a scenario's own server settings.
pub fn settings_note(env: &[(&str, String)]) -> String {
    let list: Vec<String> = env.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
    format!("Server settings for this scenario, besides the harness's: {}.", list.join(", "))
}

/// The stream caps of a scenario that opens `n` streams with one key: high enough for all of
/// them (the defaults are 1,000 per key and 10,000 per workspace).
pub fn stream_caps_for(n: usize) -> Vec<(&'static str, String)> {
    let cap = (n + 1000).to_string();
    vec![("AXP_MAX_STREAMS_PER_KEY", cap.clone()), ("AXP_MAX_STREAMS_PER_WORKSPACE", cap)]
}

/// `x` seconds as a duration (0 for NaN, negative or out-of-range input).
pub fn secs(x: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(x).unwrap_or_default()
}

/// Formats a rate (per second).
pub fn rate(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else if x >= 1000.0 {
        format!("{:.1}k", x / 1000.0)
    } else {
        format!("{x:.0}")
    }
}

/// Formats microseconds as milliseconds.
/// Bytes as KB (10^3), one decimal; `–` for NaN.
pub fn kb(bytes: f64) -> String {
    if bytes.is_nan() { "–".into() } else { format!("{:.1} KB", bytes / 1e3) }
}

/// Microseconds as milliseconds: two decimals below 10 ms, one above; `–` for NaN.
pub fn ms(us: f64) -> String {
    if us.is_nan() {
        "–".into()
    } else if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// Formats a ratio.
pub fn ratio(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.2}")
    }
}
