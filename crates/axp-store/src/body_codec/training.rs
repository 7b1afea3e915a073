//! How the v2 dictionaries (`event_dict_v2.zdict`, `intent_dict_v2.zdict`) were made, kept so
//! that a v3 can be made the same way. They must never be remade in place (the module doc of
//! `body_codec`): run `AXP_DICT_OUT=<dir> cargo test -p axp-store --lib make_v2_dictionaries --
//! --ignored` and the files land in `<dir>`.
//!
//! The corpus: every row of the v1 texts (each a stored row of one kind: every event type, a
//! create's pair of events, intents in each status), 600 times each, with the values a
//! deployment chooses varied at random: agent addresses (org, workspace, name), ids, times,
//! intent types, names, messages, numbers and payloads; half the deployments keep the
//! organization and workspace a new server starts with (`default/default`). The enum values
//! (statuses, event types, error codes, pending-with types) and the field names stay, as they
//! do in every deployment. Each sample goes through the row's own type and the writer's code,
//! so its fields come in the stored order. None of the benchmark's values (`bench-worker`,
//! `bench.report.generate.v1`, its payload's keys) is in it, so what the benchmarks measure is
//! the dictionary on rows it never saw. zstd's trainer then picks 4 KiB of repeated content
//! and fits the entropy tables that let a small body skip building its own (the gains: the
//! module doc of `body_codec`).
//!
//! The same corpus checks that the writer's event rows (`event_rows::row_json`, serialized
//! straight from the events) are the bytes the rows the dictionaries were first trained on
//! had (serialized through a JSON map).

use serde_json::{Map, Value};

/// Variants made of each v1 row.
const VARIANTS: usize = 600;
/// The size of each trained dictionary, bytes.
const DICTIONARY_BYTES: usize = 4096;

/// A small deterministic generator (xorshift64), so the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A lowercase word of 3 to 12 letters, sometimes two joined by `-` or `_`.
    fn word(&mut self) -> String {
        let one = |rng: &mut Self| {
            let len = 3 + rng.below(10);
            (0..len).map(|_| char::from(b'a' + rng.below(26) as u8)).collect::<String>()
        };
        match self.below(4) {
            0 => format!("{}-{}", one(self), one(self)),
            1 => format!("{}_{}", one(self), one(self)),
            _ => one(self),
        }
    }

    fn sentence(&mut self) -> String {
        let words = 1 + self.below(8);
        (0..words).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }

    fn uuid(&mut self) -> String {
        let bytes: Vec<u8> = (0..16).map(|_| self.next() as u8).collect();
        uuid::Builder::from_random_bytes(bytes.try_into().expect("16 bytes")).into_uuid().to_string()
    }

    fn time(&mut self) -> String {
        format!(
            "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            25 + self.below(3),
            1 + self.below(12),
            1 + self.below(28),
            self.below(24),
            self.below(60),
            self.below(60),
            self.below(1000)
        )
    }

    fn address(&mut self, org: &str, workspace: &str) -> String {
        format!("agent://{org}/{workspace}/{}", self.word())
    }

    fn intent_type(&mut self) -> String {
        format!("{}.{}.v{}", self.word(), self.word(), 1 + self.below(3))
    }

    /// A payload or result: 0 to 6 fields of strings, numbers, flags and small nested values.
    fn object(&mut self, depth: u32) -> Value {
        let fields = self.below(7);
        let mut map = Map::new();
        for _ in 0..fields {
            let value = match self.below(if depth > 0 { 5 } else { 4 }) {
                0 => Value::from(self.sentence()),
                1 => Value::from(self.below(100_000)),
                2 => Value::from(self.below(2) == 0),
                3 => Value::from(self.uuid()),
                _ => self.object(depth - 1),
            };
            map.insert(self.word(), value);
        }
        Value::Object(map)
    }
}

/// The values a deployment chooses, fixed for one row so its addresses agree.
struct Deployment {
    org: String,
    workspace: String,
}

/// `value` with its deployment-chosen values varied (module doc); `key` is the field it is in.
fn vary(rng: &mut Rng, at: &Deployment, key: &str, value: &Value) -> Value {
    match value {
        Value::Object(_) if matches!(key, "payload" | "result") => rng.object(2),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), vary(rng, at, k, v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| vary(rng, at, key, v)).collect()),
        Value::String(s) if s.starts_with("agent://") => Value::from(rng.address(&at.org, &at.workspace)),
        Value::String(s) if s.len() == 24 && s.ends_with('Z') => Value::from(rng.time()),
        Value::String(s) if uuid::Uuid::try_parse(s).is_ok() => Value::from(rng.uuid()),
        Value::String(_) if key == "intent_type" => Value::from(rng.intent_type()),
        Value::String(_) if key == "name" => Value::from(rng.word()),
        // The v1 text has a waiting reason the server never writes; the corpus has the real ones.
        Value::String(_) if key == "waiting_reason" => {
            let reasons = ["WAITING_FOR_HUMAN", "WAITING_FOR_TOOL", "WAITING_FOR_AGENT", "WAITING_FOR_TIME"];
            Value::from(reasons[rng.below(4) as usize])
        }
        Value::String(_) if matches!(key, "message" | "reason" | "id" | "task_id" | "title") => {
            Value::from(rng.sentence())
        }
        Value::Number(_) if !matches!(key, "seq" | "last_seq" | "policy_generation") => {
            Value::from(rng.below(1000))
        }
        other => other.clone(),
    }
}

