//! The OpenAPI 3.1 document of every route axp serves, at `GET /openapi.json` (public, no key).
//!
//! It is generated with utoipa: each handler carries a `#[utoipa::path]` attribute (method,
//! path, parameters, request body, responses; its doc comment becomes the summary and
//! description), each API family gathers its handlers in a `Doc` beside its `router()`
//! (`api/<family>.rs`), and the wire types derive `ToSchema` (`axp-core`'s `openapi` feature).
//! [`document`] merges the families and adds what every operation shares:
//!
//! - the security schemes (`x-api-key`, or `Authorization: Bearer` with an API key or a person's
//!   actor token, contract §1.1), required by every operation that does not say `security(())`;
//! - the error envelope (contract §1.4, [`axp_core::error::ErrorBody`]) as the `default` response.
//!
//! Operations axp adds to the upstream gateway API (`../shared/axp-spec/openapi/gateway.v1.json`)
//! carry `x-axp-extension: true`. The agent-address routes are served by one wildcard route
//! (`/v1/agents/{*address}`, `api/agents.rs`) and documented with the SDK's own templates
//! (`/v1/agents/{address}/…`). The dashboard's HTML pages under `/ui` are not API operations and
//! are described in `docs/dashboard.md` instead. `tests/it/openapi.rs` checks that the document
//! covers every route and that the paths it shares with the gateway document do not drift.

use std::sync::LazyLock;

use axp_core::error::ErrorBody;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, ResponseBuilder, SecurityRequirement, content::ContentBuilder};

use crate::state::AppState;

/// The document's frame: what it is, and the serving route itself.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "axp",
        description = "The AXP Intent Protocol server: durable asynchronous operations (intents), \
                       their lifecycle and events, and their delivery to agents. Paths shared with \
                       the upstream gateway API follow it; the others are marked x-axp-extension.",
        license(name = "Apache-2.0"),
    ),
    paths(openapi_json),
    components(schemas(ErrorBody))
)]
struct Frame;

/// The whole document, rendered once.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| document().to_json().expect("the OpenAPI document serializes"));

/// The OpenAPI 3.1 document: the frame, every family's operations, the security schemes and
/// the error envelope as each operation's `default` response.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Frame::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    for family in crate::api::documented() {
        doc.merge(family);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("an API key, or a person's actor token"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "metrics_token",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("`AXP_METRICS_TOKEN` (not an API key); none when `AXP_METRICS_PUBLIC=1`"))
                .build(),
        ),
    );
    doc.security = Some(vec![
        SecurityRequirement::new("api_key", Vec::<String>::new()),
        SecurityRequirement::new("bearer", Vec::<String>::new()),
    ]);
    let envelope = ResponseBuilder::new()
        .description("The error envelope (contract §1.4): `error.code` says what failed.")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"))))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
            .into_iter()
            .flatten()
        {
            operation.responses.responses.entry("default".into()).or_insert_with(|| envelope.clone().into());
            tidy(operation);
        }
    }
    doc
}

/// Longest summary kept whole, in characters.
const SUMMARY_MAX: usize = 120;

/// A doc comment's first paragraph becomes the whole summary: keep its first sentence there
/// (at most [`SUMMARY_MAX`] characters) and the paragraph in the description; a success
/// response without a description says "Success".
fn tidy(operation: &mut utoipa::openapi::path::Operation) {
    if let Some(summary) = operation.summary.take() {
        let flat = summary.split_whitespace().collect::<Vec<_>>().join(" ");
        let sentence = flat.split_inclusive(". ").next().unwrap_or(&flat).trim_end().to_owned();
        let short = if sentence.chars().count() <= SUMMARY_MAX {
            sentence
        } else {
            let cut: String = sentence.chars().take(SUMMARY_MAX).collect();
            format!("{}…", cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head))
        };
        if short != flat {
            let rest = operation.description.take().unwrap_or_default();
            operation.description = Some(if rest.is_empty() { flat } else { format!("{flat}\n\n{rest}") });
        }
        operation.summary = Some(short);
    }
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            response.description = "Success".into();
        }
    }
}

/// `GET /openapi.json`: this server's OpenAPI 3.1 document (JSON). No key needed.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.as_str())
}

/// `GET /openapi.json`.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}
