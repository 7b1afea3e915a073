//! Shared pieces of the torture tests (`tests/torture.rs`): finding the `axp` binary, the
//! short (CI) and long settings, and a small JSON client over [`axp_loadgen::http`].
//!
//! The tests spawn the real binary on `127.0.0.1:0`, drive it only over HTTP, and kill only the
//! processes they started. Every loop is bounded in count and time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axp_loadgen::http::{self, Conn, Response};
use serde_json::Value;

/// The `axp` binary under test: `$AXP_BIN`, else `target/debug/axp` (or under
/// `$CARGO_TARGET_DIR`), else the release build.
pub fn axp_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("AXP_BIN") {
        return PathBuf::from(bin);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_relative() { root.join(t) } else { t })
        .unwrap_or_else(|| root.join("target"));
    let debug = target.join("debug/axp");
    if debug.exists() { debug } else { target.join("release/axp") }
}

/// True when `AXP_TORTURE=long`: the settings documented in `bench/README.md`.
pub fn long() -> bool {
    std::env::var("AXP_TORTURE").is_ok_and(|v| v == "long")
}

/// `name` from the environment as a number, else `default`.
pub fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A JSON client with one keep-alive connection that reconnects when needed.
pub struct Client {
    /// Server address.
    pub addr: SocketAddr,
    /// API key sent as `x-api-key` (empty: none).
    pub key: String,
    conn: Option<Conn>,
}

impl Client {
    /// A client for `addr` with `key`.
    pub fn new(addr: SocketAddr, key: &str) -> Self {
        Self { addr, key: key.to_owned(), conn: None }
    }

    /// Sends raw request bytes (reconnecting once if the kept-alive connection was closed).
    pub async fn raw(&mut self, request: &[u8]) -> std::io::Result<Response> {
        for attempt in 0..2 {
            if self.conn.as_ref().is_none_or(|c| c.closed) {
                self.conn = Some(Conn::connect_retry(self.addr, Duration::from_secs(5)).await?);
            }
            let conn = self.conn.as_mut().expect("connected");
            match conn.send(request).await {
                Ok(r) => return Ok(r),
                Err(e) if attempt == 1 => return Err(e),
                Err(_) => self.conn = None,
            }
        }
        unreachable!("two attempts")
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> std::io::Result<Response> {
        let req = http::get(path, &self.key);
        self.raw(&req).await
    }

    /// `POST path` with a JSON body and extra headers.
    pub async fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> std::io::Result<Response> {
        let req = http::post_json(path, &self.key, headers, body.to_string().as_bytes());
        self.raw(&req).await
    }
}
