//! `axp config show`: the effective configuration of `axp serve` on this machine (the config
//! file, then the environment over it; `axp_server::Settings`), every setting with its value
//! and where it came from. Secrets are redacted. Local: no server is asked.

use std::path::PathBuf;

use serde_json::json;

use crate::exit::Exit;
use crate::output::{Output, Table};

/// `axp config <verb>`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print every `axp serve` setting: its effective value (secrets redacted), its default and
    /// where the value comes from (file, environment variable, default).
    Show(ShowArgs),
}

/// `axp config show` options.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// The config file `axp serve` would read [env: AXP_CONFIG; default: ./axp.toml when it
    /// exists].
    #[arg(long, env = "AXP_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Runs a `config` verb.
pub fn run(out: &Output, command: Command) -> anyhow::Result<Exit> {
    let Command::Show(args) = command;
    let settings = axp_server::Settings::load(args.config.as_deref())?;
    let rows = settings.effective();
    let items: Vec<_> = rows
        .iter()
        .map(|(setting, value, source)| {
            json!({
                "key": setting.key,
                "env": format!("AXP_{}", setting.key.to_ascii_uppercase()),
                "value": value,
                "default": setting.default,
                "source": source.to_string(),
                "secret": setting.secret,
                "description": setting.doc,
            })
        })
        .collect();
    out.list(&items, || {
        let mut table = Table::new(&["key", "value", "source"]);
        for (setting, value, source) in &rows {
            let value = if value.is_empty() { "-".to_owned() } else { value.clone() };
            table.row(vec![setting.key.to_owned(), value, source.to_string()]);
        }
        table
    });
    match settings.file() {
        Some(file) => out.tip(&format!("config file: {}", file.display())),
        None => out.tip("no config file: axp serve reads ./axp.toml, --config PATH or AXP_CONFIG"),
    }
    Ok(Exit::Ok)
}
