//! The `IdentityProfile` reconciler: dereference → plan → apply → status.

pub mod diff;

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{self, Event as FinalizerEvent};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::api::identity_profile::{
    DeletionPolicy, ManagementPolicy, PendingCreate, PlannedChange, PlannedOperation, RefreshPolicy,
};
use crate::api::{IdentityProfile, IdentityProfileStatus};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::status::{
    FALSE, TRUE, find_condition, now, remove_condition, set_condition,
};
use crate::controller::tenant_pool::{TenantHandle, jittered};
use diff::{ProfilePlan, plan_profile};
use isc_client::filter::Filter;
use isc_client::models::{IdentityProfile as TenantProfile, TaskOutcome};
use isc_client::{IscError, ListParams};

/// Finalizer that lets `deletionPolicy: Delete` finish before the object goes away.
pub const FINALIZER: &str = "isc.identitynow.dev/finalizer";

/// Controller entry point for one object.
pub async fn reconcile(
    object: Arc<IdentityProfile>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<IdentityProfile> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = finalizer::finalizer(&api, FINALIZER, object, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => apply(obj, &ctx, &api).await,
            FinalizerEvent::Cleanup(obj) => cleanup(obj, &ctx, &api).await,
        }
    })
    .await;
    match result {
        Ok(action) => Ok(action),
        Err(finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e)) => Err(e),
        Err(finalizer::Error::AddFinalizer(e) | finalizer::Error::RemoveFinalizer(e)) => {
            Err(ReconcileError::Kube(e))
        }
        Err(e) => Err(ReconcileError::InvalidSpec(e.to_string())),
    }
}

/// What one apply pass did, for status and events.
#[derive(Default)]
struct Outcome {
    tenant_profile: Option<TenantProfile>,
    plan: Option<ProfilePlan>,
    created: bool,
    adopted: bool,
    patched_calls: usize,
    processed: bool,
}

async fn apply(
    obj: Arc<IdentityProfile>,
    ctx: &Context,
    api: &Api<IdentityProfile>,
) -> Result<Action, ReconcileError> {
    let old_status = obj.status.clone().unwrap_or_default();
    let mut status = old_status.clone();
    match apply_inner(&obj, ctx, api, &mut status).await {
        Ok((outcome, resync)) => {
            record_success(&obj, ctx, &mut status, &outcome).await;
            write_status(api, &obj, &old_status, status).await?;
            ctx.forget_failures(obj.as_ref());
            Ok(Action::requeue(jittered(resync)))
        }
        Err(error) => {
            let generation = obj.metadata.generation;
            status.observed_generation = generation;
            set_condition(
                &mut status.conditions,
                "Ready",
                FALSE,
                error.reason(),
                error.message(),
                generation,
            );
            if let ReconcileError::Conflict(msg) = &error {
                set_condition(
                    &mut status.conditions,
                    "Conflict",
                    TRUE,
                    "Conflict",
                    msg.clone(),
                    generation,
                );
            }
            ctx.publish(
                obj.as_ref(),
                EventType::Warning,
                error.reason(),
                "Reconcile",
                &error.message(),
            )
            .await;
            // A status write failure must not hide the original error.
            if let Err(e) = write_status(api, &obj, &old_status, status).await {
                tracing::warn!(error = %e, "could not record the failure in status");
            }
            Err(error)
        }
    }
}

/// Returns the tenant profile claimed by another (earlier) object, if any.
fn find_conflict(obj: &IdentityProfile, ctx: &Context) -> Option<String> {
    let ns = obj.namespace();
    let mine_id = obj.status.as_ref().and_then(|s| s.id.clone());
    let my_key = (obj.creation_timestamp().map(|t| t.0), obj.name_any());
    ctx.profiles_store()
        .state()
        .into_iter()
        .filter(|other| {
            other.namespace() == ns
                && other.name_any() != obj.name_any()
                && other.metadata.deletion_timestamp.is_none()
                && other.spec.tenant_ref == obj.spec.tenant_ref
        })
        .filter(|other| {
            let other_id = other.status.as_ref().and_then(|s| s.id.clone());
            other.spec.name == obj.spec.name || (mine_id.is_some() && other_id == mine_id)
        })
        .find(|other| (other.creation_timestamp().map(|t| t.0), other.name_any()) < my_key)
        .map(|other| {
            format!(
                "IdentityProfile {:?} already manages tenant profile {:?}; this object makes no changes until the conflict is resolved",
                other.name_any(),
                obj.spec.name
            )
        })
}

