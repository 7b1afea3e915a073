//! The request's trace id, carried to the audit log: the `request_ids` middleware puts it in
//! the request's extensions, [`Caller`] picks it up, and a handler builds the [`Audit`] of its
//! admin or security action with [`Caller::audit`].

use axp_store::Audit;

use crate::extract::Caller;

/// The request's `x-trace-id` (echoed, or generated when absent; contract §1.7).
#[derive(Clone, Debug)]
pub(crate) struct TraceId(pub(crate) String);

impl Caller {
    /// Who acts in this request, and its trace id: what the store records with the action.
    pub(crate) fn audit(&self) -> Audit {
        Audit::new(&self.0.actor, self.1.clone())
    }
}
