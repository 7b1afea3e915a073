//! `axp serve`: the server, and `axp migrate`. Their flags and stdout lines are a contract with
//! scripts and tests (`crates/axp/tests/crash.rs`, `tests/sdk-python`, `bench/`): keep them as
//! they are.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use axp_server::{Config, Options, Role, Server, Settings};

/// `axp serve` options. A flag wins over the environment, which wins over the config file
/// (`axp config show` prints the result; `axp_server::Settings`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The config file (TOML, keys as `axp config show` lists them) [env: AXP_CONFIG; default:
    /// ./axp.toml when it exists].
    #[arg(long, env = "AXP_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port [env: AXP_LISTEN; default: 127.0.0.1:7420].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Directory for the database and admin.key [env: AXP_DATA_DIR; default: ./axp-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL database shared by every replica (postgres://user@host:5432/db) instead of
    /// SQLite in --data-dir [env: AXP_DATABASE_URL, else DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// What this replica runs: `api` (HTTP API only), `engine` (timers, leases, pushes; only
    /// /health and /ready), or `all` [env: AXP_ROLE; default: all].
    #[arg(long, value_name = "ROLE", value_parser = parse_role)]
    pub role: Option<Role>,
    /// Do not apply pending PostgreSQL migrations at start; refuse to start if any is pending
    /// (run `axp migrate` first) [env: AXP_NO_MIGRATE].
    #[arg(long)]
    pub no_migrate: bool,
    /// PEM certificate chain: serve HTTPS (with --tls-key) [env: AXP_TLS_CERT].
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert [env: AXP_TLS_KEY].
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl Args {
    /// The config file and environment, with this command line's flags over them.
    fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref())?;
        let path = |p: &PathBuf| p.to_string_lossy().into_owned();
        if let Some(listen) = &self.listen {
            settings.set_flag("listen", listen);
        }
        if let Some(dir) = &self.data_dir {
            settings.set_flag("data_dir", path(dir));
        }
        if let Some(url) = &self.database_url {
            settings.set_flag("database_url", url);
        }
        if let Some(role) = self.role {
            settings.set_flag("role", role.to_string());
        }
        if self.no_migrate {
            settings.set_flag("no_migrate", "true");
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            settings.set_flag("tls_cert", path(cert));
            settings.set_flag("tls_key", path(key));
        }
        Ok(settings)
    }
}

/// `axp migrate` options.
#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The PostgreSQL database to migrate [env: AXP_DATABASE_URL, else DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// The config file whose `database_url` or `data_dir` to use [env: AXP_CONFIG; default:
    /// ./axp.toml when it exists].
    #[arg(long, env = "AXP_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The data dir whose SQLite database to migrate (its server must be stopped), when no
    /// PostgreSQL database is given [env: AXP_DATA_DIR].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// `database_url` of the settings (flag, `AXP_DATABASE_URL`, config file), else a `DATABASE_URL`
/// that names PostgreSQL.
fn database_url(settings: &Settings) -> Option<String> {
    settings.var("AXP_DATABASE_URL").or_else(|| {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    })
}

/// The settings, or the exit code after their error was printed.
fn start(settings: anyhow::Result<Settings>) -> Result<Settings, ExitCode> {
    settings.map_err(|e| {
        eprintln!("Error: {e:?}");
        ExitCode::FAILURE
    })
}

/// Runs `f` on a new runtime with logging (and trace export) set up from `settings`; the
/// exporter is flushed before the runtime goes.
fn block_on(settings: &Settings, f: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
        .and_then(|runtime| {
            runtime.block_on(async {
                let telemetry = crate::logs::init(settings)?;
                let result = f.await;
                tokio::task::spawn_blocking(move || telemetry.shutdown()).await.ok();
                result
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the server until SIGINT or SIGTERM; exit code 1 when it cannot start or fails.
pub fn main(args: Args) -> ExitCode {
    match start(args.settings()) {
        Ok(settings) => block_on(&settings.clone(), serve(settings)),
        Err(code) => code,
    }
}

/// `axp migrate`: applies pending migrations and exits (0 when the schema is current): of the
/// PostgreSQL database given, else of the SQLite database in `--data-dir` (its server stopped:
/// the data dir's lock is taken). Exit code 2 when neither is given.
pub fn migrate_main(args: MigrateArgs) -> ExitCode {
    let mut settings = match start(Settings::load(args.config.as_deref())) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    if let Some(url) = &args.database_url {
        settings.set_flag("database_url", url);
    }
    if let Some(dir) = &args.data_dir {
        settings.set_flag("data_dir", dir.to_string_lossy());
    }
    if let Some(url) = database_url(&settings) {
        return block_on(&settings, async move {
            let applied = axp_server::migrate_database(&url).await?;
            if applied.is_empty() {
                println!("the database schema is up to date");
            } else {
                println!("applied migrations {applied:?}");
            }
            Ok(())
        });
    }
    let Some(dir) = settings.var("AXP_DATA_DIR").map(PathBuf::from) else {
        eprintln!("Error: no database: give --database-url postgres://… or --data-dir DIR (SQLite)");
        return ExitCode::from(2);
    };
    block_on(&settings, async move {
        let (from, to) = axp_server::migrate_data_dir(&dir)?;
        if from == to {
            println!("the database schema is up to date (version {to})");
        } else {
            println!("migrated the database from schema version {from} to {to}");
        }
        Ok(())
    })
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Before anything opens a descriptor-hungry pool, and before the default connection cap
    // is derived from the limit.
    axp_server::raise_fd_limit();
    let mut options = Options::from_settings(&settings)?;
    options.database_url = database_url(&settings);
    let var = |name: &str| settings.var(name);
    options.postgres.migrate = !axp_server::flag(&var, "AXP_NO_MIGRATE")?.unwrap_or(false);
    let config = Config {
        listen: settings.var("AXP_LISTEN").unwrap_or_else(|| Config::default().listen),
        data_dir: settings.var("AXP_DATA_DIR").map_or_else(|| Config::default().data_dir, PathBuf::from),
    };
    // Signals are caught from here on: a SIGTERM sent as soon as the "listening" line is read
    // must stop the server gracefully, not kill it.
    let shutdown = shutdown_signal()?;
    let server = Server::build_with(config, options).await?;
    let mut stdout = std::io::stdout().lock();
    if let Some(boot) = server.bootstrapped() {
        writeln!(
            stdout,
            "axp admin API key (shown once; saved to {}): {}",
            boot.key_file.display(),
            boot.api_key
        )?;
    }
    let url = server.url();
    writeln!(stdout, "axp listening on {url}")?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(%url, "axp listening");
    server.run_until(shutdown).await?;
    tracing::info!("axp stopped");
    Ok(())
}

/// Catches SIGINT and SIGTERM from now on; the future resolves on the first of them.
/// Errors: a handler cannot be installed.
pub fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("catching SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("catching SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
            tracing::info!("shutting down");
        })
    }
}
