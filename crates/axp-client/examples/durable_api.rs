//! A durable API operation end to end: an agent listens for work and completes it, while a caller
//! submits an intent and observes it until it is done.
//!
//! ```text
//! AXP_URL=http://127.0.0.1:7420 AXP_API_KEY=axme_sa_… cargo run -p axp-client --example durable_api
//! ```
//!
//! `AXP_AGENT` (default `agent://examples/reporter`) is the address the agent listens on and the
//! caller sends to. One key does both jobs here; in production the agent has its own service
//! account key.

use std::time::Duration;

use axp_client::{Client, CreateIntentRequest, Intent, IntentExt};
use futures::TryStreamExt;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = std::env::var("AXP_URL").unwrap_or_else(|_| "http://127.0.0.1:7420".to_owned());
    let key = std::env::var("AXP_API_KEY").map_err(|_| "set AXP_API_KEY to a service account key")?;
    let agent = std::env::var("AXP_AGENT").unwrap_or_else(|_| "agent://examples/reporter".to_owned());

    let client = Client::builder(url, key).timeout(Duration::from_secs(15)).build()?;
    let intent = run(&client, &agent).await?;
    println!("finished {}: {:?}", intent.status, intent.result);
    Ok(())
}

/// Starts an agent on `agent`, submits one report intent to it, follows the intent to its end and
/// returns it.
pub async fn run(client: &Client, agent: &str) -> Result<Intent, Box<dyn std::error::Error + Send + Sync>> {
    println!("server: {:?}", client.health().await?);

    // The agent: take each delivered intent, do the work, report the result with `resume`.
    let worker = tokio::spawn(run_agent(client.clone(), agent.to_owned()));

    // The caller: submit with an idempotency key, so a retry can never create a second intent.
    let payload = json!({"report": "monthly-usage", "month": "2026-02"});
    let request = CreateIntentRequest {
        intent_type: "intent.report.generate.v1".into(),
        to_agent: agent.to_owned(),
        payload: payload.as_object().cloned().unwrap_or_default(),
        correlation_id: None,
        reply_to: None,
        deadline_at: None,
        max_delivery_attempts: Some(3),
        human_task: None,
    };
    let created = client.create_intent(&request, Some("durable-api-example-2026-02")).await?;
    println!("submitted {} ({})", created.intent_id, created.status);

    // Follow the intent's lifecycle; the stream reconnects by itself and ends at a terminal event.
    let mut events = std::pin::pin!(client.observe(created.intent_id, 0));
    while let Some(event) = events.try_next().await? {
        println!("  #{} {} -> {}", event.seq, event.event_type, event.status);
    }

    let intent = client.get_intent(created.intent_id).await?;
    worker.abort();
    Ok(intent)
}

/// Listens forever on `address`, completing every intent it is given.
async fn run_agent(client: Client, address: String) -> axp_client::Result<()> {
    let mut deliveries = std::pin::pin!(client.listen(&address, 0));
    while let Some(delivery) = deliveries.try_next().await? {
        println!("agent got {} (cursor {}, {})", delivery.intent_id, delivery.seq, delivery.intent_type);
        let report_url = format!("https://reports.example/{}", delivery.intent_id);
        match client
            .resume(delivery.intent_id, &json!({"action": "complete", "report_url": report_url}))
            .await
        {
            Ok(done) => println!("agent completed {}: {}", delivery.intent_id, done.typed_intent()?.status),
            // Delivery is at least once: an intent that already ended is not an error for us.
            Err(e) if e.is_conflict() => {
                println!("agent: {} was already finished", delivery.intent_id)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
