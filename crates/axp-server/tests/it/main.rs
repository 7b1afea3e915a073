//! End-to-end tests: a real server on port 0, driven through `axp-client`, with raw HTTP only
//! where the wire itself is under test.

mod agents;
mod directory;
mod helpers;
mod inbox;
mod intents;
mod openapi;
mod organizations;
mod push;
mod scenarios;
mod sse;
mod tenancy;
mod tenancy_access;
mod timers;
mod webhooks;
mod workflows;
