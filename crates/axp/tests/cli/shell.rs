//! What the binary says about itself: `axp --version` with the git commit it was built from.

use std::process::Command;

use crate::helpers::Shell;

/// `git rev-parse --short=12 HEAD` in this crate, when git and a repository are there.
fn git_head() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let head = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !head.is_empty()).then_some(head)
}

#[tokio::test]
async fn version_names_the_commit() {
    let run = Shell::new().run(&["--version"]).await.expect(0);
    let line = run.stdout.trim();
    let commit = line
        .strip_prefix(concat!("axp ", env!("CARGO_PKG_VERSION"), " ("))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("`axp <version> (<commit>)`: {run}"));
    // build.rs takes AXP_GIT_COMMIT over git; a build made with it set names that instead.
    match (std::env::var("AXP_GIT_COMMIT").ok().filter(|c| !c.trim().is_empty()), git_head()) {
        (Some(forced), _) => assert_eq!(commit, forced.trim(), "AXP_GIT_COMMIT wins"),
        (None, Some(head)) => assert_eq!(commit, head, "the commit HEAD names"),
        (None, None) => {
            eprintln!("no git here: only checking the shape");
            assert_eq!(commit, "unknown");
        }
    }
    let sub = Shell::new().run(&["intents", "--version"]).await.expect(0);
    assert!(sub.stdout.contains(&format!("({commit})")), "subcommands say it too: {sub}");
}
