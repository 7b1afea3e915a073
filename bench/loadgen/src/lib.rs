//! Helpers shared by the benchmark runner (`axp-bench`) and the torture tests (`axp-torture`):
//!
//! - [`http`]: a minimal HTTP/1.1 keep-alive client and an SSE frame reader, cheap enough to
//!   load a server on the same 2-core machine;
//! - [`proc`]: spawning `axp serve` and the baselines, killing them by their own PID;
//! - [`stats`]: percentiles and medians.
//!
//! Everything talks to 127.0.0.1 only.

pub mod http;
pub mod proc;
pub mod stats;
