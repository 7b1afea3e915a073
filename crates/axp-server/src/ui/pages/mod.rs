//! The dashboard's pages, one module per area.

mod form_task;
pub(crate) mod inbox;
pub(crate) mod intents;
