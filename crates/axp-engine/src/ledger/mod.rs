//! [`Ledger`]: the write rules of every aggregate, written once over the storage traits
//! ([`axp_store::tables`]) and run by whichever [`Backend`] the server was started with.
//!
//! Every [`Store`] method is one job: the ledger packs its arguments with a plain function over
//! a [`Transaction`] and hands it to the backend, which runs it in a write transaction (batched
//! with others: group commit) or on a read connection. A backend only persists; routing to a
//! binding, hand-overs, retries versus dead letters, completion delivery, task answers and
//! idempotency are decided here, in one place:
//!
//! - [`intents`]: create, scenario apply, lifecycle commands, and what persisting an outcome
//!   means (events, timers, redelivery, notifications, completion delivery);
//! - [`routing`]: an intent to its agent by binding; hand-overs to streams and poll claims;
//! - [`timers`]: firing due timers;
//! - [`deliveries`]: push claims, attempts, dead letters and replays;
//! - [`webhooks`]: subscriptions and events;
//! - [`inbox`]: threads, their participants and change feeds, approvals;
//! - [`accounts`]: tenants, service accounts, keys, bindings, authentication;
//! - [`members`]: memberships (and the owner an organization keeps) and address grants;
//! - [`orgs`]: organizations and workspaces, their slugs, lookups across workspaces;
//! - [`directory`]: principals and their aliases;
//! - [`access_requests`]: access requests and the memberships approving them grants;
//! - [`audit`]: the audit log every admin and security action writes to, in its transaction;
//! - [`people`]: users and their nicks, invites, actor tokens;
//! - [`schemas`]: payload schemas, replaced whole and audited.
//! - [`media`]: media uploads, their expiry and the bytes the backend keeps;
//! - [`retention`]: retention periods and the removal of finished work past them.
//!
//! Jobs may run more than once (see [`axp_store::Job`]), so they only read their arguments, and
//! what a run notes for the metrics (intents created and finished, [`crate::metrics`]) is
//! counted for the run that committed only, once it did.

mod access_requests;
mod accounts;
mod audit;
mod deliveries;
mod directory;
mod inbox;
mod intents;
mod media;
mod members;
mod mesh;
mod orgs;
mod people;
mod quotas;
mod retention;
mod routes;
mod routing;
mod schemas;
mod store;
mod timers;
mod ui_sessions;
mod webhooks;

use std::sync::{Arc, OnceLock};

use axp_store::{Backend, Error, Job, Result, Transaction};
use futures::future::BoxFuture;
use tokio::sync::oneshot;

use crate::Presence;
use crate::metrics::{self, Fact, IntentTypeLabels};

/// The write rules over a [`Backend`]; implements [`axp_store::Store`]. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    backend: Arc<dyn Backend>,
    presence: Presence,
    /// The first [`Error::Corrupt`] any job met: the store is faulted until restart.
    fault: Arc<OnceLock<String>>,
    /// The `intent_type` label values of the intents counted ([`crate::metrics`]).
    intent_types: IntentTypeLabels,
}

impl Ledger {
    /// Rules over `backend`. `presence` says which agents have a stream open on this server:
    /// a new intent for such an agent is handed over in its create transaction.
    pub fn new(backend: Arc<dyn Backend>, presence: Presence) -> Self {
        Self { backend, presence, fault: Arc::default(), intent_types: IntentTypeLabels::default() }
    }

    /// Counts intents with `labels` as their `intent_type` label values (default: every type
    /// is `other`).
    pub fn with_intent_type_labels(mut self, labels: IntentTypeLabels) -> Self {
        self.intent_types = labels;
        self
    }

    /// Why the store is faulted, if a job met [`Error::Corrupt`] (see [`axp_store::Store::fault`]).
    pub fn fault(&self) -> Option<String> {
        self.fault.get().cloned()
    }

    /// Marks the store faulted on the first corruption error, logging it once, loudly.
    fn watch<R>(&self, result: Result<R>) -> Result<R> {
        if let Err(Error::Corrupt(msg)) = &result
            && self.fault.set(msg.clone()).is_ok()
        {
            tracing::error!(error = %msg, "the database is corrupted: /ready answers 503 until restart; restore from a backup");
        }
        result
    }

    /// Runs `f(&args, tx)` in the next write transaction; its result once that committed, after
    /// counting what the committed run noted ([`crate::metrics`]).
    async fn write<A, R>(&self, args: A, f: JobFn<A, R>) -> Result<R>
    where
        A: Send + Sync + 'static,
        R: Send + 'static,
    {
        let (job, rx) = Typed::job(args, f);
        self.backend.write(job).await;
        // The arguments come back to be dropped here, not on the writer thread (see `reply`).
        let (result, facts, _args) =
            rx.await.map_err(|_| Error::Unavailable("store writer has stopped".into()))?;
        if result.is_ok() {
            self.intent_types.record(&facts);
        }
        self.watch(result)
    }

    /// Runs `f(&args, tx)` on a read connection.
    async fn read<A, R>(&self, args: A, f: JobFn<A, R>) -> Result<R>
    where
        A: Send + Sync + 'static,
        R: Send + 'static,
    {
        let (job, rx) = Typed::job(args, f);
        self.backend.read(job).await;
        self.watch(rx.await.map_err(|_| Error::Unavailable("store reader has stopped".into()))?.0)
    }
}

/// A job's body: a plain function over its arguments, so it can run again.
type JobFn<A, R> = for<'a> fn(&'a A, &'a mut dyn Transaction) -> BoxFuture<'a, Result<R>>;

/// What a job answers: its result, what its last run noted for the metrics, and its
/// arguments, handed back to be dropped by the caller.
type Answer<A, R> = (Result<R>, Vec<Fact>, A);

/// A [`Job`] with typed arguments and result, answering through a oneshot channel.
struct Typed<A, R> {
    args: A,
    f: JobFn<A, R>,
    result: Option<Result<R>>,
    /// What the last run noted ([`crate::metrics::note`]); a run again starts over.
    facts: Vec<Fact>,
    tx: oneshot::Sender<Answer<A, R>>,
}

impl<A: Send + Sync + 'static, R: Send + 'static> Typed<A, R> {
    /// The job, boxed, and the receiver of its answer.
    fn job(args: A, f: JobFn<A, R>) -> (Box<dyn Job>, oneshot::Receiver<Answer<A, R>>) {
        let (tx, rx) = oneshot::channel();
        (Box::new(Self { args, f, result: None, facts: Vec::new(), tx }), rx)
    }
}

impl<A: Send + Sync + 'static, R: Send + 'static> Job for Typed<A, R> {
    fn run<'a>(&'a mut self, tx: &'a mut dyn Transaction) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let (result, facts) = metrics::tallied((self.f)(&self.args, tx)).await;
            let ok = result.is_ok();
            self.result = Some(result);
            self.facts = facts;
            ok
        })
    }

    fn error(&self) -> Option<&Error> {
        match &self.result {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }

    /// Sends the answer with the job's arguments: a create's are its intent, events and packed
    /// rows, and freeing them took about 2 % of the writer thread's time (issue 16, tenth stop),
    /// which is the one thread every write waits for. The caller drops them instead.
    fn reply(self: Box<Self>, committed: Result<()>) {
        let Self { args, result, facts, tx, .. } = *self;
        let result = match committed {
            Ok(()) => result.unwrap_or_else(|| Err(Error::Internal("a job never ran".into()))),
            Err(e) => Err(e),
        };
        let _ = tx.send((result, facts, args));
    }
}
