//! The dashboard's pages, one module per area.

pub(crate) mod agents;
pub(crate) mod deliveries;
mod form_task;
pub(crate) mod inbox;
pub(crate) mod intents;
