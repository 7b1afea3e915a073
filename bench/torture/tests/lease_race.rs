//! Torture 3, lease race: a pool of agents claims intents (`POST /v1/agents/{address}/intents/claim`,
//! the poll binding: claim = lease, `lease_seconds: 1`). Agents are killed mid-lease (the claimed
//! intent is abandoned with its connection and a fresh agent takes the slot) while the others keep
//! claiming; some agents are slow and finish after their lease ran out, racing the agent that got
//! the redelivery. Every intent must end COMPLETED with exactly one terminal event, and exactly
//! one resume per intent may succeed (the others get 409). Redeliveries are counted.
//!
//! Short: 200 intents, 6 agents. `AXP_TORTURE=long`: 2,000 intents, 12 agents. Override:
//! `TORTURE_LEASE_INTENTS`, `TORTURE_LEASE_AGENTS`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axp_loadgen::proc::{Axp, AxpOptions};
use axp_torture::{Client, axp_bin, long, setting};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const ADDRESS: &str = "lease-pool";

#[derive(Default)]
struct Tally {
    kills: AtomicUsize,
    slow: AtomicUsize,
    completed: AtomicUsize,
    lost_races: AtomicUsize,
}

/// One agent slot: claims one intent at a time until every intent is done or the deadline.
/// A "kill" abandons the claimed intent and the connection; the slot then continues as a new
/// agent (a new connection), as a supervisor would restart it.
async fn agent_slot(
    slot: usize,
    addr: std::net::SocketAddr,
    key: String,
    total: usize,
    tally: Arc<Tally>,
    wins: Arc<Mutex<HashMap<String, usize>>>,
    deadline: Instant,
) -> Vec<String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(slot as u64 + 7);
    let mut problems = Vec::new();
    let mut client = Client::new(addr, &key);
    while tally.completed.load(Ordering::Relaxed) < total && Instant::now() < deadline {
        let r = match client
            .post(
                &format!("/v1/agents/{ADDRESS}/intents/claim"),
                &[],
                &json!({"limit": 1, "wait_seconds": 1}),
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("slot {slot}: claim failed: {e}"));
                break;
            }
        };
        if r.status != 200 {
            problems.push(format!("slot {slot}: claim answered {} {}", r.status, r.text()));
            break;
        }
        let claimed = r.json()["intents"].as_array().cloned().unwrap_or_default();
        for item in claimed {
            let Some(id) = item["intent_id"].as_str().map(str::to_owned) else { continue };
            let fate: f64 = rng.random();
            if fate < 0.2 {
                // Killed mid-lease: the claim is abandoned; a new agent takes the slot.
                tally.kills.fetch_add(1, Ordering::Relaxed);
                client = Client::new(addr, &key);
                continue;
            }
            if fate < 0.3 {
                // Slow: finishes after the 1 s lease ran out (the intent may be redelivered).
                tally.slow.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
            let body = json!({"result": {"slot": slot, "attempt": item["delivery_attempt"]}});
            match client.post(&format!("/v1/intents/{id}/resume"), &[], &body).await {
                Ok(r) if r.status == 200 => {
                    tally.completed.fetch_add(1, Ordering::Relaxed);
                    *wins.lock().await.entry(id).or_default() += 1;
                }
                Ok(r) if r.status == 409 => {
                    tally.lost_races.fetch_add(1, Ordering::Relaxed);
                }
                Ok(r) => {
                    problems.push(format!("slot {slot}: resume of {id} answered {} {}", r.status, r.text()))
                }
                Err(e) => problems.push(format!("slot {slot}: resume of {id} failed: {e}")),
            }
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "torture: spawns the real binary; run with bench/torture/run-short"]
async fn every_intent_completes_exactly_once_despite_killed_agents() {
    let total: usize = setting("TORTURE_LEASE_INTENTS", if long() { 2000 } else { 200 });
    let agents: usize = setting("TORTURE_LEASE_AGENTS", if long() { 12 } else { 6 });
    let dir = tempfile::tempdir().expect("temp dir");
    let axp = Axp::start(&AxpOptions::new(&axp_bin(), dir.path())).await.expect("axp starts");
    let mut c = Client::new(axp.addr, &axp.admin_key);
    let mut ids = Vec::with_capacity(total);
    for i in 0..total {
        let r = c
            .post(
                "/v1/intents",
                &[],
                &json!({"intent_type": "torture.lease.v1", "to_agent": ADDRESS, "lease_seconds": 1, "payload": {"i": i}}),
            )
            .await
            .expect("create");
        assert_eq!(r.status, 200, "create: {}", r.text());
        ids.push(r.json()["intent_id"].as_str().expect("id").to_owned());
    }

    let tally = Arc::new(Tally::default());
    let wins = Arc::new(Mutex::new(HashMap::new()));
    let deadline = Instant::now() + Duration::from_secs(if long() { 600 } else { 120 });
    let slots: Vec<_> = (0..agents)
        .map(|s| {
            tokio::spawn(agent_slot(
                s,
                axp.addr,
                axp.admin_key.clone(),
                total,
                tally.clone(),
                wins.clone(),
                deadline,
            ))
        })
        .collect();
    let mut problems = Vec::new();
    for s in slots {
        problems.extend(s.await.expect("agent slot"));
    }

    let wins = wins.lock().await.clone();
    let (mut not_completed, mut extra_terminals, mut redeliveries, mut max_attempt) = (0, 0, 0, 0);
    for id in &ids {
        let r = c.get(&format!("/v1/intents/{id}/events")).await.expect("events");
        let events: Vec<Value> = r.json()["events"].as_array().cloned().unwrap_or_default();
        let terminals: Vec<&Value> = events
            .iter()
            .filter(|e| {
                matches!(e["status"].as_str(), Some("COMPLETED" | "FAILED" | "CANCELED" | "TIMED_OUT"))
            })
            .collect();
        let delivered = events.iter().filter(|e| e["event_type"] == "intent.delivered").count();
        redeliveries += delivered.saturating_sub(1);
        max_attempt = max_attempt.max(delivered);
        if terminals.len() != 1 || terminals[0]["event_type"] != "intent.completed" {
            not_completed += usize::from(terminals.is_empty());
            extra_terminals += terminals.len().saturating_sub(1);
            problems.push(format!("{id}: terminal events {terminals:?}"));
        }
        if wins.get(id).copied().unwrap_or(0) != 1 {
            problems.push(format!("{id}: {} successful completions", wins.get(id).copied().unwrap_or(0)));
        }
    }
    drop(axp);
    println!(
        "lease race: {total} intents, {agents} agents; {} agents killed mid-lease, {} slow past their lease; {} redeliveries (most deliveries of one intent: {max_attempt}); {} lost completion races (409); not completed {not_completed}, extra terminal events {extra_terminals}",
        tally.kills.load(Ordering::Relaxed),
        tally.slow.load(Ordering::Relaxed),
        redeliveries,
        tally.lost_races.load(Ordering::Relaxed),
    );
    for p in problems.iter().take(20) {
        println!("  {p}");
    }
    assert!(problems.is_empty(), "{} problems (see the output above)", problems.len());
    assert_eq!(tally.completed.load(Ordering::Relaxed), total, "every intent completed exactly once");
}
