//! `axp completions <shell>`: the shell completion script for `axp` (clap_complete), on stdout.
//! Local: no server is asked.

use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::exit::Exit;
use crate::output::Output;

/// `axp completions` options.
#[derive(clap::Args, Debug)]
#[command(after_help = "Install, for example:\n  \
    bash: axp completions bash > ~/.local/share/bash-completion/completions/axp\n  \
    zsh:  axp completions zsh > \"${fpath[1]}/_axp\"\n  \
    fish: axp completions fish > ~/.config/fish/completions/axp.fish")]
pub struct Args {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the script for `args.shell` on stdout.
pub fn run(out: &Output, args: Args) -> anyhow::Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "axp", &mut script);
    out.text(&String::from_utf8(script)?);
    Ok(Exit::Ok)
}
