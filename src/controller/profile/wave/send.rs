//! The I/O of a wave: one fresh list, then the creates (import batches or one POST each), each
//! member answered once. Every decision is taken by [`super::plan`].

use std::sync::Arc;

use futures::StreamExt;
use isc_client::filter::Filter;
use isc_client::models::{
    IdentityProfile as TenantProfile, IdentityProfileExportedObject, ObjectRef,
};
use isc_client::{ErrorClass, IscError, ListParams};

use super::plan::{self, Imported, Sorted};
use super::{Answer, CreateWaves, Member, WaveOutcome};
use crate::controller::error::ReconcileError;
use crate::controller::profile_cache::{TenantProfiles, list_profiles};
use crate::controller::tenant_pool::TenantHandle;

/// Runs a closed wave to the end: every member gets an answer (or, if this future is dropped,
/// a closed channel, which its reconcile reports as a cancelled wave).
pub(super) async fn run(waves: &CreateWaves, handle: &TenantHandle, members: Vec<Member>) {
    if members.is_empty() {
        return;
    }
    let names: Vec<String> = members.iter().map(|m| m.body.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let fresh = match fresh_list(handle, &names).await {
        Ok(fresh) => fresh,
        Err(e) => {
            let text = format!("listing the tenant's profiles failed: {e}");
            for member in members {
                reply(member, Err(ReconcileError::WaveFailed(text.clone())));
            }
            return;
        }
    };
    let mut to_send = Vec::new();
    let mut members: Vec<Option<Member>> = members.into_iter().map(Some).collect();
    for (i, sorted) in plan::sort_members(&names, &fresh).into_iter().enumerate() {
        let answer = match sorted {
            Sorted::Send => {
                to_send.push(i);
                continue;
            }
            Sorted::Exists(profile) => Ok(WaveOutcome::Exists(TenantProfile::clone(&profile))),
            Sorted::SameNameInWave { first } => Err(ReconcileError::Conflict(format!(
                "another object is creating tenant profile {first:?} at the same time \
                 (names compare case-insensitively); only one of them is sent"
            ))),
            Sorted::DuplicateInTenant { ids } => Err(ReconcileError::DuplicateTenantProfiles(
                format!("{:?} (ids {})", names[i], ids.join(", ")),
            )),
            Sorted::Malformed(problem) => Err(ReconcileError::MalformedTenantObject(problem)),
        };
        if let Some(member) = members[i].take() {
            reply(member, answer);
        }
    }
    let size = waves.settings.import_batch_size;
    let mut calls = Calls::default();
    // Once import is off (by the Tenant, or after a 403) it stays off: the rest go one by one,
    // all in one stream so POSTs stay in flight across batch boundaries.
    let mut one_by_one = Vec::new();
    for batch in plan::batches(&to_send, size) {
        let batch: Vec<Member> = batch.iter().filter_map(|&i| members[i].take()).collect();
        match waves.imports() {
            true => import_batch(waves, handle, batch, &mut calls).await,
            false => one_by_one.extend(batch),
        }
    }
    post_each(handle, one_by_one, &mut calls).await;
    tracing::info!(
        members = names.len(),
        sent = to_send.len(),
        import_calls = calls.imports,
        post_calls = calls.posts,
        "creation wave finished"
    );
}

/// The create calls a wave sent.
#[derive(Debug, Default)]
struct Calls {
    imports: usize,
    posts: usize,
}

/// Answers a member whose reconcile may have gone away meanwhile (then nobody listens).
fn reply(member: Member, answer: Answer) {
    let _ = member.answer.send(answer);
}

/// The tenant's profiles now, for the wave's names: the shared list refreshed, or (when the
/// tenant holds many more profiles than the wave has names) lists filtered by name, whichever
/// costs fewer calls. Either way, the shared list learns what was read.
pub(super) async fn fresh_list(
    handle: &TenantHandle,
    names: &[&str],
) -> Result<Arc<TenantProfiles>, ReconcileError> {
    // Usually answered from the cache the members just read (no call).
    let known = handle.profiles.get(&handle.client).await?.len();
    let chunks = plan::name_chunks(names);
    if !plan::list_by_names(known, chunks.len()) {
        return handle.profiles.refresh(&handle.client).await;
    }
    let mut items = Vec::new();
    let mut malformed = Vec::new();
    for chunk in chunks {
        let params = ListParams {
            filter: Some(Filter::is_in("name", chunk.iter().copied())),
            ..Default::default()
        };
        let found = list_profiles(&handle.client, &params).await?;
        for profile in found.iter() {
            handle.profiles.upsert(profile).await;
            items.push(TenantProfile::clone(profile));
        }
        malformed.extend(found.malformed().iter().cloned());
    }
    Ok(Arc::new(TenantProfiles::new(items, malformed)))
}

/// One import call for the batch; falls back to one POST each when the tenant refuses the call
/// as a whole (403: no user context, remembered; 400: refused as a whole, so each member gets
/// its own answer).
async fn import_batch(
    waves: &CreateWaves,
    handle: &TenantHandle,
    batch: Vec<Member>,
    calls: &mut Calls,
) {
    let objects: Vec<IdentityProfileExportedObject> = batch
        .iter()
        .map(|m| IdentityProfileExportedObject {
            version: Some(1),
            self_ref: Some(ObjectRef {
                kind: Some("IDENTITY_PROFILE".to_string()),
                id: None,
                name: Some(m.body.name.clone()),
            }),
            object: Some(m.body.clone()),
        })
        .collect();
    calls.imports += 1;
    let result = match handle.client.import_identity_profiles(&objects).await {
        Ok(result) => result,
        Err(e) if e.class() == ErrorClass::Forbidden && !matches!(e, IscError::Auth { .. }) => {
            waves.forbid_import();
            return post_each(handle, batch, calls).await;
        }
        Err(e) if e.status() == Some(400) => {
            tracing::warn!(error = %e, "the tenant refused an import as a whole; creating one by one");
            return post_each(handle, batch, calls).await;
        }
        Err(e) => {
            let text = format!(
                "the import call failed: {e}; the next attempt's list shows whether it was created"
            );
            for member in batch {
                reply(member, Err(ReconcileError::WaveFailed(text.clone())));
            }
            return;
        }
    };
    let names: Vec<&str> = batch.iter().map(|m| m.body.name.as_str()).collect();
    let answers = plan::map_import_result(&names, &result);
    for (member, imported) in batch.into_iter().zip(answers) {
        let answer = match imported {
            Imported::Created(id) => {
                let profile = plan::created_profile(member.body.clone(), id);
                handle.profiles.upsert(&profile).await;
                Ok(WaveOutcome::Created(profile))
            }
            Imported::Refused { key, text } => Err(ReconcileError::ImportRefused { key, text }),
            Imported::Unknown { unattributed } => Err(ReconcileError::WaveFailed(format!(
                "the tenant's import result does not mention this profile{}; the next \
                 attempt's list shows whether it exists",
                if unattributed.is_empty() {
                    String::new()
                } else {
                    format!(" (errors for unnamed objects: {})", unattributed.join("; "))
                }
            ))),
        };
        reply(member, answer);
    }
}

/// POSTs a wave keeps in flight at once: enough that the rate limiter, not each call's
/// latency, sets the pace (a call slower than the limiter's spacing does not hold the next
/// one back); few enough that a wave cancelled mid-way leaves few answers unknown.
pub(super) const POSTS_IN_FLIGHT: usize = 8;

/// One `POST /v2024/identity-profiles` per member, up to [`POSTS_IN_FLIGHT`] at once; each
/// member is answered as soon as its own POST returns. A refused POST is that member's refusal.
async fn post_each(handle: &TenantHandle, batch: Vec<Member>, calls: &mut Calls) {
    calls.posts += batch.len();
    futures::stream::iter(batch)
        .for_each_concurrent(POSTS_IN_FLIGHT, |member| async move {
            let answer = match handle.client.create_identity_profile(&member.body).await {
                Ok(created) => {
                    handle.profiles.upsert(&created).await;
                    Ok(WaveOutcome::Created(created))
                }
                Err(e) => Err(ReconcileError::from(e)),
            };
            reply(member, answer);
        })
        .await;
}