/// Looks up the tenant profile: by recorded id, else by exact name. `fresh` bypasses the
/// shared list (used right before a create).
async fn observe(
    handle: &TenantHandle,
    id: Option<&str>,
    name: &str,
    fresh: bool,
) -> Result<Option<TenantProfile>, ReconcileError> {
    if fresh {
        let found = handle
            .client
            .list_all_identity_profiles(&ListParams {
                filter: Some(Filter::eq("name", name)),
                ..Default::default()
            })
            .await?;
        let by_id = id.and_then(|id| found.iter().find(|p| p.id.as_deref() == Some(id)));
        if let Some(p) = by_id.or_else(|| found.iter().find(|p| p.name == name)) {
            return Ok(Some(p.clone()));
        }
        return match id {
            Some(id) => get_by_id(handle, id).await,
            None => Ok(None),
        };
    }
    let profiles = handle.profiles.get(&handle.client).await?;
    if let Some(id) = id {
        if let Some(p) = profiles.iter().find(|p| p.id.as_deref() == Some(id)) {
            return Ok(Some(p.clone()));
        }
        // Not in the shared list (created since, or deleted in the tenant): ask directly.
        return get_by_id(handle, id).await;
    }
    Ok(profiles.into_iter().find(|p| p.name == name))
}

async fn apply_inner(
    obj: &IdentityProfile,
    ctx: &Context,
    api: &Api<IdentityProfile>,
    status: &mut IdentityProfileStatus,
) -> Result<(Outcome, Duration), ReconcileError> {
    let desired = obj.spec.desired();
    desired
        .validate()
        .map_err(|e| ReconcileError::InvalidSpec(e.to_string()))?;
    if let Some(conflict) = find_conflict(obj, ctx) {
        return Err(ReconcileError::Conflict(conflict));
    }
    remove_condition(&mut status.conditions, "Conflict");
    let namespace = obj.namespace().unwrap_or_default();
    let (_tenant, handle) = ctx
        .tenants
        .resolve(&ctx.client, &namespace, &obj.spec.tenant_ref.name)
        .await?;
    let mut outcome = Outcome::default();
    let known_id = status.id.clone();
    // After an interrupted create, never trust a cached list: ask the tenant by name.
    let fresh = status.pending_create.is_some();
    let mut observed = observe(&handle, known_id.as_deref(), &desired.name, fresh).await?;
    if observed.is_some() && known_id.is_none() {
        outcome.adopted = true;
    }

    let observe_only = obj.spec.management_policy == ManagementPolicy::Observe;
    let mut plan = plan_profile(&desired, observed.as_ref())
        .map_err(|e| ReconcileError::InvalidSpec(e.to_string()))?;

    if !observe_only {
        // Look up by name again, bypassing the shared list, right before creating (a fresh
        // lookup above already did exactly that).
        if matches!(plan, ProfilePlan::Create(_)) && !fresh {
            if let Some(existing) = observe(&handle, None, &desired.name, true).await? {
                outcome.adopted = true;
                observed = Some(existing);
                plan = plan_profile(&desired, observed.as_ref())
                    .map_err(|e| ReconcileError::InvalidSpec(e.to_string()))?;
            }
        }
        match &plan {
            ProfilePlan::Create(body) => {
                mark_pending_create(api, obj, &desired.name).await?;
                status.pending_create = Some(PendingCreate {
                    name: desired.name.clone(),
                    since: now(),
                });
                let created = handle.client.create_identity_profile(body).await?;
                handle.profiles.upsert(&created).await;
                status.pending_create = None;
                status.changed_generation = obj.metadata.generation;
                outcome.created = true;
                observed = Some(created);
            }
            ProfilePlan::Patch(_) => {
                // Plan the writes against a fresh read, never a cached list.
                let id = observed
                    .as_ref()
                    .and_then(|p| p.id.clone())
                    .ok_or_else(|| {
                        ReconcileError::InvalidSpec("tenant profile has no id".into())
                    })?;
                let current = handle.client.get_identity_profile(&id).await?;
                plan = plan_profile(&desired, Some(&current))
                    .map_err(|e| ReconcileError::InvalidSpec(e.to_string()))?;
                observed = Some(current);
                if let ProfilePlan::Patch(steps) = &plan {
                    for step in steps {
                        let updated = handle.client.update_identity_profile(&id, step).await?;
                        handle.profiles.upsert(&updated).await;
                        outcome.patched_calls += 1;
                        observed = Some(updated);
                    }
                    status.changed_generation = obj.metadata.generation;
                }
            }
            ProfilePlan::Nothing => {}
        }
        status.pending_create = None;
    }

    let refresh_required = observed
        .as_ref()
        .is_some_and(|p| p.identity_refresh_required);
    if !observe_only
        && obj.spec.refresh_policy == RefreshPolicy::OnChange
        && refresh_required
        && status.changed_generation.is_some()
        && status.processed_generation != status.changed_generation
        && let Some(id) = observed.as_ref().and_then(|p| p.id.as_deref())
    {
        handle.client.process_identity_profile(id).await?;
        status.processed_generation = status.changed_generation;
        outcome.processed = true;
    }

    outcome.plan = Some(if observe_only {
        plan
    } else if outcome.created || outcome.patched_calls > 0 {
        ProfilePlan::Nothing
    } else {
        plan
    });
    outcome.tenant_profile = observed;
    Ok((outcome, handle.resync))
}

