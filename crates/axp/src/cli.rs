//! The command line: `axp <noun> <verb>`, as the `axme` CLI spells it (STYLE.md §8).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{
    admin, agents, approvals, archive, audit, backup, capabilities, completions, config, context, deliveries,
    demo, inbox, intents, invites, login, logs, man, members, orgs, restore, scenarios, serve, status, tasks,
    ui, users, whoami, workspaces,
};
use crate::output::Format;

/// A self-hosted server for the AXP Intent Protocol, and its command-line client.
#[derive(Parser, Debug)]
#[command(
    name = "axp",
    // `axp 0.1.0 (abc123def456)`: the commit comes from build.rs (`AXP_GIT_COMMIT`, else git).
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("AXP_BUILD_COMMIT"), ")"),
    about = "A self-hosted server for the AXP Intent Protocol",
    long_about = "A self-hosted server for the AXP Intent Protocol, and its command-line client.\n\n\
                  Start here: `axp demo` runs a server, an agent and an intent in one go.\n\
                  Exit codes: 0 ok (or the watched intent COMPLETED), 1 error, 2 usage or setup \
                  error, 3 FAILED, 4 CANCELED, 5 TIMED_OUT, 6 --timeout elapsed first.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every client command accepts, before or after the verb.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Global {
    /// Output format: table for people, json or jsonl for scripts.
    #[arg(short = 'o', long, global = true, value_enum, help_heading = "Global options")]
    pub output: Option<Format>,
    /// Same as `-o json`.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// Server URL [env: AXP_URL, AXME_BASE_URL; default: the context's, else http://127.0.0.1:7420].
    #[arg(long, global = true, value_name = "URL", visible_alias = "url", help_heading = "Global options")]
    pub base_url: Option<String>,
    /// API key [env: AXP_API_KEY, AXME_API_KEY; default: the context's, else <data-dir>/admin.key
    /// for a server on this machine].
    #[arg(long, global = true, value_name = "KEY", help_heading = "Global options")]
    pub api_key: Option<String>,
    /// Saved context to use (or, for `login`, to save into) [env: AXP_CONTEXT, AXME_CONTEXT].
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        visible_alias = "context-name",
        help_heading = "Global options"
    )]
    pub context: Option<String>,
    /// Data directory of a local `axp serve`, whose admin.key is used when nothing else gives a
    /// key [env: AXP_DATA_DIR; default: ./axp-data].
    #[arg(long, global = true, value_name = "DIR", help_heading = "Global options")]
    pub data_dir: Option<PathBuf>,
}

impl Global {
    /// The output format chosen by `--json` / `-o`.
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.output.unwrap_or(Format::Table) }
    }
}

/// Every top-level command.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (embedded SQLite; no setup needed).
    Serve(serve::Args),
    /// Apply pending migrations: of a PostgreSQL database (--database-url), or of a stopped
    /// server's SQLite data dir (--data-dir). `axp serve` applies them at start by default.
    Migrate(serve::MigrateArgs),
    /// Back up a running SQLite server into one file, through its admin API (operator key).
    Backup(backup::Args),
    /// Write a new data dir from a backup file (local; `axp serve --data-dir DIR` starts on it).
    Restore(restore::Args),
    /// Show the effective `axp serve` configuration: config file < environment, secrets
    /// redacted (local).
    #[command(subcommand)]
    Config(config::Command),
    /// Open the web dashboard: a one-time login link (5 minutes, single use) opened in the
    /// browser, or printed with --print-url.
    Ui(ui::Args),
    /// Operator views of the whole server: `admin stats`.
    #[command(subcommand)]
    Admin(admin::Command),
    /// Read the archive of finished intents that retention removed (local files, no server).
    #[command(subcommand)]
    Archive(archive::Command),
    /// Run a throwaway server, a report agent and one intent, and watch it complete.
    Demo(demo::Args),
    /// Save a server URL and API key (or a person's actor token, --token) as a named context and
    /// make it active.
    Login(login::Args),
    /// List, switch and show saved contexts.
    #[command(subcommand)]
    Context(context::Command),
    /// Show who the server takes you for: the service account behind the key, or the person
    /// behind an actor token, and their roles.
    Whoami(whoami::Args),
    /// Check that the server is up and the key works.
    Status(status::Args),
    /// Send, inspect, watch and control intents.
    #[command(subcommand, visible_alias = "intent")]
    Intents(intents::Command),
    /// Show an intent's event history.
    Logs(logs::Args),
    /// Answer human tasks (intents waiting for a person).
    #[command(subcommand, visible_alias = "task")]
    Tasks(tasks::Command),
    /// Read and act on inbox threads (one per intent): timeline, replies, delegation.
    #[command(subcommand)]
    Inbox(inbox::Command),
    /// Record approve/reject decisions by approval id.
    #[command(subcommand, visible_alias = "approval")]
    Approvals(approvals::Command),
    /// Show what the server supports and the intent types it knows.
    Capabilities(capabilities::Args),
    /// Validate and apply scenario bundles.
    #[command(subcommand, visible_alias = "scenario")]
    Scenarios(scenarios::Command),
    /// Register agents and manage their keys.
    #[command(subcommand, visible_alias = "agent")]
    Agents(agents::Command),
    /// Inspect pushes to http agents and webhooks; replay dead letters.
    #[command(subcommand, visible_alias = "delivery")]
    Deliveries(deliveries::Command),
    /// Read the organization's audit log: admin and security actions, newest first.
    Audit(audit::Args),
    /// Create, show and change organizations.
    #[command(subcommand, visible_alias = "org")]
    Orgs(orgs::Command),
    /// Create, list and change an organization's workspaces.
    #[command(subcommand, visible_alias = "workspace")]
    Workspaces(workspaces::Command),
    /// List, add, change and remove an organization's members (who holds which role).
    #[command(subcommand, visible_alias = "member")]
    Members(members::Command),
    /// Check, register, rename and resolve people's nicks; show and change profiles.
    #[command(subcommand, visible_alias = "user")]
    Users(users::Command),
    /// Invite people, and accept an invite to become a user.
    #[command(subcommand, visible_alias = "invite")]
    Invites(invites::Command),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish (local).
    Completions(completions::Args),
    /// Print the manual page, or write one per command with --out DIR (local).
    Man(man::Args),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_verb() {
        let cli = Cli::try_parse_from(["axp", "--json", "intents", "get", "x", "--base-url", "http://h:1"])
            .unwrap();
        assert_eq!(cli.global.format(), Format::Json);
        assert_eq!(cli.global.base_url.as_deref(), Some("http://h:1"));
        let cli = Cli::try_parse_from(["axp", "status", "--url", "http://h:2"]).expect("--url is --base-url");
        assert_eq!(cli.global.base_url.as_deref(), Some("http://h:2"));
        let cli = Cli::try_parse_from(["axp", "-o", "jsonl", "--data-dir", "/d", "intents", "list"]).unwrap();
        assert_eq!(cli.global.format(), Format::Jsonl);
        assert_eq!(cli.global.data_dir, Some(PathBuf::from("/d")));
    }

    #[test]
    fn serve_keeps_its_own_flags() {
        let cli = Cli::try_parse_from(["axp", "serve", "--listen", "127.0.0.1:0", "--data-dir", "/srv/axp"])
            .unwrap();
        match cli.command {
            Command::Serve(args) => {
                assert_eq!(args.listen.as_deref(), Some("127.0.0.1:0"));
                assert_eq!(args.data_dir, Some(PathBuf::from("/srv/axp")));
            }
            other => panic!("{other:?}"),
        }
    }
}
