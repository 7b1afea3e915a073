//! The hyper service of one connection: the router, with the client's address, the body
//! deadline, and the in-flight mark around each request.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use tokio::time::Instant;
use tower::ServiceExt;

use super::body::{DeadlineBody, Tracked, drain_unread, timed_out, upload_deadline};
use super::client_addr::TrustedProxies;
use super::timers::ConnClock;

/// What every connection's service shares.
pub(super) struct Shared {
    pub(super) router: Router,
    pub(super) proxies: TrustedProxies,
    pub(super) body_timeout: Duration,
    /// The largest media upload (its body deadline grows with its size).
    pub(super) media_max_bytes: u64,
}

/// `request`'s response from `router` (whose errors are `Infallible`).
pub(super) async fn route(router: Router, request: Request<Body>) -> Response<Body> {
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// One connection's service.
#[derive(Clone)]
pub(super) struct ConnService {
    pub(super) shared: Arc<Shared>,
    pub(super) clock: Arc<ConnClock>,
    pub(super) peer: IpAddr,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.clock.request_started();
        let client = self.shared.proxies.client_addr(self.peer, request.headers());
        let (mut parts, body) = request.into_parts();
        let (base, max) = (self.shared.body_timeout, self.shared.media_max_bytes);
        let limit = upload_deadline(&parts.method, parts.uri.path(), &parts.headers, base, max);
        let tripped = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + limit;
        parts.extensions.insert(client);
        let unread = Arc::default();
        let body = DeadlineBody::new(body, deadline, tripped.clone(), Arc::clone(&unread));
        let request = Request::from_parts(parts, Body::new(body));
        let router = self.shared.router.clone();
        Box::pin(async move {
            let response = route(router, request).await;
            if unread.lock().is_ok_and(|rest| rest.is_some()) {
                tokio::spawn(drain_unread(unread, crate::api::BODY_LIMIT, deadline));
            }
            let response = if tripped.load(Ordering::Acquire) {
                tracing::debug!(%client, "request body timed out");
                timed_out(limit)
            } else {
                response
            };
            Ok(response.map(|body| Body::new(Tracked::new(body, in_flight))))
        })
    }
}