/// Records the create-pending marker before the POST, so a crash cannot cause a duplicate.
async fn mark_pending_create(
    api: &Api<IdentityProfile>,
    obj: &IdentityProfile,
    name: &str,
) -> Result<(), ReconcileError> {
    merge_status(
        api,
        obj,
        json!({"pendingCreate": {"name": name, "since": now()}}),
    )
    .await
}

/// Merge-patches `status` of the object (the operator never writes `spec`).
async fn merge_status(
    api: &Api<IdentityProfile>,
    obj: &IdentityProfile,
    status: serde_json::Value,
) -> Result<(), ReconcileError> {
    let patch = json!({ "status": status });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// The tenant profile with this id, or `None` when the tenant says it does not exist.
async fn get_by_id(
    handle: &TenantHandle,
    id: &str,
) -> Result<Option<TenantProfile>, ReconcileError> {
    match handle.client.get_identity_profile(id).await {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn planned_change(plan: &ProfilePlan) -> PlannedChange {
    match plan {
        ProfilePlan::Nothing => PlannedChange {
            action: "None".into(),
            patches: vec![],
        },
        ProfilePlan::Create(body) => PlannedChange {
            action: "Create".into(),
            patches: vec![vec![PlannedOperation {
                op: "add".into(),
                path: "".into(),
                value: serde_json::to_value(body).ok(),
            }]],
        },
        ProfilePlan::Patch(steps) => PlannedChange {
            action: "Patch".into(),
            patches: steps
                .iter()
                .map(|s| {
                    s.iter()
                        .map(|o| PlannedOperation {
                            op: o.op.clone(),
                            path: o.path.clone(),
                            value: o.value.clone(),
                        })
                        .collect()
                })
                .collect(),
        },
    }
}

async fn record_success(
    obj: &IdentityProfile,
    ctx: &Context,
    status: &mut IdentityProfileStatus,
    outcome: &Outcome,
) {
    let generation = obj.metadata.generation;
    let observe_only = obj.spec.management_policy == ManagementPolicy::Observe;
    let profile = outcome.tenant_profile.as_ref();
    status.id = profile.and_then(|p| p.id.clone()).or(status.id.take());
    status.identity_count = profile.and_then(|p| p.identity_count);
    status.observed_generation = generation;
    let plan = outcome.plan.clone().unwrap_or(ProfilePlan::Nothing);
    let converged = plan == ProfilePlan::Nothing;
    status.planned_change = (observe_only || !converged).then(|| planned_change(&plan));
    if converged {
        set_condition(
            &mut status.conditions,
            "Synced",
            TRUE,
            "Synced",
            "the tenant profile matches the spec",
            generation,
        );
    } else {
        set_condition(
            &mut status.conditions,
            "Synced",
            FALSE,
            "ObserveOnly",
            format!(
                "managementPolicy is Observe: {} planned call(s) not sent; see status.plannedChange",
                plan.write_calls()
            ),
            generation,
        );
    }
    let ready_message = if observe_only {
        "observed the tenant profile; no changes are made under managementPolicy Observe"
    } else {
        "the tenant profile matches the spec"
    };
    set_condition(
        &mut status.conditions,
        "Ready",
        TRUE,
        if observe_only { "Observed" } else { "Synced" },
        ready_message,
        generation,
    );
    match profile.map(|p| p.identity_refresh_required) {
        Some(true) => set_condition(
            &mut status.conditions,
            "RefreshRequired",
            TRUE,
            if outcome.processed {
                "ProcessingStarted"
            } else {
                "TenantFlagSet"
            },
            if outcome.processed {
                "the tenant asked for identity processing; the operator started it (refreshPolicy OnChange)"
            } else if obj.spec.refresh_policy == RefreshPolicy::OnChange {
                "identities of this profile need processing; already started for this generation, or the change was not made by the operator"
            } else {
                "identities of this profile need processing (refreshPolicy Manual: start it in ISC or with a ProcessingRequest)"
            },
            generation,
        ),
        _ => set_condition(
            &mut status.conditions,
            "RefreshRequired",
            FALSE,
            "UpToDate",
            "no identity processing is pending",
            generation,
        ),
    }

    let name = &obj.spec.name;
    if outcome.adopted {
        ctx.publish(
            obj,
            EventType::Normal,
            "Adopted",
            "Adopt",
            &format!("adopted existing tenant profile {name:?}"),
        )
        .await;
    }
    if outcome.created {
        ctx.publish(
            obj,
            EventType::Normal,
            "Created",
            "Create",
            &format!("created tenant profile {name:?}"),
        )
        .await;
    }
    if outcome.patched_calls > 0 {
        let drift = obj.status.as_ref().and_then(|s| s.observed_generation) == generation;
        let (reason, note) = if drift {
            (
                "DriftCorrected",
                format!(
                    "corrected a change made in the tenant with {} PATCH call(s)",
                    outcome.patched_calls
                ),
            )
        } else {
            (
                "Patched",
                format!(
                    "updated the tenant profile with {} PATCH call(s)",
                    outcome.patched_calls
                ),
            )
        };
        ctx.publish(obj, EventType::Normal, reason, "Patch", &note)
            .await;
    }
    if outcome.processed {
        ctx.publish(
            obj,
            EventType::Normal,
            "ProcessingStarted",
            "Process",
            "started processing of the profile's identities",
        )
        .await;
    }
}

/// Writes status only when it changed (ignoring `lastSyncTime`), so steady state costs nothing.
async fn write_status(
    api: &Api<IdentityProfile>,
    obj: &IdentityProfile,
    old: &IdentityProfileStatus,
    mut new: IdentityProfileStatus,
) -> Result<(), ReconcileError> {
    new.last_sync_time = old.last_sync_time.clone();
    if &new == old {
        return Ok(());
    }
    new.last_sync_time = Some(now());
    let mut value = serde_json::to_value(&new).expect("status serializes");
    // A merge patch keeps what it does not mention: null out every field that disappeared.
    let previous = serde_json::to_value(old).expect("status serializes");
    if let (Some(map), Some(previous)) = (value.as_object_mut(), previous.as_object()) {
        for key in previous.keys() {
            map.entry(key.clone()).or_insert(serde_json::Value::Null);
        }
    }
    merge_status(api, obj, value).await
}

async fn cleanup(
    obj: Arc<IdentityProfile>,
    ctx: &Context,
    api: &Api<IdentityProfile>,
) -> Result<Action, ReconcileError> {
    let status = obj.status.clone().unwrap_or_default();
    let conflicting =
        find_condition(&status.conditions, "Conflict").is_some_and(|c| c.status == TRUE);
    let deletes = obj.spec.deletion_policy == DeletionPolicy::Delete
        && obj.spec.management_policy == ManagementPolicy::Manage
        && !conflicting;
    let Some(id) = status.id.clone().filter(|_| deletes) else {
        return Ok(Action::await_change());
    };
    let namespace = obj.namespace().unwrap_or_default();
    let (_tenant, handle) = ctx
        .tenants
        .resolve(&ctx.client, &namespace, &obj.spec.tenant_ref.name)
        .await?;
    match status.delete_task_id.clone() {
        None => match handle.client.delete_identity_profile(&id).await {
            Ok(task) => {
                let task_id = task.id.unwrap_or_default();
                merge_status(api, &obj, json!({"deleteTaskId": task_id})).await?;
                ctx.publish(
                    obj.as_ref(),
                    EventType::Normal,
                    "Deleting",
                    "Delete",
                    &format!(
                        "deleting tenant profile {:?} (task {task_id})",
                        obj.spec.name
                    ),
                )
                .await;
                // An error keeps the finalizer until the task has ended.
                Err(ReconcileError::Waiting(format!("delete task {task_id}")))
            }
            Err(e) if e.is_not_found() => {
                handle.profiles.remove(&id).await;
                Ok(Action::await_change())
            }
            Err(e) => Err(e.into()),
        },
        Some(task_id) => {
            let task = match handle.client.get_task_status(&task_id).await {
                Ok(t) => t,
                Err(e) if e.is_not_found() => {
                    // The task is gone; the profile's absence is what matters.
                    return match get_by_id(&handle, &id).await? {
                        None => Ok(Action::await_change()),
                        Some(_) => Err(ReconcileError::Waiting(format!("deletion of {id}"))),
                    };
                }
                Err(e) => return Err(e.into()),
            };
            match task.outcome() {
                TaskOutcome::Running => {
                    Err(ReconcileError::Waiting(format!("delete task {task_id}")))
                }
                TaskOutcome::Succeeded => {
                    handle.profiles.remove(&id).await;
                    ctx.publish(
                        obj.as_ref(),
                        EventType::Normal,
                        "Deleted",
                        "Delete",
                        &format!("deleted tenant profile {:?}", obj.spec.name),
                    )
                    .await;
                    Ok(Action::await_change())
                }
                TaskOutcome::Failed => {
                    let message = format!(
                        "the tenant's delete task {task_id} ended with {}; set deletionPolicy: Orphan to release the object",
                        task.completion_status.unwrap_or_default()
                    );
                    merge_status(api, &obj, json!({"deleteTaskId": null})).await?;
                    Err(ReconcileError::Tenant(IscError::InvalidRequest(message)))
                }
            }
        }
    }
}
