//! How the CLI finds its server and key: `login` and contexts (under `XDG_CONFIG_HOME`), the
//! `AXP_*` and `AXME_*` variables, and `<data-dir>/admin.key` for a local server; `status`,
//! `whoami`, output rules and usage errors.

use crate::helpers::{Server, Shell, assert_plain, assert_snapshot};

#[tokio::test]
async fn login_saves_contexts_and_commands_use_them() {
    let server = Server::start().await;
    let other = Server::start().await;
    let sh = Shell::new();

    // Nothing configured, nothing local: a usage error that says what to do.
    let none = sh.run(&["whoami"]).await.expect(2);
    assert!(none.stderr.contains("axp login"), "{none}");

    let login = sh
        .run(&[
            "login",
            "--base-url",
            &server.url,
            "--api-key",
            &server.admin_key,
            "--context",
            "local",
            "--json",
        ])
        .await
        .expect(0);
    assert_snapshot("login", &login.json());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sh.config_file()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }

    let me = sh.run(&["whoami", "--json"]).await.expect(0);
    assert_snapshot("whoami", &me.json());

    // A key the server rejects is not saved.
    let bogus = "axme_sa_0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e_nope";
    let refused =
        sh.run(&["login", "--base-url", &other.url, "--api-key", bogus, "--context", "bad"]).await.expect(2);
    assert!(refused.stderr.contains("does not accept"), "{refused}");

    sh.run(&["login", "--base-url", &other.url, "--api-key", &other.admin_key, "--context", "other"])
        .await
        .expect(0);
    let list = sh.run(&["context", "list", "--json"]).await.expect(0);
    assert_snapshot("context_list", &list.json());
    let table = sh.run(&["context", "list"]).await.expect(0);
    assert!(table.stdout.lines().any(|l| l.starts_with('*') && l.contains("other")), "{table}");
    assert_plain(&table);

    // The active context is `other`; --context picks another one for one command.
    let shown = sh.run(&["context", "show", "--json"]).await.expect(0).json();
    assert_eq!(shown["base_url"], other.url.as_str());
    let shown = sh.run(&["--context", "local", "context", "show", "--json"]).await.expect(0).json();
    assert_eq!(shown["base_url"], server.url.as_str());
    assert_eq!(shown["api_key_from"], "context \"local\"");

    sh.run(&["context", "use", "local"]).await.expect(0);
    let shown = sh.run(&["context", "show", "--json"]).await.expect(0).json();
    assert_eq!(shown["context"], "local");
    sh.run(&["context", "use", "nope"]).await.expect(2);
    sh.run(&["--context", "nope", "whoami"]).await.expect(2);

    // A context's key is never sent to another server named by the environment.
    let sh = sh.env("AXP_URL", &other.url);
    let shown = sh.run(&["context", "show", "--json"]).await.expect(0).json();
    assert_eq!(shown["api_key"], serde_json::Value::Null, "{shown}");
}

#[tokio::test]
async fn environment_variables_and_the_local_admin_key() {
    let server = Server::start().await;
    let who = |run: crate::helpers::Run| run.expect(0).json()["service_account"]["agent_address"].clone();

    // AXP_URL + AXP_API_KEY.
    let sh = Shell::new().env("AXP_URL", &server.url).env("AXP_API_KEY", &server.admin_key);
    assert_eq!(who(sh.run(&["whoami", "--json"]).await), "agent://default/default/admin");
    // The official SDKs' names.
    let sh = Shell::new().env("AXME_BASE_URL", &server.url).env("AXME_API_KEY", &server.admin_key);
    assert_eq!(who(sh.run(&["whoami", "--json"]).await), "agent://default/default/admin");
    // AXP_* wins over AXME_*.
    let sh = Shell::new()
        .env("AXME_BASE_URL", "http://127.0.0.1:9")
        .env("AXP_URL", &server.url)
        .env("AXP_API_KEY", &server.admin_key);
    sh.run(&["whoami"]).await.expect(0);

    // No key anywhere but the server's data directory: --data-dir, AXP_DATA_DIR, ./axp-data.
    let sh = Shell::new().env("AXP_URL", &server.url);
    let data_dir = server.data_dir.to_str().unwrap();
    let run = sh.run(&["whoami", "--data-dir", data_dir, "--json"]).await;
    assert!(run.json()["api_key_from"].as_str().unwrap().ends_with("admin.key"), "{run}");
    assert_eq!(who(run), "agent://default/default/admin");
    let sh_env = Shell::new().env("AXP_URL", &server.url).env("AXP_DATA_DIR", data_dir);
    sh_env.run(&["intents", "list"]).await.expect(0);
    let sh_cwd = Shell::new().env("AXP_URL", &server.url).cwd(server.data_dir.parent().unwrap());
    sh_cwd.run(&["intents", "list"]).await.expect(0);
    // …and a login needs no --api-key then.
    let login = sh_cwd.run(&["login", "--base-url", &server.url, "--json"]).await.expect(0);
    assert_eq!(login.json()["agent_address"], "agent://default/default/admin");

    // A wrong key from the environment is the server's refusal (1), with a hint.
    let sh = Shell::new()
        .env("AXP_URL", &server.url)
        .env("AXP_API_KEY", "axme_sa_0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e_x");
    let run = sh.run(&["intents", "list"]).await.expect(1);
    assert!(run.stderr.contains("401") && run.stderr.contains("axp login"), "{run}");
}

#[tokio::test]
async fn status_help_usage_and_colour() {
    let server = Server::start().await;
    let sh = Shell::for_server(&server);
    let status = sh.run(&["status", "--json"]).await.expect(0);
    assert_snapshot("status", &status.json());
    let table = sh.run(&["status"]).await.expect(0);
    assert!(table.stdout.contains("ok as agent://default/default/admin"), "{table}");

    // Nothing listens on port 9 of the loopback: exit 1 and a hint.
    let down = Shell::new().env("AXP_URL", "http://127.0.0.1:9").env("AXP_API_KEY", "k");
    let run = down.run(&["status"]).await.expect(1);
    assert!(run.stderr.contains("axp serve"), "{run}");

    let help = sh.run(&["--help"]).await.expect(0);
    for noun in ["serve", "demo", "login", "intents", "tasks", "scenarios", "agents", "logs"] {
        assert!(help.stdout.contains(noun), "{noun}\n{help}");
    }
    sh.run(&["intents", "send", "--bogus"]).await.expect(2);
    sh.run(&["--output", "xml", "intents", "list"]).await.expect(2);

    // Colour only when asked for a pipe, and never with NO_COLOR.
    let forced = Shell::for_server(&server).env("CLICOLOR_FORCE", "1");
    let run = forced.run(&["intents", "list", "--status", "SUBMITTED"]).await.expect(0);
    assert!(run.stdout.contains("\u{1b}[1m"), "{run}");
    let run = forced.env("NO_COLOR", "1").run(&["intents", "list"]).await.expect(0);
    assert_plain(&run);
}
