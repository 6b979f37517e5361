//! Status as every controller writes it: condition types and reasons as constants, the
//! condition helpers of the Kubernetes API conventions, and the one status-patch helper.
//!
//! Status is written only when it changed (linkerd's policy-controller does the same), as a
//! JSON merge patch that carries exactly the difference: changed fields, and `null` for every
//! field that vanished, so a cleared marker (`pendingCreate`, `deleteTaskId`) is really cleared.
//! Writers that must not race another writer (an old and a new leader) add the object's
//! `resourceVersion` as a precondition.

use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Condition status values.
pub const TRUE: &str = "True";
/// Condition status values.
pub const FALSE: &str = "False";

/// Condition types, one list for every kind, so a type is never spelled two ways.
pub mod condition {
    /// Every kind: the object does what it declares.
    pub const READY: &str = "Ready";
    /// IdentityProfile: the tenant profile matches the spec.
    pub const SYNCED: &str = "Synced";
    /// IdentityProfile: another object manages the same tenant profile.
    pub const CONFLICT: &str = "Conflict";
    /// IdentityProfile: the tenant says the profile's identities need processing.
    pub const REFRESH_REQUIRED: &str = "RefreshRequired";
    /// ProcessingRequest: the target was resolved into tenant calls.
    pub const RESOLVED: &str = "Resolved";
    /// ProcessingRequest: something keeps the request from progressing (it will retry).
    pub const BLOCKED: &str = "Blocked";
    /// ProcessingRequest: finished successfully.
    pub const COMPLETE: &str = "Complete";
    /// ProcessingRequest: finished with a failure.
    pub const FAILED: &str = "Failed";
    /// ProcessingRequest: a call's outcome is unknown and it is not sent again.
    pub const SUBMISSION_OUTCOME_UNKNOWN: &str = "SubmissionOutcomeUnknown";
    /// IdentityProfile, LifecycleState: waits for objects it depends on to be on the tenant.
    pub const WAITING_FOR_DEPENDENCIES: &str = "WaitingForDependencies";
}

/// Reasons of conditions and Events (CamelCase, as the API conventions ask).
pub mod reason {
    // Success and progress.
    /// The tenant object matches the spec.
    pub const SYNCED: &str = "Synced";
    /// `managementPolicy: Observe`: looked, changed nothing.
    pub const OBSERVED: &str = "Observed";
    /// `managementPolicy: Observe` with a pending plan.
    pub const OBSERVE_ONLY: &str = "ObserveOnly";
    /// A Tenant's credential produced a token.
    pub const TOKEN_OBTAINED: &str = "TokenObtained";
    /// The tenant's `identityRefreshRequired` is false.
    pub const UP_TO_DATE: &str = "UpToDate";
    /// The tenant's `identityRefreshRequired` is true and the operator did not start processing.
    pub const TENANT_FLAG_SET: &str = "TenantFlagSet";
    /// The operator started processing of a profile's identities.
    pub const PROCESSING_STARTED: &str = "ProcessingStarted";
    /// A tenant profile was created.
    pub const CREATED: &str = "Created";
    /// An existing tenant profile was adopted.
    pub const ADOPTED: &str = "Adopted";
    /// The tenant profile was patched after a spec change.
    pub const PATCHED: &str = "Patched";
    /// The tenant profile was patched back after a change made in the tenant.
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// A tenant profile is being created (its `pendingCreate` marker is written).
    pub const CREATING: &str = "Creating";
    /// An `OnChange` processing call is being made (its `pendingProcessing` marker is written).
    pub const PROCESSING: &str = "Processing";
    /// A tenant delete task was started.
    pub const DELETING: &str = "Deleting";
    /// The tenant profile is gone.
    pub const DELETED: &str = "Deleted";
    /// A processing request was resolved into calls.
    pub const RESOLVED: &str = "Resolved";
    /// Calls were sent to the tenant.
    pub const SUBMITTED: &str = "Submitted";
    /// A processing request finished successfully.
    pub const SUCCEEDED: &str = "Succeeded";
    /// A processing request failed (no more specific reason known).
    pub const FAILED: &str = "Failed";
    /// A call's outcome is unknown.
    pub const SUBMISSION_OUTCOME_UNKNOWN: &str = "SubmissionOutcomeUnknown";
    /// The tenant refused a processing call.
    pub const SUBMISSION_REJECTED: &str = "SubmissionRejected";
    /// A tenant task ended with an error.
    pub const TASK_FAILED: &str = "TaskFailed";
    /// The referenced profile is not on the tenant (yet).
    pub const PROFILE_NOT_READY: &str = "ProfileNotReady";
    /// The referenced profile does not exist on the tenant.
    pub const PROFILE_NOT_FOUND: &str = "ProfileNotFound";

