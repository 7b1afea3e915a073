//! `axp serve`: the server, and `axp migrate`. Their flags and stdout lines are a contract with
//! scripts and tests (`crates/axp/tests/crash.rs`, `tests/sdk-python`, `bench/`): keep them as
//! they are.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use axp_server::{Config, Options, Role, Server, TlsFiles};

/// `axp serve` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "AXP_LISTEN", default_value = "127.0.0.1:7420")]
    pub listen: String,
    /// Directory for the database and admin.key.
    #[arg(long, env = "AXP_DATA_DIR", default_value = "./axp-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL database shared by every replica (postgres://user@host:5432/db) instead of
    /// SQLite in --data-dir [env: AXP_DATABASE_URL, else DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// What this replica runs: `api` (HTTP API only), `engine` (timers, leases, pushes; only
    /// /health and /ready), or `all`.
    #[arg(long, env = "AXP_ROLE", default_value = "all", value_parser = parse_role)]
    pub role: Role,
    /// Do not apply pending PostgreSQL migrations at start; refuse to start if any is pending
    /// (run `axp migrate` first).
    #[arg(long, env = "AXP_NO_MIGRATE")]
    pub no_migrate: bool,
    /// PEM certificate chain: serve HTTPS (with --tls-key) [env: AXP_TLS_CERT].
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert [env: AXP_TLS_KEY].
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// `axp migrate` options.
#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The PostgreSQL database to migrate [env: AXP_DATABASE_URL, else DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// The data dir whose SQLite database to migrate (its server must be stopped), when no
    /// PostgreSQL database is given [env: AXP_DATA_DIR].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// `--database-url`, else `AXP_DATABASE_URL`, else a `DATABASE_URL` that names PostgreSQL.
fn database_url(flag: Option<String>) -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    flag.or_else(|| var("AXP_DATABASE_URL")).or_else(|| {
        var("DATABASE_URL").filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    })
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,axp=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

fn block_on(f: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
        .and_then(|runtime| runtime.block_on(f));
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
    init_tracing();
    block_on(serve(args))
}

/// `axp migrate`: applies pending migrations and exits (0 when the schema is current): of the
/// PostgreSQL database given, else of the SQLite database in `--data-dir` (its server stopped:
/// the data dir's lock is taken). Exit code 2 when neither is given.
pub fn migrate_main(args: MigrateArgs) -> ExitCode {
    init_tracing();
    if let Some(url) = database_url(args.database_url) {
        return block_on(async move {
            let applied = axp_server::migrate_database(&url).await?;
            if applied.is_empty() {
                println!("the database schema is up to date");
            } else {
                println!("applied migrations {applied:?}");
            }
            Ok(())
        });
    }
    let Some(dir) = args.data_dir.or_else(|| std::env::var_os("AXP_DATA_DIR").map(PathBuf::from)) else {
        eprintln!("Error: no database: give --database-url postgres://… or --data-dir DIR (SQLite)");
        return ExitCode::from(2);
    };
    match axp_server::migrate_data_dir(&dir) {
        Ok((from, to)) if from == to => {
            println!("the database schema is up to date (version {to})");
            ExitCode::SUCCESS
        }
        Ok((from, to)) => {
            println!("migrated the database from schema version {from} to {to}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    // Before anything opens a descriptor-hungry pool, and before the default connection cap
    // is derived from the limit.
    axp_server::raise_fd_limit();
    let mut options = Options::from_env()?;
    options.database_url = database_url(args.database_url);
    options.role = args.role;
    options.postgres.migrate = !args.no_migrate;
    if let Some(tls) = TlsFiles::pair(args.tls_cert, args.tls_key)? {
        options.transport.tls = Some(tls);
    }
    // Signals are caught from here on: a SIGTERM sent as soon as the "listening" line is read
    // must stop the server gracefully, not kill it.
    let shutdown = shutdown_signal()?;
    let server = Server::build_with(Config { listen: args.listen, data_dir: args.data_dir }, options).await?;
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
