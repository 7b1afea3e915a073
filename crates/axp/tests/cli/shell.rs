//! What the binary says about itself: `axp --version` with the git commit it was built from,
//! shell completions and manual pages. All local: no server.

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

#[tokio::test]
async fn completions_know_the_commands() {
    let sh = Shell::new();
    let bash = sh.run(&["completions", "bash"]).await.expect(0);
    assert!(bash.stdout.contains("complete -F _axp"), "a bash completion script: {bash}");
    for word in ["intents", "serve", "completions", "--base-url", "watch"] {
        assert!(bash.stdout.contains(word), "{word} is completed\n{bash}");
    }
    assert!(bash.stderr.is_empty(), "{bash}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let run = sh.run(&["completions", shell]).await.expect(0);
        assert!(run.stdout.contains("intents"), "{shell}: {run}");
    }
    sh.run(&["completions", "tcsh"]).await.expect(2);
}

#[tokio::test]
async fn man_pages_for_every_command() {
    let sh = Shell::new();
    let top = sh.run(&["man"]).await.expect(0);
    assert!(top.stdout.contains(".TH axp 1"), "{top}");
    assert!(top.stdout.contains("intents"), "the top page lists the commands: {top}");

    let dir = sh.cwd.join("man1");
    let run = sh.run(&["man", "--out", dir.to_str().unwrap()]).await.expect(0);
    assert!(run.stdout.is_empty() && run.stderr.contains("pages into"), "{run}");
    for page in ["axp.1", "axp-intents.1", "axp-intents-send.1", "axp-serve.1", "axp-completions.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}: {text}");
    }
    let send = std::fs::read_to_string(dir.join("axp-intents-send.1")).unwrap();
    assert!(send.contains("intent\\-type"), "the page documents the flags: {send}");
    assert!(!dir.join("axp-help.1").exists(), "no page for `help`");
}
