//! `axp demo`: a newcomer's first minute. Starts a throwaway server (in-process, temporary data
//! directory, free port), a built-in report agent on the stream binding, applies the seed
//! scenario (a report intent for that agent), renders the lifecycle live, then shows how to do
//! the same against a real server with the CLI and the SDK. Ends by itself.

use std::time::Duration;

use anyhow::Context as _;
use axp_client::{Client, IntentId};
use axp_server::{Config, Server};
use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::exit::Exit;
use crate::output::{Output, Style};

/// The seed scenario: one report-generation step for the `report-api-demo` agent.
pub const SCENARIO: &str = include_str!("scenario.json");
/// The agent the seed scenario provisions.
const AGENT: &str = "report-api-demo";
/// How long the built-in agent "works" on a report, so the IN_PROGRESS state is visible.
const WORK: Duration = Duration::from_millis(600);

/// `demo` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Give up after this many seconds (exit code 6).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
    /// Print the demo's scenario bundle (to save as scenario.json) and exit.
    #[arg(long)]
    print_scenario: bool,
}

/// Runs the demo.
pub async fn run(args: Args, out: &Output) -> anyhow::Result<Exit> {
    if args.print_scenario {
        let bundle: Value = serde_json::from_str(SCENARIO)?;
        out.line(&serde_json::to_string_pretty(&bundle)?);
        return Ok(Exit::Ok);
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let dir = tempfile::Builder::new()
        .prefix("axp-demo-")
        .tempdir()
        .context("creating a temporary data directory")?;
    let server =
        Server::build(Config { listen: "127.0.0.1:0".into(), data_dir: dir.path().to_path_buf() }).await?;
    let admin_key =
        server.bootstrapped().map(|b| b.api_key.clone()).context("a fresh data directory bootstraps")?;
    let url = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));

    let bold = |s: &str| out.paint(s, Style::Bold);
    out.note(&format!(
        "{} a throwaway axp server on {url} (data in {}, deleted at exit)",
        bold("axp demo:"),
        dir.path().display()
    ));
    let result = scenario(out, &url, &admin_key, Duration::from_secs(args.timeout)).await;

    let _ = stop.send(());
    serving.await.context("the server task")?.context("the server")?;
    drop(dir);
    let exit = result?;
    if exit == Exit::Ok {
        next_steps(out);
    }
    Ok(exit)
}

async fn scenario(out: &Output, url: &str, admin_key: &str, timeout: Duration) -> anyhow::Result<Exit> {
    let client = Client::builder(url, admin_key).build()?;
    let bundle: Value = serde_json::from_str(SCENARIO)?;
    let applied =
        client.apply_scenario(&bundle, Some("axp-demo-seed")).await.context("applying the seed scenario")?;
    let agent = applied.agents.first().context("the seed scenario provisions an agent")?;
    out.note(&format!(
        "  scenario {} → intent {} for {} ({} binding)",
        applied.scenario_id, applied.intent_id, agent.address, agent.delivery_mode
    ));
    // The agent runs as itself, with the key `apply` created for it.
    let agent_key = agent.api_key.clone().unwrap_or_else(|| admin_key.to_owned());
    let agent_client = Client::builder(url, agent_key).build()?;
    let worker = tokio::spawn(report_agent(agent_client, applied.intent_id));
    out.note(&format!("  built-in agent {AGENT} is listening; the lifecycle, live:\n"));
    let watched = crate::watch::watch(&client, out, applied.intent_id, 0, Some(timeout)).await;
    worker.abort();
    let watched = watched?;
    if let Some(result) = watched.intent.result.as_ref().filter(|_| !out.is_machine()) {
        out.note(&format!("  result: {result}"));
    }
    Ok(watched.exit)
}

/// The built-in agent: takes its delivery, marks it IN_PROGRESS, "generates" the report, and
/// completes the step with the report's URL, as a real agent would with `listen` + `resume`.
async fn report_agent(client: Client, expected: IntentId) -> axp_client::Result<()> {
    let mut deliveries = std::pin::pin!(client.listen(AGENT, 0));
    while let Some(delivery) = deliveries.try_next().await? {
        if delivery.intent_id != expected {
            continue;
        }
        let id = delivery.intent_id;
        client.resume(id, &json!({"approve_current_step": true, "reason": "generating the report"})).await?;
        tokio::time::sleep(WORK).await;
        let format = delivery.payload.get("format").and_then(Value::as_str).unwrap_or("pdf");
        client
            .resume(id, &json!({"action": "complete", "report_url": format!("https://reports.example/{id}.{format}"), "pages": 12}))
            .await?;
        return Ok(());
    }
    Ok(())
}

fn next_steps(out: &Output) {
    let steps = "
What happened: `axp demo` started a server, provisioned the agent `report-api-demo` from a
scenario bundle, and the agent took the intent over its SSE stream (listen), worked on it and
completed it (resume), while this terminal watched the lifecycle over SSE (observe).

Do the same with your own server:
  axp serve                                        # terminal 1; keeps data in ./axp-data
  axp demo --print-scenario > scenario.json
  axp scenarios apply scenario.json --watch        # terminal 2; uses ./axp-data/admin.key
  # …and an agent to do the work, e.g. the SDK example:
  AXP_URL=http://127.0.0.1:7420 AXP_API_KEY=$(cat axp-data/admin.key) AXP_AGENT=report-api-demo \\
    cargo run -p axp-client --example durable_api

From Rust (crate axp-client):
  let client = axp_client::Client::new(url, key);
  let created = client.create_intent(&request, Some(\"idempotency-key\")).await?;
  let mut events = std::pin::pin!(client.observe(created.intent_id, 0));   // the lifecycle
  let mut work = std::pin::pin!(client.listen(\"report-api-demo\", 0));       // an agent's deliveries

Other commands: axp intents send|get|list|watch|cancel, axp logs <id>, axp tasks approve <id>, axp --help";
    out.tip(steps);
}
