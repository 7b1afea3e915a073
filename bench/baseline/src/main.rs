//! `axp-baseline`: the servers the benchmarks compare axp against, measured in the same run.
//!
//! - `axp-baseline json`: a bare axum JSON POST handler. `POST /v1/intents` parses the body as a
//!   JSON object and answers what axp's create answers (`ok`, a fresh `intent_id`, `status`,
//!   `created_at`) with nothing durable behind it: no auth, no validation, no storage. It is the
//!   ceiling for P1 ("≥ 30% of the baseline's req/s") and the loopback round trip for P2.
//! - `axp-baseline sse`: the naive axum `Sse` + `tokio::sync::broadcast` server that tutorials
//!   show. `GET /subscribe` streams every published event; `POST /publish` sends its body as one
//!   event to every subscriber. It is P3's baseline for memory per connection and fan-out time.
//!
//! Both print `listening on http://ADDR` on stdout once bound and serve `GET /health`.

use std::convert::Infallible;
use std::io::Write;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::{Parser, Subcommand};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

#[derive(Parser)]
#[command(name = "axp-baseline", about = "Baseline servers for the axp benchmarks")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Bare axum JSON POST handler on `POST /v1/intents`.
    Json {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
    /// Naive axum Sse + broadcast server (`GET /subscribe`, `POST /publish`).
    Sse {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (listen, app) = match cli.mode {
        Mode::Json { listen } => (listen, json_app()),
        Mode::Sse { listen } => (listen, sse_app()),
    };
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{}", listener.local_addr()?)?;
    out.flush()?;
    drop(out);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn health() -> Json<Value> {
    Json(json!({"ok": true}))
}

fn json_app() -> Router {
    Router::new().route("/health", get(health)).route("/v1/intents", post(create))
}

/// Parses the JSON object and answers like axp's create, with nothing behind it.
async fn create(Json(body): Json<Map<String, Value>>) -> impl IntoResponse {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let status = if body.contains_key("intent_type") { "SUBMITTED" } else { "CREATED" };
    Json(json!({
        "ok": true,
        "intent_id": uuid::Uuid::now_v7(),
        "status": status,
        "created_at": now,
    }))
}

fn sse_app() -> Router {
    let (tx, _) = broadcast::channel::<String>(1024);
    Router::new()
        .route("/health", get(health))
        .route("/subscribe", get(subscribe))
        .route("/publish", post(publish))
        .with_state(tx)
}

/// Every event published after the subscription, as `event: intent.completed`.
async fn subscribe(
    State(tx): State<broadcast::Sender<String>>,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let rx = tx.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(data) => {
                    return Some((Ok(Event::default().event("intent.completed").data(data)), rx));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Sends the body to every subscriber; answers how many there were.
async fn publish(State(tx): State<broadcast::Sender<String>>, body: String) -> impl IntoResponse {
    let receivers = tx.send(body).unwrap_or(0);
    (StatusCode::OK, Json(json!({"ok": true, "receivers": receivers})))
}
