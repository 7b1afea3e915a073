//! Torture 2, idempotency race: for each key, 8 racers send `POST /v1/intents` with that
//! `Idempotency-Key` at the same instant. On half the keys one racer sends a different body.
//! Exactly one intent exists per key; every racer with the winning body gets its `intent_id`
//! (or the documented 409 `idempotency_in_progress`), every racer with the other body gets the
//! documented 409 `idempotency_conflict` (or `idempotency_in_progress`).
//!
//! 1,000 keys (short and issue 3); `AXP_TORTURE=long`: 5,000. Override: `TORTURE_RACE_KEYS`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axp_loadgen::proc::{Axp, AxpOptions};
use axp_torture::{Client, axp_bin, long, setting};
use serde_json::{Value, json};
use tokio::sync::Barrier;

const RACERS: usize = 8;
/// Keys raced at the same time (each by `RACERS` connections).
const SLOTS: usize = 32;

fn body(k: usize, odd_one: bool) -> Value {
    let payload = if odd_one { json!({"k": k, "variant": "different"}) } else { json!({"k": k}) };
    json!({"intent_type": "torture.race.v1", "to_agent": format!("race-{k}"), "payload": payload})
}

/// Whether racer `r` of key `k` sends the different body.
fn odd(k: usize, r: usize) -> bool {
    k % 2 == 1 && r == RACERS - 1
}

#[derive(Debug, Clone)]
struct Outcome {
    racer: usize,
    status: u16,
    intent_id: Option<String>,
    code: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "torture: spawns the real binary; run with bench/torture/run-short"]
async fn one_intent_per_key_under_concurrent_retries() {
    let keys: usize = setting("TORTURE_RACE_KEYS", if long() { 5000 } else { 1000 });
    let dir = tempfile::tempdir().expect("temp dir");
    let axp = Axp::start(&AxpOptions::new(&axp_bin(), dir.path())).await.expect("axp starts");
    let run = uuid::Uuid::new_v4().simple().to_string();
    let deadline = Instant::now() + Duration::from_secs(600);
    let barriers: Vec<_> = (0..SLOTS).map(|_| Arc::new(Barrier::new(RACERS))).collect();
    let mut tasks = Vec::new();
    for (slot, slot_barrier) in barriers.iter().enumerate() {
        for racer in 0..RACERS {
            let (barrier, addr, token, run) =
                (slot_barrier.clone(), axp.addr, axp.admin_key.clone(), run.clone());
            tasks.push(tokio::spawn(async move {
                let mut client = Client::new(addr, &token);
                let mut out = Vec::new();
                let mut k = slot;
                while k < keys && Instant::now() < deadline {
                    let key = format!("race-{run}-{k}");
                    let b = body(k, odd(k, racer));
                    barrier.wait().await;
                    let r =
                        client.post("/v1/intents", &[("idempotency-key", &key)], &b).await.expect("response");
                    let v = r.json();
                    out.push((
                        k,
                        Outcome {
                            racer,
                            status: r.status,
                            intent_id: v["intent_id"].as_str().map(str::to_owned),
                            code: v["error"]["code"].as_str().map(str::to_owned),
                        },
                    ));
                    k += SLOTS;
                }
                out
            }));
        }
    }
    let mut by_key: BTreeMap<usize, Vec<Outcome>> = BTreeMap::new();
    for t in tasks {
        for (k, o) in t.await.expect("racer") {
            by_key.entry(k).or_default().push(o);
        }
    }
    assert_eq!(by_key.len(), keys, "every key was raced");

    let mut problems = Vec::new();
    let (mut replays, mut conflicts, mut in_progress) = (0, 0, 0);
    let mut client = Client::new(axp.addr, &axp.admin_key);
    for (k, outcomes) in &by_key {
        let ids: BTreeSet<&str> = outcomes.iter().filter_map(|o| o.intent_id.as_deref()).collect();
        if ids.len() != 1 {
            problems.push(format!("key {k}: {} distinct intent ids among 200s: {outcomes:?}", ids.len()));
            continue;
        }
        let winner_id = *ids.iter().next().expect("one id");
        // The body group that won: the group of any racer that got a 200.
        let winner_odd = outcomes.iter().find(|o| o.status == 200).map(|o| odd(*k, o.racer));
        for o in outcomes {
            let same_group = Some(odd(*k, o.racer)) == winner_odd;
            match (o.status, o.code.as_deref()) {
                (200, _) if same_group => replays += 1,
                (409, Some("idempotency_in_progress")) => in_progress += 1,
                (409, Some("idempotency_conflict")) if !same_group => conflicts += 1,
                _ => {
                    problems.push(format!("key {k} racer {}: unexpected {} {:?}", o.racer, o.status, o.code))
                }
            }
        }
        let r = client.get(&format!("/v1/intents?to_agent=race-{k}&limit=10")).await.expect("list");
        let listed = r.json()["intents"].as_array().cloned().unwrap_or_default();
        if listed.len() != 1 || listed[0]["intent_id"].as_str() != Some(winner_id) {
            problems.push(format!("key {k}: {} intents stored (expected exactly {winner_id})", listed.len()));
        } else if listed[0]["payload"] != body(*k, winner_odd == Some(true))["payload"] {
            problems.push(format!("key {k}: the stored payload is not the winning body's"));
        }
    }
    drop(axp);
    println!(
        "idempotency race: {keys} keys × {RACERS} racers ({} with one different body): {replays} × 200 with the one intent, {conflicts} × 409 idempotency_conflict, {in_progress} × 409 idempotency_in_progress, {} problems",
        keys / 2,
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems, first: {:?}",
        problems.len(),
        &problems[..problems.len().min(10)]
    );
    assert_eq!(conflicts + in_progress + replays, keys * RACERS);
}
