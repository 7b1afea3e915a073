//! `axp man [--out DIR]`: manual pages in roff (clap_mangen), from the same command tree as
//! `--help`. Without `--out`, the top page (`axp(1)`) on stdout; with it, one page per command
//! and subcommand (`axp.1`, `axp-intents.1`, `axp-intents-send.1`, …) written into DIR.
//! Local: no server is asked.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::exit::Exit;
use crate::output::Output;

/// `axp man` options.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Read one: axp man | man -l -    Install all: axp man --out /usr/local/share/man/man1"
)]
pub struct Args {
    /// Write every page into this directory (created if missing) instead of the top page to
    /// stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Prints the top page, or writes them all into `--out`.
pub fn run(out: &Output, args: Args) -> anyhow::Result<Exit> {
    let command = Cli::command();
    match args.out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            out.text(&String::from_utf8(page)?);
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("writing pages into {}", dir.display()))?;
            out.note(&format!("wrote {} pages into {}", pages(&Cli::command()), dir.display()));
        }
    }
    Ok(Exit::Ok)
}

/// How many pages `generate_to` writes for `command`: its own and one per visible subcommand,
/// recursively (`help` has none).
fn pages(command: &clap::Command) -> usize {
    1 + command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(pages)
        .sum::<usize>()
}
