//! The dashboard's pages, one module per area.

use std::collections::HashMap;

use crate::extract::QueryMap;

pub(crate) mod agents;
pub(crate) mod audit;
pub(crate) mod deliveries;
mod form_task;
pub(crate) mod inbox;
pub(crate) mod intents;
pub(crate) mod service_accounts;
pub(crate) mod webhooks;

/// The query string `pairs` as an API handler's [`QueryMap`]; pairs with an empty value are left
/// out (an empty filter field asks for nothing).
fn query(pairs: &[(&str, &str)]) -> QueryMap {
    let pairs = pairs.iter().filter(|(_, v)| !v.is_empty());
    QueryMap(pairs.map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<HashMap<_, _>>())
}
