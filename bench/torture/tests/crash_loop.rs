//! Torture 1, crash loop: writers submit intents with idempotency keys as fast as they can and
//! record every 200, while the server is `kill -9`'d at random intervals and restarted on the
//! same data dir. Afterwards every acknowledged intent exists with its events in order and no
//! gap in `seq`, every key maps to exactly one intent, and replaying a key returns that intent.
//!
//! Short (CI) settings: 20 cycles, a kill every 0.3–1.5 s. `AXP_TORTURE=long`: 20 cycles every
//! 1–5 s (issue 3). Override with `TORTURE_CRASH_CYCLES`, `TORTURE_CRASH_MIN_MS`,
//! `TORTURE_CRASH_MAX_MS`, `TORTURE_CRASH_WRITERS`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axp_loadgen::proc::{Axp, AxpOptions};
use axp_loadgen::stats::median;
use axp_torture::{Client, axp_bin, long, setting};
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::watch;

/// The body of key `(w, i)`: deterministic, so a retry carries the same fingerprint, and with a
/// `to_agent` of its own, so "exactly one intent per key" can be checked by listing that agent.
fn body(w: usize, i: u64) -> Value {
    json!({"intent_type": "torture.crash.v1", "to_agent": format!("crash-w{w}-i{i}"), "payload": {"w": w, "i": i}})
}

fn key(w: usize, i: u64) -> String {
    format!("crash-{w}-{i}")
}

