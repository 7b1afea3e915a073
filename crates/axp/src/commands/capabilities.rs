//! `axp capabilities`: what the server supports and the intent types it knows
//! (`GET /v1/capabilities`, contract §5.3).

use crate::cli::Global;
use crate::exit::Exit;
use crate::output::Output;

/// `capabilities` has no options of its own.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Prints the capabilities.
pub async fn run(global: &Global, out: &Output, _args: Args) -> anyhow::Result<Exit> {
    let client = super::target(global)?.client()?;
    let caps = client.capabilities().await?;
    out.object(&serde_json::to_value(&caps)?, || {
        let mut pairs = vec![("capabilities".to_owned(), caps.capabilities.join(", "))];
        for (n, t) in caps.supported_intent_types.iter().enumerate() {
            let key = if n == 0 { "supported_intent_types" } else { "" };
            pairs.push((key.to_owned(), t.clone()));
        }
        pairs
    });
    Ok(Exit::Ok)
}