    // Errors (see `ReconcileError::reason`).
    /// The referenced Tenant does not exist.
    pub const TENANT_NOT_FOUND: &str = "TenantNotFound";
    /// The credentials Secret does not exist.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// The credentials Secret lacks a usable key.
    pub const SECRET_INVALID: &str = "SecretInvalid";
    /// The spec cannot work; only a change helps.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// Another object manages the same tenant object.
    pub const CONFLICT: &str = "Conflict";
    /// The tenant refused the credential.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// The credential lacks a right.
    pub const FORBIDDEN: &str = "Forbidden";
    /// The tenant asked to slow down.
    pub const RATE_LIMITED: &str = "RateLimited";
    /// The tenant says the object does not exist.
    pub const NOT_FOUND: &str = "NotFound";
    /// The tenant refused the request as invalid.
    pub const TENANT_REJECTED: &str = "TenantRejected";
    /// The tenant failed or could not be reached.
    pub const TENANT_UNAVAILABLE: &str = "TenantUnavailable";
    /// A tenant task the operator waits for ended with an error.
    pub const TENANT_TASK_FAILED: &str = "TenantTaskFailed";
    /// The Kubernetes API failed.
    pub const KUBERNETES_ERROR: &str = "KubernetesError";
    /// Not an error: waiting for a tenant task.
    pub const WAITING: &str = "Waiting";
    /// A reconcile panicked (an operator bug); it is retried with backoff.
    pub const INTERNAL_ERROR: &str = "InternalError";

    // Why a processing request could not be resolved (nothing was sent).
    /// The identity filter matched no identity.
    pub const NO_MATCHING_IDENTITIES: &str = "NoMatchingIdentities";
    /// Some listed identity ids do not exist on the tenant.
    pub const IDENTITIES_NOT_FOUND: &str = "IdentitiesNotFound";
    /// The selection is larger than one request may handle.
    pub const TOO_MANY_IDENTITIES: &str = "TooManyIdentities";
    /// A request's `spec.maxIdentities` is above the operator's `--max-identities-ceiling`.
    pub const MAX_IDENTITIES_ABOVE_CEILING: &str = "MaxIdentitiesAboveCeiling";
    /// The target does not fit the request (e.g. a profile of another tenant).
    pub const INVALID_TARGET: &str = "InvalidTarget";
    /// An id is not a plain tenant id.
    pub const INVALID_IDENTITY_ID: &str = "InvalidIdentityId";

    // IdentityProfile safety (issue 8).
    /// A tenant profile could not be decoded; only the object that maps to it stops.
    pub const MALFORMED_TENANT_OBJECT: &str = "MalformedTenantObject";
    /// `deletionPolicy: Delete` cannot run: the Tenant or its Secret is gone.
    pub const DELETION_BLOCKED: &str = "DeletionBlocked";
    /// An `OnChange` processing call's outcome is unknown; it is not sent again.
    pub const PROCESSING_OUTCOME_UNKNOWN: &str = "ProcessingOutcomeUnknown";
    /// A `ProcessingRequest` call's outcome is unknown; its task is being looked for on the
    /// tenant's task lists.
    pub const LOCATING_TASK: &str = "LocatingTask";
    /// The task of a call whose outcome was unknown was found on the tenant's task lists.
    pub const TASK_FOUND: &str = "TaskFound";

    // The identity model (issue 11).
    /// Waits for objects it depends on (a profile, an attribute, a transform) on the tenant.
    pub const WAITING_FOR_DEPENDENCIES: &str = "WaitingForDependencies";
    /// The tenant refused a write that needs a credential with user context (a personal
    /// access token), e.g. creating an identity attribute.
    pub const USER_CONTEXT_REQUIRED: &str = "UserContextRequired";
    /// A name in the spec (source name, owner alias, transform name) matches no tenant object
    /// on the object's Tenant (yet).
    pub const UNRESOLVED_REFERENCE: &str = "UnresolvedReference";
    /// A name in the spec matches several tenant objects on the object's Tenant.
    pub const AMBIGUOUS_REFERENCE: &str = "AmbiguousReference";
    /// A tenant object was updated (PUT or PATCH) after a spec change.
    pub const UPDATED: &str = "Updated";
}

/// Sets (or adds) condition `type_`, keeping `lastTransitionTime` unless the status changes.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
) {
    let message = message.into();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            if existing.status != status {
                existing.last_transition_time = now();
            }
            existing.status = status.to_string();
            existing.reason = reason.to_string();
            existing.message = message;
            existing.observed_generation = generation;
        }
        None => conditions.push(Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.to_string(),
            message,
            observed_generation: generation,
            last_transition_time: now(),
        }),
    }
}

/// Removes condition `type_` if present.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// Finds condition `type_`.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether condition `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(|c| c.status == TRUE)
}

