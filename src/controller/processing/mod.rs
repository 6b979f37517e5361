//! The `ProcessingRequest` reconciler: resolve → plan → submit (at most once) → follow → TTL.
//!
//! At-most-once rests on two rules. Every reconcile starts from a fresh read of the object
//! (the watch cache may lag behind the operator's own status writes), and every tenant call is
//! preceded by a status write that marks it `Submitting`, made with the object's
//! `resourceVersion` as a precondition. A `Submitting` entry found at the start of a reconcile
//! therefore belongs to a previous process that stopped mid-call: its outcome is unknown, and
//! it is not sent again unless the manifest opts in (`retryUnknownSubmission: true`).
//!
//! The pipeline, one module per step:
//! - `run`: the entry point [`reconcile`] (fresh read) and the state machine driving the steps;
//! - `write`: the `resourceVersion`-guarded status write with its bounded retry on a 409;
//! - `resolve`: the target (identities, profile, full refresh) resolved and verified against
//!   the tenant, reads only;
//! - [`rules`]: pure planning (selector → filter, chunks, recovery, phase);
//! - `submit`: each pending call recorded as `Submitting`, sent once, its outcome recorded;
//! - `locate`: the task of a call whose outcome is unknown, looked for on the tenant's task
//!   lists (pure matching in [`task_match`]), never sent again to find out;
//! - `follow`: tenant tasks polled with a backoff, within the tenant's poll [`budget`];
//! - `summary`: pure: phase, conditions and the Events to publish, from the submissions;
//! - `ttl`: deletion `ttlSecondsAfterFinished` after the request finished;
//! - `state`: process-wide state (the attribute-sync [`gate`], task poll times, poll budgets).

pub mod budget;
mod follow;
pub mod gate;
mod ids;
mod locate;
mod resolve;
pub mod rules;
mod run;
mod state;
mod submit;
mod summary;
pub mod task_match;
mod ttl;
mod write;

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub use run::reconcile;
pub use state::ProcessingState;

/// How long ago `t` was (zero when unset or in the future).
fn age(t: Option<&Time>) -> Duration {
    t.map(|t| {
        let elapsed = k8s_openapi::jiff::Timestamp::now().duration_since(t.0);
        Duration::try_from(elapsed).unwrap_or_default()
    })
    .unwrap_or_default()
}
