//! P8 (issue 12, "Fairness"): workspace A's create latency unloaded, then while workspace B
//! floods the same server with creates on 64 connections; the ratio flood/unloaded of A's p50
//! and p99. Works with or without per-workspace admission and rate limits: B's 429s are counted,
//! not treated as failures.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axp_loadgen::http::{self, Conn};
use axp_loadgen::stats::median;
use serde_json::{Value, json};

use super::load::{LoadResult, RequestFn, closed_loop};
use super::p1::BODY;
use super::{Ctx, Section, Verdict, ms, rate, ratio};

/// Workspace A's connections (a normal client, not a flood).
const A_CONNECTIONS: usize = 4;

/// Workspace B's flood (the finding: 64 connections).
const B_CONNECTIONS: usize = 64;

/// A's p99 during the flood may be at most this many times its unloaded p99 (issue 12 measured
/// 44× before; it states no number).
const TARGET_P99_RATIO: f64 = 5.0;

/// `POST path body` as `key` on `conn`; the JSON answer, which must be a 200.
async fn admin(conn: &mut Conn, key: &str, path: &str, body: Value) -> Result<Value> {
    let r = conn.send(&http::post_json(path, key, &[], body.to_string().as_bytes())).await?;
    if r.status != 200 {
        bail!("{path} answered {}: {}", r.status, r.text());
    }
    Ok(r.json())
}

/// The key of the owner of a new organization and workspace (B), made over HTTP by the admin.
async fn other_workspace_key(addr: SocketAddr, admin_key: &str) -> Result<String> {
    let mut conn = Conn::connect(addr).await?;
    let body = json!({"name": "Flooder", "requested_by_actor_id": "admin"});
    let org = admin(&mut conn, admin_key, "/v1/organizations", body).await?["organization"]["org_id"]
        .as_str()
        .context("org_id")?
        .to_owned();
    let path = format!("/v1/organizations/{org}/workspaces");
    let ws = admin(&mut conn, admin_key, &path, json!({"name": "flood", "environment": "sandbox"})).await?;
    let ws = ws["workspace"]["workspace_id"].clone();
    let body = json!({"org_id": org, "workspace_id": ws, "name": "flooder"});
    let sa = admin(&mut conn, admin_key, "/v1/service-accounts", body).await?;
    let id = sa["service_account"]["service_account_id"].as_str().context("service_account_id")?.to_owned();
    let member = json!({"org_id": org, "actor_id": id, "role": "org_owner"});
    admin(&mut conn, admin_key, &format!("/v1/organizations/{org}/members"), member).await?;
    let key = admin(&mut conn, admin_key, &format!("/v1/service-accounts/{id}/keys"), json!({})).await?;
    Ok(key["key"]["token"].as_str().context("key token")?.to_owned())
}

fn creates(key: &str) -> RequestFn {
    let bytes = http::post_json("/v1/intents", key, &[], BODY.as_bytes());
    Arc::new(move |_, _| bytes.clone())
}

/// B's responses other than 200, e.g. `429×1200`.
fn refused(r: &LoadResult) -> String {
    let parts: Vec<String> =
        r.statuses.iter().filter(|(s, _)| **s != 200).map(|(s, n)| format!("{s}×{n}")).collect();
    if parts.is_empty() { "none".into() } else { parts.join(", ") }
}

/// Runs P8; returns its section.
pub async fn run(ctx: &Ctx) -> Result<Section> {
    let o = &ctx.opts;
    let (warmup, window) = (super::secs(o.warmup), super::secs(o.duration));
    let mut s = Section::new(
        "P8",
        &format!(
            "fairness: workspace A's creates ({A_CONNECTIONS} connections) alone, then during workspace B's flood ({B_CONNECTIONS} connections)"
        ),
        &format!("A's p99 during the flood ≤ {TARGET_P99_RATIO}× its unloaded p99"),
    );
    s.header = [
        "run",
        "A alone creates/s",
        "p50",
        "p99",
        "A during flood creates/s",
        "p50",
        "p99",
        "p50 ratio",
        "p99 ratio",
        "B creates/s",
        "B non-200",
    ]
    .map(String::from)
    .to_vec();
    let (mut p50s, mut p99s) = (vec![], vec![]);
    for run in 0..o.runs {
        // The harness turns the per-workspace in-flight cap off; P8 measures it at its default.
        let (axp, dir) = ctx.axp_with("p8", &[("AXP_WORKSPACE_MAX_INFLIGHT", "32".into())]).await?;
        let b_key = other_workspace_key(axp.addr, &axp.admin_key).await?;
        let a = creates(&axp.admin_key);
        let alone = closed_loop(axp.addr, None, A_CONNECTIONS, warmup, window, a.clone()).await?;
        let (during, flood) = tokio::join!(
            closed_loop(axp.addr, None, A_CONNECTIONS, warmup, window, a),
            closed_loop(axp.addr, None, B_CONNECTIONS, warmup, window, creates(&b_key)),
        );
        let (during, flood) = (during?, flood?);
        let mut axp = axp;
        axp.guard.terminate(std::time::Duration::from_secs(30));
        ctx.discard(&dir);
        let p50 = during.latency.p50_us / alone.latency.p50_us;
        let p99 = during.latency.p99_us / alone.latency.p99_us;
        s.rows.push(vec![
            format!("{}", run + 1),
            rate(alone.ok_per_sec),
            ms(alone.latency.p50_us),
            ms(alone.latency.p99_us),
            rate(during.ok_per_sec),
            ms(during.latency.p50_us),
            ms(during.latency.p99_us),
            ratio(p50),
            ratio(p99),
            rate(flood.ok_per_sec),
            refused(&flood),
        ]);
        if during.non_ok() > 0 {
            s.notes.push(format!(
                "run {}: A got {} non-200 answers during the flood",
                run + 1,
                during.non_ok()
            ));
        }
        p50s.push(p50);
        p99s.push(p99);
    }
    let (p50, p99) = (median(&p50s), median(&p99s));
    s.checks.push((
        format!("A's p99 during B's flood ≤ {TARGET_P99_RATIO}× unloaded"),
        Verdict::of(p99 <= TARGET_P99_RATIO),
        format!(
            "median p99 ratio {}, p50 ratio {} (issue 12 before: 44× p99, 84× p50)",
            ratio(p99),
            ratio(p50)
        ),
    ));
    s.notes.push(format!("A is the default workspace's admin key, B the owner of another organization's workspace made over HTTP; both send P1's create body in a closed loop (`--warmup` unmeasured, then `--duration` measured). \"Alone\" runs first, then A and B start together. The harness's `AXP_RATE_LIMIT_PER_KEY=0` applies and `AXP_WORKSPACE_MAX_INFLIGHT` is at its default (32), so B's flood is limited only by per-workspace admission; B's non-200 answers are listed, not counted as errors. A and B share the load generator's process and the machine's {} cores with the server.", std::thread::available_parallelism().map_or(0, |n| n.get())));
    Ok(s)
}