/// One writer: keys `crash-w-0, crash-w-1, …`, each retried (same key, same body) until a 200,
/// until `stop` is set. Returns `(key, intent_id)` of every 200 and the unexpected statuses.
async fn writer(
    w: usize,
    addr: watch::Receiver<Option<SocketAddr>>,
    key_token: String,
    stop: Arc<AtomicBool>,
    deadline: Instant,
) -> (Vec<(u64, String)>, Vec<String>) {
    let mut acked = Vec::new();
    let mut unexpected = Vec::new();
    let mut client: Option<Client> = None;
    let mut addr = addr;
    for i in 0..u64::MAX {
        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
            break;
        }
        let (k, b) = (key(w, i), body(w, i));
        loop {
            if Instant::now() > deadline {
                unexpected.push(format!("{k}: gave up at the deadline"));
                return (acked, unexpected);
            }
            let current = *addr.borrow_and_update();
            let Some(current) = current else {
                let _ = tokio::time::timeout(Duration::from_secs(1), addr.changed()).await;
                continue;
            };
            if client.as_ref().is_none_or(|c| c.addr != current) {
                client = Some(Client::new(current, &key_token));
            }
            let c = client.as_mut().expect("client");
            match c.post("/v1/intents", &[("idempotency-key", &k)], &b).await {
                Ok(r) if r.status == 200 => {
                    let id = r.json()["intent_id"].as_str().unwrap_or_default().to_owned();
                    acked.push((i, id));
                    break;
                }
                Ok(r) if r.status == 409 && r.json()["error"]["code"] == "idempotency_in_progress" => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(r) if r.status >= 500 => tokio::time::sleep(Duration::from_millis(5)).await,
                Ok(r) => {
                    unexpected.push(format!("{k}: {} {}", r.status, r.text()));
                    break;
                }
                Err(_) => {
                    client = None;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }
    (acked, unexpected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "torture: spawns the real binary; run with bench/torture/run-short"]
async fn crash_loop_loses_and_duplicates_nothing() {
    let (cycles, min_ms, max_ms) = if long() { (20, 1000, 5000) } else { (20, 300, 1500) };
    let cycles: usize = setting("TORTURE_CRASH_CYCLES", cycles);
    let min_ms: u64 = setting("TORTURE_CRASH_MIN_MS", min_ms);
    let max_ms: u64 = setting("TORTURE_CRASH_MAX_MS", max_ms).max(min_ms + 1);
    let writers: usize = setting("TORTURE_CRASH_WRITERS", 16);
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = AxpOptions::new(&axp_bin(), dir.path());
    let mut axp = Axp::start(&opts).await.expect("axp starts");
    let key_token = axp.admin_key.clone();
    let (addr_tx, addr_rx) = watch::channel(Some(axp.addr));
    let stop = Arc::new(AtomicBool::new(false));
    // Hard bound on the whole writing phase.
    let deadline = Instant::now() + Duration::from_millis(cycles as u64 * (max_ms + 30_000));
    let tasks: Vec<_> = (0..writers)
        .map(|w| tokio::spawn(writer(w, addr_rx.clone(), key_token.clone(), stop.clone(), deadline)))
        .collect();

    let mut restarts = Vec::new();
    for _ in 0..cycles {
        let wait = rand::rng().random_range(min_ms..max_ms);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        addr_tx.send_replace(None);
        axp.guard.kill9();
        axp = Axp::start(&opts).await.expect("axp restarts after kill -9");
        restarts.push(axp.exec_to_ready.as_secs_f64() * 1000.0);
        addr_tx.send_replace(Some(axp.addr));
    }
    stop.store(true, Ordering::Relaxed);
    let mut acked: HashMap<String, (usize, u64, String)> = HashMap::new();
    let mut unexpected = Vec::new();
    for (w, t) in tasks.into_iter().enumerate() {
        let (a, u) = t.await.expect("writer");
        for (i, id) in a {
            acked.insert(key(w, i), (w, i, id));
        }
        unexpected.extend(u);
    }

    // One more kill, so the last batch is also read back from disk.
    axp.guard.kill9();
    let axp = Axp::start(&opts).await.expect("axp restarts");
    let results = Arc::new(Mutex::new((0usize, 0usize, 0usize, 0usize, Vec::<String>::new())));
    let items: Vec<_> = acked.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let chunks: Vec<Vec<_>> = items.chunks(items.len().div_ceil(8).max(1)).map(<[_]>::to_vec).collect();
    let mut checkers = Vec::new();
    for chunk in chunks {
        let (addr, key_token, results) = (axp.addr, key_token.clone(), results.clone());
        checkers.push(tokio::spawn(async move {
            let mut c = Client::new(addr, &key_token);
            for (k, (w, i, id)) in chunk {
                let mut problems = Vec::new();
                let (mut lost, mut dup, mut gap, mut replay) = (0, 0, 0, 0);
                let r = c.get(&format!("/v1/intents/{id}/events")).await.expect("events");
                if r.status != 200 {
                    lost += 1;
                    problems.push(format!("{k}: acknowledged intent {id} is gone ({})", r.status));
                } else {
                    let events = r.json()["events"].as_array().cloned().unwrap_or_default();
                    let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
                    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
                    if seqs != expected
                        || events.first().map(|e| &e["event_type"]) != Some(&json!("intent.created"))
                        || events.get(1).map(|e| &e["event_type"]) != Some(&json!("intent.submitted"))
                    {
                        gap += 1;
                        problems.push(format!("{k}: events of {id} out of order or with a gap: {seqs:?}"));
                    }
                }
                let r = c.get(&format!("/v1/intents?to_agent=crash-w{w}-i{i}&limit=10")).await.expect("list");
                let ids: Vec<String> = r.json()["intents"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x["intent_id"].as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                if ids.len() > 1 {
                    dup += ids.len() - 1;
                    problems.push(format!("{k}: {} intents for one key: {ids:?}", ids.len()));
                }
                let r = c.post("/v1/intents", &[("idempotency-key", &k)], &body(w, i)).await.expect("replay");
                if r.status != 200 || r.json()["intent_id"].as_str() != Some(id.as_str()) {
                    replay += 1;
                    problems.push(format!(
                        "{k}: replay answered {} {} (acknowledged {id})",
                        r.status,
                        r.text()
                    ));
                }
                let mut res = results.lock().unwrap_or_else(|e| e.into_inner());
                res.0 += lost;
                res.1 += dup;
                res.2 += gap;
                res.3 += replay;
                res.4.extend(problems);
            }
        }));
    }
    for c in checkers {
        c.await.expect("checker");
    }
    drop(axp);
    let (lost, dup, gap, replay, problems) = results.lock().unwrap_or_else(|e| e.into_inner()).clone();
    restarts.sort_by(f64::total_cmp);
    println!(
        "crash loop: {cycles} kill -9 cycles ({min_ms}–{max_ms} ms apart), {} acknowledged intents from {writers} writers; lost {lost}, duplicates {dup}, seq gaps {gap}, replay mismatches {replay}; restart-to-ready median {:.1} ms, max {:.1} ms",
        acked.len(),
        median(&restarts),
        restarts.last().copied().unwrap_or(f64::NAN)
    );
    for p in problems.iter().take(20) {
        println!("  {p}");
    }
    assert!(unexpected.is_empty(), "unexpected responses: {:?}", &unexpected[..unexpected.len().min(10)]);
    assert!(!acked.is_empty(), "no create was acknowledged");
    assert_eq!((lost, dup, gap, replay), (0, 0, 0, 0), "durability or idempotency broken: {problems:?}");
}
