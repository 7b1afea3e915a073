//! The deployment recipes in `packaging/` (docs/deploy.md), checked without a Docker daemon or a
//! running systemd: the image runs as a non-root user with its data dir as a volume, the Compose
//! file has PostgreSQL with a health check and three replicas on it, and every `AXP_*` variable
//! they use is a documented setting. Where the tools exist, `docker compose config` and
//! `systemd-analyze verify` check the files too; where they do not, the test says so on stderr.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_norway::Value;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every setting's environment variable: the rows of docs/configuration.md's table
/// (`` | `key` | `AXP_KEY` | … ``), which a test of axp-server keeps complete.
fn settings() -> BTreeSet<String> {
    let doc = read("docs/configuration.md");
    let row = Regex::new(r"^\| `[a-z0-9_]+` \| `(AXP_[A-Z0-9_]+)` \|").unwrap();
    let names: BTreeSet<String> =
        doc.lines().filter_map(|l| row.captures(l)).map(|c| c[1].to_owned()).collect();
    assert!(
        names.len() >= 40 && names.contains("AXP_DATABASE_URL"),
        "the settings table was read: {names:?}"
    );
    names
}

/// Variables that are not `axp serve` settings but build inputs (crates/axp/build.rs).
const BUILD_VARIABLES: [&str; 1] = ["AXP_GIT_COMMIT"];

/// The Dockerfile's stages: (the `FROM` line, the instructions after it, continuations joined).
fn stages(dockerfile: &str) -> Vec<(String, Vec<String>)> {
    let mut stages: Vec<(String, Vec<String>)> = Vec::new();
    let mut pending = String::new();
    for line in dockerfile.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        pending.push_str(line.trim_end_matches('\\'));
        if line.ends_with('\\') {
            pending.push(' ');
            continue;
        }
        let instruction = std::mem::take(&mut pending);
        if instruction.starts_with("FROM ") {
            stages.push((instruction, Vec::new()));
        } else if let Some((_, body)) = stages.last_mut() {
            body.push(instruction);
        }
    }
    stages
}

