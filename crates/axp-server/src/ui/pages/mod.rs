//! The dashboard's pages, one module per area.

pub(crate) mod agents;
mod form_task;
pub(crate) mod inbox;
pub(crate) mod intents;
