//! End-to-end tests: a real server on port 0, driven through `axp-client`, with raw HTTP only
//! where the wire itself is under test.

mod actor_tokens;
mod agents;
mod audit;
mod callers;
mod directory;
mod grants;
mod helpers;
mod inbox;
mod intents;
mod interop;
mod invites;
mod listing;
mod mcp;
mod media;
mod mesh;
mod metrics;
mod openapi;
mod organizations;
mod probes;
mod push;
mod quotas;
mod retention;
mod routing;
mod scenarios;
mod schemas;
mod sse;
mod tenancy;
mod tenancy_access;
mod time_bounds;
mod timers;
mod ui;
mod ui_admin;
mod users;
mod webhooks;
mod workflows;
