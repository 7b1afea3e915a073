//! `axp ui [--print-url]`: a one-time login link to the web dashboard (`POST
//! /v1/ui/login-links`, `docs/dashboard.md`), opened in the browser or printed. The server and
//! key are found like every client command's; the key must administer its workspace.

use serde_json::json;

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// `axp ui` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the URL and exit; do not try to open a browser.
    #[arg(long)]
    pub print_url: bool,
}

/// Asks for a login link and prints its URL (`{ok, url, expires_at}` in JSON modes); without
/// `--print-url`, also opens it with `xdg-open` (`open` on macOS) where one exists. A browser
/// that cannot be opened is only a note: the URL is printed either way.
pub async fn run(global: &Global, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    let link = client.ui_login_link().await?;
    let base = client.base_url().as_str().trim_end_matches('/').to_owned();
    let url = format!("{base}{}", link.login_path);
    if out.is_machine() {
        out.json(&json!({"ok": true, "url": url, "expires_at": link.expires_at}));
    } else {
        out.line(&url);
        out.tip(&format!("works once, until {}", link.expires_at));
    }
    if !args.print_url && !open_browser(&url) {
        out.note("no browser could be opened here: open the URL above yourself");
    }
    Ok(Exit::Ok)
}

/// Starts the desktop's URL opener on `url` without waiting for it; whether one started.
fn open_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}
