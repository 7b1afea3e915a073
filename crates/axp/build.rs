//! Puts the git commit the binary was built from into `AXP_BUILD_COMMIT`, which `axp --version`
//! prints (`axp 0.1.0 (abc123def456)`; issue 15, "Packaging").
//!
//! The commit is, first match wins:
//! 1. the `AXP_GIT_COMMIT` environment variable, when set and not empty (a Docker build without
//!    `.git` passes it as a build argument);
//! 2. `git rev-parse --short=12 HEAD` in this crate's directory;
//! 3. `unknown` (a source tarball, no git installed).
//!
//! Cargo reruns this script when `AXP_GIT_COMMIT` changes and when HEAD moves: it watches the
//! git dir's `HEAD` (in a worktree, `.git` is a file and the git dir is
//! `<main>/.git/worktrees/<name>`), the branch's ref file and `packed-refs` in the common git
//! dir. Files that do not exist are not watched (cargo would rerun on every build).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=AXP_GIT_COMMIT");
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let commit = match std::env::var("AXP_GIT_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => {
            watch_head(&manifest_dir);
            git(&manifest_dir, &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
        }
    };
    println!("cargo:rustc-env=AXP_BUILD_COMMIT={commit}");
}

/// The trimmed stdout of `git <args>` run in `dir`, or `None` when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// Tells cargo to rerun when HEAD or the branch it names changes.
fn watch_head(dir: &Path) {
    // `git rev-parse` prints these relative to `dir` unless they are elsewhere.
    let resolve = |p: String| dir.join(p);
    let Some(git_dir) = git(dir, &["rev-parse", "--git-dir"]).map(resolve) else { return };
    let common_dir =
        git(dir, &["rev-parse", "--git-common-dir"]).map(resolve).unwrap_or_else(|| git_dir.clone());
    let head = git_dir.join("HEAD");
    let mut watched = vec![head.clone(), common_dir.join("packed-refs")];
    if let Some(reference) =
        std::fs::read_to_string(&head).ok().and_then(|h| h.strip_prefix("ref:").map(|r| r.trim().to_owned()))
    {
        watched.push(git_dir.join(&reference));
        watched.push(common_dir.join(&reference));
    }
    for path in watched.into_iter().filter(|p| p.is_file()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
