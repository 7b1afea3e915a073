//! `axp scenarios validate <file.json>`.

use axp_client::Client;

use crate::commands::read_json_file;
use crate::exit::Exit;
use crate::output::{Output, Style};

/// `scenarios validate` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bundle (a JSON file; `-` reads stdin).
    file: String,
}

/// Validates the bundle; exit code 1 when it has errors.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let bundle = read_json_file(&args.file)?;
    let report = client.validate_scenario(&bundle).await?;
    if out.is_machine() {
        out.json(&serde_json::to_value(&report)?);
    } else {
        for error in &report.errors {
            out.line(&format!("{} {error}", out.paint("error:", Style::Red)));
        }
        for warning in &report.warnings {
            out.line(&format!("{} {warning}", out.paint("warning:", Style::Yellow)));
        }
        if report.valid {
            out.line(&format!("{} {} is valid", out.paint("✓", Style::Green), args.file));
        } else {
            out.line(&format!(
                "{} {} has {} error(s)",
                out.paint("✗", Style::Red),
                args.file,
                report.errors.len()
            ));
        }
    }
    Ok(if report.valid { Exit::Ok } else { Exit::Error })
}
