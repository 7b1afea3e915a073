//! The dashboard's HTML: the page frame (navigation, sign-out form), error pages, escaping.
//! Server-rendered; the little JavaScript there is lives in `assets/app.js`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// `s` with `& < > " '` escaped, for HTML text and quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A hidden CSRF field for a form of the session with token `csrf`.
pub(crate) fn csrf_field(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(csrf))
}

/// The document around `body`, with the dashboard's stylesheet and script; no caching, and no
/// framing by other sites.
fn document(title: &str, nav: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · axp</title><link rel=\"stylesheet\" href=\"/ui/assets/app.css\">\
         <script src=\"/ui/assets/app.js\" defer></script></head>\
         <body>{nav}<main>{body}</main></body></html>",
        esc(title)
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// A page for a signed-in session: navigation and the sign-out form around `body`.
pub(crate) fn page(title: &str, csrf: &str, who: &str, body: &str) -> Response {
    let nav = format!(
        "<nav><a href=\"/ui\">Intents</a> <a href=\"/ui/inbox\">Inbox</a> <a href=\"/ui/agents\">Agents</a> <a href=\"/ui/deliveries\">Dead letters</a> \
         <a href=\"/ui/webhooks\">Webhooks</a> <a href=\"/ui/service-accounts\">Service accounts</a> \
         <a href=\"/ui/audit\">Audit</a>\
         <span class=\"who\">{}</span>\
         <form method=\"post\" action=\"/ui/logout\" class=\"inline\">{}<button>Sign out</button></form></nav>",
        esc(who),
        csrf_field(csrf)
    );
    document(title, &nav, body)
}

/// A page without navigation (sign-in, errors).
pub(crate) fn bare(title: &str, body: &str) -> Response {
    document(title, "", body)
}

/// An error page with `status`.
pub(crate) fn error(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/ui\">Back to the dashboard</a></p>",
        esc(title),
        esc(message)
    );
    (status, bare(title, &body)).into_response()
}

/// What a form post answers once the API's handler ran: 303 to `back` when it succeeded, else
/// the API's refusal as an error page titled `refused`.
pub(crate) fn after<T>(done: Result<T, crate::error::ApiError>, back: &str, refused: &str) -> Response {
    match done {
        Ok(_) => axum::response::Redirect::to(back).into_response(),
        Err(e) => error(e.status(), refused, e.message()),
    }
}

/// An HTML fragment (polled by `app.js`), not cached.
pub(crate) fn fragment(html: String) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
