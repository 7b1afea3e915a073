//! `axp`: the AXP Intent Protocol server and its command-line client in one binary.
//!
//! `axp serve` starts the server with an embedded SQLite store in `--data-dir`. On first start
//! it creates the default organization, workspace and an admin API key, prints the key once and
//! writes it to `<data-dir>/admin.key`. `axp demo` runs a throwaway server with an agent and an
//! intent. Every other command is a client of a running server, built on `axp-client`.
//!
//! # Layout
//!
//! - `cli`: the clap command tree and the global options.
//! - `commands/<noun>/<verb>.rs` (or `commands/<noun>.rs` for small nouns): one command each.
//! - `connect`: which server and API key a command uses (flags, env, contexts, `admin.key`).
//! - `config`: the saved contexts file.
//! - `output`: stdout/stderr rules, JSON and tables, colour.
//! - `watch`: the live lifecycle view shared by `intents watch`, `scenarios apply --watch` and
//!   `demo`.
//! - `exit`: exit codes.
//! - `logs`: `axp serve`'s logs (text or JSON) and its OTLP trace export.

mod cli;
mod commands;
mod config;
mod connect;
mod exit;
mod logs;
mod output;
mod watch;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::output::{Output, Style};

/// jemalloc instead of the system allocator, with its background purge thread on (the
/// `background_threads` feature) and a dirty-page decay of 1 s (`.cargo/config.toml`): pages
/// freed when many SSE streams close go back to the OS within seconds even when the server is
/// idle afterwards (issue 12, "Memory given back"; measured by `bench/run p7`). glibc's malloc
/// keeps such memory in its per-thread arenas, and allocators that purge only on later
/// allocations keep it while idle.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => commands::serve::main(args),
        Command::Migrate(args) => commands::serve::migrate_main(args),
        command => run_client(&cli.global, command),
    }
}

/// Runs a client command (or `demo`) on a fresh runtime and turns its outcome into the exit code.
fn run_client(global: &cli::Global, command: Command) -> ExitCode {
    let out = Output::new(global.format());
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime");
    let result = runtime.and_then(|rt| rt.block_on(commands::run(global, &out, command)));
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            anstream::eprintln!("{} {error:#}", out.paint("error:", Style::Red));
            if let Some(hint) = commands::hint_for(&error) {
                out.tip(&hint);
            }
            exit::for_error(&error).into()
        }
    }
}