#[test]
fn the_image_runs_as_a_user_with_its_data_dir_as_a_volume() {
    let dockerfile = read("packaging/Dockerfile");
    let stages = stages(&dockerfile);
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");

    let (builder, build) = &stages[0];
    let toolchain = read("rust-toolchain.toml");
    let channel =
        Regex::new(r#"channel\s*=\s*"([^"]+)""#).unwrap().captures(&toolchain).unwrap()[1].to_owned();
    assert!(builder.starts_with(&format!("FROM rust:{channel}")), "the toolchain's rust image: {builder}");
    assert!(
        build.iter().any(|i| i.starts_with("RUN") && i.contains("cargo build --release --locked -p axp")),
        "{build:?}"
    );
    assert!(build.iter().any(|i| i == "ARG AXP_GIT_COMMIT"), "the commit reaches build.rs: {build:?}");

    let (runtime, run) = stages.last().unwrap();
    let last = |keyword: &str| {
        run.iter()
            .rev()
            .find_map(|i| i.strip_prefix(keyword).map(str::trim))
            .unwrap_or_else(|| panic!("no {keyword}in the runtime stage ({runtime}): {run:?}"))
    };
    let user = last("USER ");
    let name = user.split(':').next().unwrap();
    assert!(!["root", "0"].contains(&name), "the runtime user is not root: {user}");
    assert!(last("VOLUME ").contains("\"/var/lib/axp\""), "the data dir is a volume");
    assert!(
        run.iter().any(|i| i.contains("/var/lib/axp") && i.starts_with("COPY") && i.contains("--chown=")),
        "the data dir belongs to the runtime user: {run:?}"
    );
    assert_eq!(last("ENTRYPOINT "), r#"["axp"]"#);
    let cmd: Vec<String> = serde_json::from_str(last("CMD ")).expect("CMD in exec form");
    assert_eq!(cmd[0], "serve");
    assert!(
        cmd.iter().any(|a| a.starts_with("0.0.0.0:")),
        "listens beyond the container's loopback: {cmd:?}"
    );

    // The port is the `listen` setting's default.
    let doc = read("docs/configuration.md");
    let port =
        Regex::new(r"\| `listen` \| `AXP_LISTEN` \| `[0-9.]+:(\d+)` \|").unwrap().captures(&doc).unwrap()[1]
            .to_owned();
    assert_eq!(last("EXPOSE "), port);
    assert!(cmd.contains(&format!("0.0.0.0:{port}")), "{cmd:?}");

    let ignore = read(".dockerignore");
    for entry in [".git", "target"] {
        assert!(ignore.lines().any(|l| l.trim() == entry), ".dockerignore leaves out {entry}");
    }
}

#[test]
fn compose_runs_three_replicas_on_a_healthy_postgres() {
    let mut compose: Value =
        serde_norway::from_str(&read("packaging/compose.yaml")).expect("compose.yaml is YAML");
    compose.apply_merge().expect("its merge keys resolve");
    let services = compose["services"].as_mapping().expect("services");
    let service = |name: &str| services.get(name).unwrap_or_else(|| panic!("service {name}"));

    let postgres = service("postgres");
    assert!(postgres["image"].as_str().is_some_and(|i| i.starts_with("postgres:")), "{postgres:?}");
    assert!(postgres["healthcheck"]["test"].is_sequence(), "postgres has a health check: {postgres:?}");
    assert!(postgres["volumes"].as_sequence().is_some_and(|v| !v.is_empty()), "postgres keeps its data");

    let replicas: Vec<(&str, &Value)> = services
        .iter()
        .filter(|(_, s)| s["image"].as_str().is_some_and(|i| i.starts_with("axp")))
        .map(|(name, s)| (name.as_str().unwrap(), s))
        .collect();
    assert_eq!(
        replicas.len(),
        3,
        "three axp replicas: {:?}",
        replicas.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let mut host_ports = BTreeSet::new();
    for (name, replica) in &replicas {
        assert_eq!(replica["build"]["dockerfile"].as_str(), Some("packaging/Dockerfile"), "{name}");
        assert_eq!(
            replica["depends_on"]["postgres"]["condition"].as_str(),
            Some("service_healthy"),
            "{name}"
        );
        let env = &replica["environment"];
        let url = env["AXP_DATABASE_URL"].as_str().unwrap_or_else(|| panic!("{name}: AXP_DATABASE_URL"));
        assert!(url.starts_with("postgres://") && url.contains("@postgres:5432/"), "{name}: {url}");
        assert!(env["AXP_BOOTSTRAP_KEY"].is_string(), "{name}: every replica knows the admin key");
        let ports = replica["ports"].as_sequence().unwrap_or_else(|| panic!("{name}: ports"));
        assert_eq!(ports.len(), 1, "{name}");
        let mapping = ports[0].as_str().unwrap();
        assert!(mapping.ends_with(":7420"), "{name}: {mapping}");
        assert!(host_ports.insert(mapping.to_owned()), "{name}: its own host port, {mapping}");
        assert!(
            replica["volumes"]
                .as_sequence()
                .is_some_and(|v| v.iter().any(|v| v.as_str().is_some_and(|v| v.ends_with(":/var/lib/axp"))))
        );
    }
}

#[test]
fn every_axp_variable_is_a_setting() {
    let settings = settings();
    let variable = Regex::new(r"\bAXP_[A-Z0-9_]*[A-Z0-9]\b").unwrap();
    let mut checked = 0;
    for file in ["packaging/Dockerfile", "packaging/compose.yaml", "packaging/axp.service"] {
        for found in variable.find_iter(&read(file)) {
            let name = found.as_str();
            assert!(
                settings.contains(name) || BUILD_VARIABLES.contains(&name),
                "{file} uses {name}, which is no setting in docs/configuration.md"
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "the files were read ({checked} variables)");
}

#[test]
fn docker_compose_accepts_the_file_where_it_is_installed() {
    let works =
        Command::new("docker").args(["compose", "version"]).output().is_ok_and(|o| o.status.success());
    if !works {
        eprintln!(
            "`docker compose` is not installed: packaging/compose.yaml is checked by this test's parser only"
        );
        return;
    }
    let output = Command::new("docker")
        .args(["compose", "-f", "packaging/compose.yaml", "config", "-q"])
        .current_dir(root())
        .env(
            "AXP_BOOTSTRAP_KEY",
            "axme_sa_01970000-0000-7000-8000-00000000a11c_0123456789abcdef0123456789abcdef",
        )
        .output()
        .expect("docker compose");
    assert!(output.status.success(), "docker compose config: {}", String::from_utf8_lossy(&output.stderr));
    // Without the admin key it refuses: the replicas would not share one.
    let refused = Command::new("docker")
        .args(["compose", "-f", "packaging/compose.yaml", "config", "-q"])
        .current_dir(root())
        .env_remove("AXP_BOOTSTRAP_KEY")
        .output()
        .expect("docker compose");
    assert!(!refused.status.success(), "compose starts without AXP_BOOTSTRAP_KEY");
}

#[test]
fn systemd_accepts_the_unit_where_it_is_installed() {
    let unit = read("packaging/axp.service");
    for line in [
        "Type=simple",
        "DynamicUser=yes",
        "StateDirectory=axp",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "EnvironmentFile=-/etc/axp/axp.env",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit has {line}");
    }
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    assert!(
        exec.starts_with("/usr/local/bin/axp serve ") && exec.contains("--data-dir /var/lib/axp"),
        "{exec}"
    );
    let nofile: u64 =
        unit.lines().find_map(|l| l.strip_prefix("LimitNOFILE=")).expect("LimitNOFILE").parse().unwrap();
    assert!(nofile >= 65536, "room for many SSE streams: {nofile}");

    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("systemd-analyze is not installed: packaging/axp.service is checked by its lines only");
        return;
    }
    // verify wants ExecStart's binary to exist: point it at the one just built.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("axp.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/axp", env!("CARGO_BIN_EXE_axp"))).unwrap();
    let output = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Unknown keys are only warned about (exit 0), naming the file.
    assert!(
        output.status.success() && !stderr.contains(path.to_str().unwrap()),
        "systemd-analyze verify: {stderr}"
    );
}

/// The binary's jemalloc was built with `.cargo/config.toml`'s defaults (issue 12, "Memory given
/// back"): the background purge thread and a 1 s dirty-page decay. jemalloc prints its options
/// at exit when asked to through its (prefixed) environment variable (`mdablxe`: only the
/// general part, where the options are).
#[test]
fn jemalloc_purges_freed_pages_within_a_second() {
    let out = Command::new(env!("CARGO_BIN_EXE_axp"))
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "stats_print:true,stats_print_opts:mdablxe")
        .output()
        .expect("run axp --version");
    assert!(out.status.success(), "{out:?}");
    let stats = String::from_utf8_lossy(&out.stderr);
    for option in ["opt.background_thread: true", "opt.dirty_decay_ms: 1000 "] {
        assert!(stats.contains(option), "`{option}` in jemalloc's options:\n{stats}");
    }
}