/// The current time as a Kubernetes `Time`.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// The JSON merge patch (RFC 7386) that turns `old` into `new`: changed fields, nested objects
/// diffed key by key, and `null` for every key that vanished. `None` when nothing changed.
///
/// `new` must not hold JSON `null`s itself (merge patch cannot express them); status types skip
/// `None` fields when serializing, so they never do.
pub fn merge_patch_diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    let (Value::Object(old), Value::Object(new)) = (old, new) else {
        return Some(new.clone());
    };
    let mut patch = Map::new();
    for (key, new_value) in new {
        match old.get(key) {
            Some(old_value) if old_value == new_value => {}
            Some(old_value @ Value::Object(_)) if new_value.is_object() => {
                if let Some(inner) = merge_patch_diff(old_value, new_value) {
                    patch.insert(key.clone(), inner);
                }
            }
            _ => {
                patch.insert(key.clone(), new_value.clone());
            }
        }
    }
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        patch.insert(key.clone(), Value::Null);
    }
    Some(Value::Object(patch))
}

/// Whether a status write must find the object unchanged since it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteGuard {
    /// Last writer wins (the status is recomputed from the tenant on every reconcile).
    None,
    /// The write fails with 409 unless the object still has this `resourceVersion`: two
    /// writers (an old and a new leader) cannot both claim the same step.
    ResourceVersion(Option<String>),
}

/// Writes the difference between `old` and `new` as the object's status; nothing when they are
/// equal, unless the write is guarded (then the precondition is checked all the same). Returns
/// the updated object when a write happened. The one way every controller
/// writes status (the operator never writes `spec`).
pub async fn patch_status<K, S>(
    api: &Api<K>,
    name: &str,
    old: Option<&S>,
    new: &S,
    guard: WriteGuard,
) -> Result<Option<K>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    let old = match old {
        Some(old) => serde_json::to_value(old).map_err(kube::Error::SerdeError)?,
        None => Value::Object(Map::new()),
    };
    let new = serde_json::to_value(new).map_err(kube::Error::SerdeError)?;
    let diff = match (merge_patch_diff(&old, &new), &guard) {
        (Some(diff), _) => diff,
        // A guarded write that changes nothing is still sent (as an empty patch): the
        // precondition is the point. Two reconciles within one second can compute the same
        // marker (`Time` has second resolution), and the later, stale one must get its 409.
        (None, WriteGuard::ResourceVersion(_)) => Value::Object(Map::new()),
        (None, WriteGuard::None) => return Ok(None),
    };
    let mut patch = serde_json::json!({ "status": diff });
    if let WriteGuard::ResourceVersion(version) = guard {
        patch["metadata"] = serde_json::json!({ "resourceVersion": version });
    }
    let updated = api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(Some(updated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn transition_time_is_kept_while_the_status_stays() {
        let mut cs = Vec::new();
        set_condition(&mut cs, "Ready", TRUE, "Synced", "ok", Some(1));
        let first = cs[0].last_transition_time.clone();
        std::thread::sleep(std::time::Duration::from_millis(5));
        set_condition(&mut cs, "Ready", TRUE, "Synced", "still ok", Some(2));
        assert_eq!(cs[0].last_transition_time, first);
        assert_eq!(cs[0].message, "still ok");
        assert_eq!(cs[0].observed_generation, Some(2));
        set_condition(&mut cs, "Ready", FALSE, "Error", "broken", Some(2));
        assert_ne!(cs[0].last_transition_time, first);
        assert_eq!(cs.len(), 1);
        assert!(!is_true(&cs, "Ready"));
        remove_condition(&mut cs, "Ready");
        assert!(cs.is_empty());
    }

    #[test]
    fn the_diff_nulls_vanished_keys_and_keeps_unchanged_ones_out() {
        let old = json!({"id": "a", "pendingCreate": {"name": "x"}, "plan": {"action": "Patch", "patches": [1]}});
        let new = json!({"id": "a", "plan": {"action": "None"}, "deleteTaskId": "t"});
        assert_eq!(
            merge_patch_diff(&old, &new),
            Some(
                json!({"pendingCreate": null, "plan": {"action": "None", "patches": null}, "deleteTaskId": "t"})
            )
        );
        assert_eq!(merge_patch_diff(&new, &new), None);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::from),
            (0i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Applying the diff to the old status yields exactly the new one.
        #[test]
        fn applying_the_diff_yields_the_new_status(
            old in prop::collection::btree_map("[a-d]", json_value(), 0..4),
            new in prop::collection::btree_map("[a-d]", json_value(), 0..4),
        ) {
            let old = Value::Object(old.into_iter().collect());
            let new = Value::Object(new.into_iter().collect());
            let mut patched = old.clone();
            if let Some(diff) = merge_patch_diff(&old, &new) {
                json_patch::merge(&mut patched, &diff);
            }
            prop_assert_eq!(patched, new);
        }
    }
}
