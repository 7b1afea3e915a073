//! `axp intents cancel <id> [--reason …]`.

use axp_client::{Client, MutationResponse};

use crate::commands::{brief, intent_id};
use crate::exit::Exit;
use crate::output::Output;

/// `intents cancel` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The intent's id.
    intent_id: String,
    /// Why; recorded on the `intent.canceled` event.
    #[arg(long, default_value = "canceled via axp cli")]
    reason: String,
}

/// Prints a mutation response: the whole body in JSON modes, the intent's new state for people.
pub fn print_mutation(out: &Output, response: &MutationResponse) -> anyhow::Result<()> {
    let value = serde_json::to_value(response)?;
    out.object(&value, || {
        let field = |k: &str| response.intent.get(k).filter(|v| !v.is_null()).map(|v| brief(v, 80));
        let mut pairs = vec![
            ("intent_id".to_owned(), field("intent_id").unwrap_or_default()),
            ("status".to_owned(), field("status").unwrap_or_default()),
        ];
        if let Some(reason) = field("waiting_reason") {
            pairs.push(("waiting_reason".into(), reason));
        }
        if let Some(event) = &response.event {
            pairs.push(("event".into(), format!("#{} {}", event.seq, event.event_type)));
        }
        pairs.push(("applied".into(), response.applied.to_string()));
        if let Some(r) = response.intent.get("result").filter(|v| !v.is_null()) {
            pairs.push(("result".into(), brief(r, 80)));
        }
        pairs
    });
    Ok(())
}

/// Cancels the intent.
pub async fn run(client: &Client, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let id = intent_id(&args.intent_id)?;
    let response = client.cancel(id, &args.reason).await?;
    print_mutation(out, &response)?;
    Ok(Exit::Ok)
}
