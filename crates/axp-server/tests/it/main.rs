//! End-to-end tests: a real server on port 0, driven through `axp-client`, with raw HTTP only
//! where the wire itself is under test.

mod actor_tokens;
mod agents;
mod callers;
mod helpers;
mod inbox;
mod intents;
mod invites;
mod openapi;
mod push;
mod scenarios;
mod sse;
mod tenancy;
mod timers;
mod users;
mod webhooks;
mod workflows;
