//! The `axp` CLI end to end: the real binary against a real `axp serve` on port 0, driven the
//! way a person or a script would, with `--json` output checked against redacted snapshots
//! (`snapshots/`, refreshed with `AXP_UPDATE_SNAPSHOTS=1`).

mod helpers;

mod access;
mod agents;
mod archive;
mod audit;
mod connection;
mod deliveries;
mod demo;
mod inbox;
mod intents;
mod people;
mod scenarios;
mod shell;
mod tasks;
mod tenancy;
