//! What a backend's writer reports through the [`metrics`] facade: each committed write
//! transaction's size and time, recorded the same way by both backends. The series are listed,
//! with the server's others, in `docs/metrics.md`; the server's `/metrics` renders them.

use std::time::Duration;

/// Histogram: jobs committed in one write transaction (one group commit), label `backend`.
pub const COMMIT_BATCH_SIZE: &str = "axp_store_commit_batch_size";

/// Histogram: seconds from a write transaction's `BEGIN` to the end of its `COMMIT`, label
/// `backend`.
pub const COMMIT_DURATION_SECONDS: &str = "axp_store_commit_duration_seconds";

/// Records one committed write transaction of `backend` (`sqlite` or `postgres`): `jobs` jobs
/// in `took` from `BEGIN` to the end of `COMMIT`.
pub fn record_commit(backend: &'static str, jobs: usize, took: Duration) {
    metrics::histogram!(COMMIT_BATCH_SIZE, "backend" => backend).record(jobs as f64);
    metrics::histogram!(COMMIT_DURATION_SECONDS, "backend" => backend).record(took.as_secs_f64());
}