/// The rows of a v1 text (concatenated JSON values).
fn rows(text: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("v1 text")
}

/// The events of a varied v1 row, each given an `intent_id` (the row leaves it out).
fn events(value: Value) -> Vec<axp_core::IntentEvent> {
    let event = |mut v: Value| {
        v["intent_id"] = Value::from(uuid::Uuid::nil().to_string());
        serde_json::from_value::<axp_core::IntentEvent>(v).expect("an event")
    };
    match value {
        Value::Array(events) => events.into_iter().map(event).collect(),
        one => vec![event(one)],
    }
}

/// An `intent_events` row's JSON as the writer makes it ([`crate::event_rows`]).
fn event_row(value: Value) -> Vec<u8> {
    crate::event_rows::row_json(&events(value)).expect("json").into_bytes()
}

/// An `intent_events` row's JSON as the writer made it before it serialized events straight:
/// through a JSON map, without `intent_id` and top-level nulls.
fn event_row_through_a_map(value: Value) -> Vec<u8> {
    let stored = |e: &axp_core::IntentEvent| {
        let mut value = serde_json::to_value(e).expect("json");
        if let Value::Object(fields) = &mut value {
            fields.remove("intent_id");
            fields.retain(|_, v| !v.is_null());
        }
        value
    };
    let row = match events(value).as_slice() {
        [one] => stored(one),
        run => Value::Array(run.iter().map(stored).collect()),
    };
    crate::to_json(&row).expect("json").into_bytes()
}

/// An `intents` body's JSON as the writer makes it (through [`axp_core::Intent`]).
fn intent_row(value: Value) -> Vec<u8> {
    let intent: axp_core::Intent = serde_json::from_value(value).expect("an intent");
    crate::to_json(&intent).expect("json").into_bytes()
}

/// The training corpus for one kind of body: `VARIANTS` variants of each of `text`'s rows,
/// each made into the row's JSON by `row`.
fn corpus(text: &[u8], seed: u64, row: fn(Value) -> Vec<u8>) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed);
    let templates = rows(text);
    let mut samples = Vec::with_capacity(templates.len() * VARIANTS);
    for _ in 0..VARIANTS {
        // Half the deployments keep the organization and workspace every new server starts
        // with (`default/default`); the others name their own.
        let at = match rng.below(2) {
            0 => Deployment { org: "default".into(), workspace: "default".into() },
            _ => Deployment { org: rng.word(), workspace: rng.word() },
        };
        for template in &templates {
            samples.push(row(vary(&mut rng, &at, "", template)));
        }
    }
    samples
}

#[test]
#[ignore = "writes the v2 dictionaries to $AXP_DICT_OUT; run by hand to make a new version"]
fn make_v2_dictionaries() {
    let out =
        std::path::PathBuf::from(std::env::var("AXP_DICT_OUT").expect("AXP_DICT_OUT names a directory"));
    let seed = |n: u64| 0x9e37_79b9_7f4a_7c15 ^ n;
    let corpora = [
        ("event_dict_v2.zdict", corpus(include_bytes!("../event_dict_v1.txt"), seed(1), event_row)),
        ("intent_dict_v2.zdict", corpus(include_bytes!("../intent_dict_v1.txt"), seed(2), intent_row)),
    ];
    for (name, samples) in corpora {
        let dictionary = zstd::dict::from_samples(&samples, DICTIONARY_BYTES).expect("training");
        std::fs::write(out.join(name), dictionary).expect("write");
    }
}

#[test]
fn events_serialized_straight_give_the_bytes_the_map_gave() {
    // Every kind of event row, 600 variants each (the same random values for both: `vary`
    // alone draws them).
    let text = include_bytes!("../event_dict_v1.txt");
    let straight = corpus(text, 11, event_row);
    let through_a_map = corpus(text, 11, event_row_through_a_map);
    assert_eq!(straight.len(), 14 * VARIANTS);
    for (a, b) in straight.iter().zip(&through_a_map) {
        assert_eq!(String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    }
}

#[test]
fn the_corpus_varies_what_deployments_choose_and_keeps_the_enums() {
    let samples = corpus(include_bytes!("../event_dict_v1.txt"), 7, event_row);
    let text = String::from_utf8(samples.concat()).unwrap();
    assert!(!text.contains("agent://\""), "every address is a full one");
    assert!(text.contains("\"status\":\"SUBMITTED\"") && text.contains("\"event_type\":\"intent.created\""));
    assert!(!text.contains("bench-worker"), "no benchmark value");
    assert_eq!(samples.len(), 14 * VARIANTS);
    // Intents keep their type's field order, as the writer serializes them.
    let intents = corpus(include_bytes!("../intent_dict_v1.txt"), 7, intent_row);
    assert!(intents.iter().all(|s| s.starts_with(b"{\"intent_id\":")));
}
