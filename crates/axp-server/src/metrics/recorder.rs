//! The process's Prometheus recorder: installed once, shared by every server of the process.
//!
//! The `metrics` facade has one recorder per process, set once. The first server started with
//! metrics on installs it ([`install`]); every later one (tests run many servers in one process)
//! shares its [`PrometheusHandle`]. The figures are therefore the process's: two servers in one
//! process add up in the counters, and the store gauges are those of whichever refreshed last.
//! `axp serve` runs one server per process, so there the figures are the server's.
//!
//! [`SERIES`] lists every series axp exports (its `# HELP` lines and `docs/metrics.md` come from
//! the same names; a test holds the document and the Grafana dashboard to it).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::{http, refresh};

/// What a series counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One exported series: its name, kind and meaning (its `# HELP` line).
pub(crate) struct Series {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) help: &'static str,
}

const fn series(name: &'static str, kind: Kind, help: &'static str) -> Series {
    Series { name, kind, help }
}

/// Every series axp exports (`docs/metrics.md` lists the same, with more words).
pub(crate) const SERIES: &[Series] = {
    use Kind::*;
    use axp_engine::metrics as engine;
    use axp_store::metrics as store;
    &[
        series(engine::INTENTS_CREATED, Counter, "Intents created."),
        series(engine::INTENTS_FINISHED, Counter, "Intents that reached a terminal status."),
        series(engine::PUSH_ATTEMPTS, Counter, "Push attempts recorded, by what they left the delivery as."),
        series(engine::PUSH_ATTEMPT_DURATION, Histogram, "Seconds one push attempt took."),
        series(engine::SCHEDULER_LAG, Histogram, "Seconds between a timer's due time and its firing."),
        series(
            store::COMMIT_BATCH_SIZE,
            Histogram,
            "Jobs committed in one write transaction (group commit).",
        ),
        series(
            store::COMMIT_DURATION_SECONDS,
            Histogram,
            "Seconds from a write transaction's BEGIN to the end of its COMMIT.",
        ),
        series(
            http::REQUEST_DURATION,
            Histogram,
            "Seconds from a request's arrival to its response head, by route template.",
        ),
        series(
            super::STREAMS_OPEN,
            Gauge,
            "Open SSE streams (kind=sse) and waiting long-poll claims (kind=long_poll).",
        ),
        series(
            refresh::QUEUE_DEPTH,
            Gauge,
            "Queued intents not yet handed to their agent, by the agent's binding.",
        ),
        series(refresh::STORE_ROWS, Gauge, "Rows per table of the store."),
        series(refresh::DATABASE_BYTES, Gauge, "Bytes the database takes."),
        series(refresh::WAL_BYTES, Gauge, "Bytes of SQLite's write-ahead log (SQLite only)."),
        series(
            refresh::OLDEST_UNFINISHED_AGE,
            Gauge,
            "Seconds since the oldest unfinished intent was created (0: none).",
        ),
        series(refresh::DEAD_LETTERS, Gauge, "Deliveries in the dead-letter list."),
        series(refresh::REFRESHED_AT, Gauge, "Unix time of the last successful read of the store's figures."),
    ]
};

/// Upper bounds of the `_seconds` histograms: a millisecond to a minute.
const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Upper bounds of the batch-size histogram: powers of two up to the largest batch (SQLite 256).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// How often histogram samples are folded into their buckets between scrapes, so memory stays
/// bounded when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first call (see the module doc). Histograms are real
/// Prometheus histograms ([`SECONDS_BUCKETS`], [`BATCH_BUCKETS`]). Should another recorder be
/// installed already (axp embedded in a program that set its own), `/metrics` renders nothing;
/// that is logged once.
pub(crate) fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(axp_store::metrics::COMMIT_BATCH_SIZE.into()),
                    BATCH_BUCKETS,
                )
            })
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        match metrics::set_global_recorder(recorder) {
            Ok(()) => describe(),
            Err(e) => {
                tracing::warn!(error = %e, "another metrics recorder is installed; /metrics stays empty")
            }
        }
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new().name("axp-metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no metrics upkeep thread: histograms are folded at each scrape only");
        }
        handle
    })
}

/// Whether [`install`] ran: the request middleware measures nothing before.
pub(crate) fn installed() -> bool {
    HANDLE.get().is_some()
}

/// Gives every series its `# HELP` line.
fn describe() {
    for s in SERIES {
        match s.kind {
            Kind::Counter => metrics::describe_counter!(s.name, s.help),
            Kind::Gauge => metrics::describe_gauge!(s.name, s.help),
            Kind::Histogram => metrics::describe_histogram!(s.name, s.help),
        }
    }
}

#[cfg(test)]
mod tests {
    use regex::Regex;
    use serde_json::Value;

    use super::*;

    const DOC: &str = include_str!("../../../../docs/metrics.md");
    const DASHBOARD: &str = include_str!("../../../../docs/grafana/axp.json");

    /// Whether `name` is a sample name the server exports: a series, or a histogram's
    /// `_bucket`, `_sum` or `_count`.
    fn exported(name: &str) -> bool {
        SERIES.iter().any(|s| {
            s.name == name
                || (s.kind == Kind::Histogram
                    && ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|part| name.strip_suffix(part) == Some(s.name)))
        })
    }

    #[test]
    fn the_document_lists_every_series_with_its_type_and_no_other() {
        let rows: Vec<(&str, &str)> = DOC
            .lines()
            .filter(|l| l.starts_with("| `axp_"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1].trim_matches('`'), cells[2])
            })
            .collect();
        for s in SERIES {
            let kind = format!("{:?}", s.kind).to_lowercase();
            assert!(
                rows.iter().any(|(name, doc_kind)| *name == s.name && doc_kind.starts_with(&kind)),
                "docs/metrics.md lacks `{}` ({kind})",
                s.name
            );
        }
        assert_eq!(rows.len(), SERIES.len(), "docs/metrics.md lists a series the server does not export");
        let names: std::collections::HashSet<&str> = SERIES.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SERIES.len(), "a series is listed twice");
    }

    #[test]
    fn every_dashboard_query_names_only_exported_series() {
        fn exprs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(e)) = map.get("expr") {
                        out.push(e);
                    }
                    map.values().for_each(|v| exprs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| exprs(v, out)),
                _ => {}
            }
        }
        let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is valid JSON");
        let mut found = Vec::new();
        exprs(&dashboard, &mut found);
        assert!(found.len() >= 10, "the dashboard has its queries");
        let name = Regex::new(r"\baxp_[a-z0-9_]+").unwrap();
        let mut used = std::collections::HashSet::new();
        for expr in found {
            for m in name.find_iter(expr) {
                assert!(
                    exported(m.as_str()),
                    "the dashboard queries `{}`, which axp does not export",
                    m.as_str()
                );
                used.insert(
                    m.as_str()
                        .trim_end_matches("_bucket")
                        .trim_end_matches("_sum")
                        .trim_end_matches("_count"),
                );
            }
        }
        for s in SERIES {
            assert!(used.contains(s.name), "the dashboard shows nothing of `{}`", s.name);
        }
    }
}
