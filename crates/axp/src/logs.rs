//! Where `axp serve` sends its logs and traces (`docs/configuration.md`, "Logs" and "Traces").
//!
//! - Logs go to stderr as text, or as one JSON object per line with `log_format = "json"`,
//!   filtered by `RUST_LOG` (default `info`). Text is coloured by the CLI's rule (`output`):
//!   only on a terminal, never with `NO_COLOR`, also on a pipe with `CLICOLOR_FORCE`.
//! - Traces are exported with OpenTelemetry's OTLP over HTTP (protobuf), opt-in with the
//!   standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); the
//!   other standard `OTEL_*` variables of the exporter and batch processor apply
//!   (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_SCHEDULE_DELAY`, …), and `OTEL_SERVICE_NAME`
//!   (default `axp`). Exported: the HTTP request span of each API request (parented on the
//!   caller's `traceparent`, or on its `X-Trace-Id` in W3C form), the store's write batches and
//!   push delivery attempts, with the `debug` spans of axp's own crates.

use anyhow::Context as _;
use axp_server::Settings;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer, Registry};

/// The crates whose `debug` spans are exported as traces.
const TRACED: &[&str] = &["axp_server", "axp_engine", "axp_store_sqlite", "axp_store_postgres"];

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes the spans not yet sent.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still buffered and stops the exporter (blocking: call it off the async
    /// workers, e.g. in `spawn_blocking`).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "the trace exporter did not shut down cleanly");
        }
    }
}

/// Installs the global subscriber: logs as `settings` say, traces when an OTLP endpoint is set.
/// Must run inside the tokio runtime (the exporter sends on it).
///
/// Errors: an unknown `log_format`, or an exporter that cannot be built.
pub fn init(settings: &Settings) -> anyhow::Result<Telemetry> {
    let json = match settings.var("AXP_LOG_FORMAT").as_deref().map(str::trim) {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => anyhow::bail!("AXP_LOG_FORMAT must be text or json, not {other:?}"),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,axp=info".into());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = if json {
        fmt.json().flatten_event(true).with_current_span(false).with_filter(filter).boxed()
    } else {
        let ansi = anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
        fmt.with_ansi(ansi).with_filter(filter).boxed()
    };
    let provider = otlp_endpoint().map(|_| provider()).transpose()?;
    let traces = provider.as_ref().map(|provider| {
        let targets =
            TRACED.iter().fold(Targets::new(), |t, name| t.with_target(*name, tracing::Level::DEBUG));
        tracing_opentelemetry::layer().with_tracer(provider.tracer("axp")).with_filter(targets)
    });
    Registry::default().with(logs).with(traces).init();
    if let Some(endpoint) = otlp_endpoint() {
        tracing::info!(%endpoint, "exporting traces over OTLP/HTTP");
    }
    Ok(Telemetry { provider })
}

/// The OTLP endpoint from the standard variables, when one is set.
fn otlp_endpoint() -> Option<String> {
    ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

fn provider() -> anyhow::Result<SdkTracerProvider> {
    let client = OtlpClient { client: reqwest::Client::new(), runtime: tokio::runtime::Handle::current() };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(client)
        .build()
        .context("building the OTLP trace exporter")?;
    let service =
        std::env::var("OTEL_SERVICE_NAME").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "axp".into());
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service).build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// The exporter's HTTP client: the batch processor calls it from its own thread, so each
/// request is sent on the server's tokio runtime with the workspace's reqwest.
#[derive(Debug)]
struct OtlpClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OtlpClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<opentelemetry_http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let response = client.execute(request).await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        });
        let (status, body) = sent.await??;
        let mut response = opentelemetry_http::Response::new(body);
        *response.status_mut() = status;
        Ok(response)
    }
}
