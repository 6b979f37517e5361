//! The `ProcessingRequest` reconciler: resolve → plan → submit (at most once) → follow → TTL.
//!
//! At-most-once rests on two rules. Every reconcile starts from a fresh read of the object
//! (the watch cache may lag behind the operator's own status writes), and every tenant call is
//! preceded by a status write that marks it `Submitting`, made with the object's
//! `resourceVersion` as a precondition. A `Submitting` entry found at the start of a reconcile
//! therefore belongs to a previous process that stopped mid-call: its outcome is unknown, and
//! it is not sent again unless the manifest opts in (`retryUnknownSubmission: true`).
//!
//! Large requests. A request resolves to at most `spec.maxIdentities` identities (default
//! [`rules::MAX_IDENTITIES`], never above the operator's `--max-identities-ceiling`; a larger
//! value fails before anything is read). Resolution streams: the identities list is read one
//! page of 250 at a time (`count=true` on the first page, so a total above the limit fails
//! at once and paging stops at the total: N matches cost ⌈N/250⌉ list calls), and every call's
//! ids are written as soon as the call is full, into ConfigMaps owned by the request
//! (`ids`; 5000 ids per ConfigMap, deleted with the request). The status write that records
//! the submissions names those ConfigMaps (`status.resolvedIds`) and holds one small entry per
//! call (its id count, state, task id, times; never the ids), so a 50 000-identity request's
//! status holds 200 entries of a few hundred bytes. The ids are kept, not recomputed, because
//! a resumed run (after a 429, a restart, a lost lease) must send exactly the calls that were
//! resolved: listing again could match other identities (processing may change what a
//! filter matches). Each call's ids are read back before its `Submitting` marker; ids that are
//! missing or no longer match the recorded count fail the call unsent. Every resolution
//! writes ConfigMaps of its own name, so a stale operator that lost the race for the status
//! write cannot change what a recorded call sends. Calls are made one at a time through the
//! tenant's shared rate limiter, so profile edits interleave with a long run.
//!
//! The pipeline, one module per step:
//! - `run`: the entry point [`reconcile`] (fresh read) and the state machine driving the steps;
//! - `write`: the `resourceVersion`-guarded status write with its bounded retry on a 409;
//! - `resolve`: the target (identities, profile, full refresh) resolved and verified against
//!   the tenant, reads only (plus the id ConfigMaps);
//! - `ids`: the resolved ids, written to and read back from the request's ConfigMaps;
//! - [`rules`]: pure planning (selector → filter, chunks, recovery, phase);
//! - `submit`: each pending call recorded as `Submitting`, sent once, its outcome recorded;
//! - `locate`: the task of a call whose outcome is unknown, looked for on the tenant's task
//!   lists (pure matching in [`task_match`]), never sent again to find out;
//! - `follow`: tenant tasks polled with a backoff, many per task-status list call, within the
//!   tenant's poll [`budget`];
//! - `summary`: pure: phase, conditions and the Events to publish, from the submissions;
//! - [`progress`]: pure: the kstatus conditions (`Ready`, `Reconciling`, `Stalled`,
//!   `Suspended`), set on every status write;
//! - `hold`: the pause switches (`Tenant.spec.suspend`, the `paused` annotation) hold every call;
//! - [`completed`]: the record of finished runs (a ConfigMap per namespace), so a request
//!   recreated with the same name and spec after its TTL deleted it ends as `AlreadyCompleted`
//!   without a tenant call;
//! - `ttl`: deletion `ttlSecondsAfterFinished` after the request finished (once its run is
//!   recorded);
//! - `state`: process-wide state (the attribute-sync [`gate`], task poll times, poll budgets).

pub mod budget;
pub mod completed;
mod follow;
pub mod gate;
mod hold;
mod ids;
mod locate;
pub mod progress;
mod resolve;
pub mod rules;
mod run;
mod state;
mod submit;
mod summary;
pub mod task_board;
pub mod task_match;
mod ttl;
pub mod verified;
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
