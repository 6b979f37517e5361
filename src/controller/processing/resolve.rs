//! Resolution: what the request targets, found and verified on the tenant. Reads only;
//! nothing here changes the tenant.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::time::Instant;

use kube::Api;

use crate::api::IdentityProfile;
use crate::api::processing_request::{IdentitySelector, ProcessingAction, ProfileTarget};
use crate::controller::error::ReconcileError;
use crate::controller::status::reason;
use crate::controller::tenant_pool::TenantHandle;
use isc_client::{Filter, IdentityDefaultFilter, IscError, ListParams};

use super::ids::IdListWriter;
use super::rules::{self, CallChunker, PlanError, ResolvedIds, Target};
use super::run::Run;
use super::verified::VerifiedIds;

/// What resolving the request against the tenant gave.
pub(super) enum Resolution {
    /// Ready to plan: the target and the identity count to show.
    Ready(Target, Option<i64>),
    /// Not yet possible (e.g. the referenced profile is not on the tenant yet): look again soon.
    Wait {
        /// Reason of the `Blocked` condition and the Event.
        reason: &'static str,
        /// What is awaited.
        message: String,
    },
}

/// Why resolving stopped.
pub(super) enum ResolveError {
    /// The request cannot succeed as written: it fails, nothing is sent.
    Invalid(PlanError),
    /// The referenced profile does not exist on the tenant: it fails, nothing is sent.
    ProfileNotFound(String),
    /// Something keeps the request from resolving now (tenant or Kubernetes unavailable, rate
    /// limited, an unusable spec); the error's own classification decides when to look again.
    Blocked(ReconcileError),
}

impl From<ReconcileError> for ResolveError {
    fn from(e: ReconcileError) -> Self {
        ResolveError::Blocked(e)
    }
}

impl From<IscError> for ResolveError {
    fn from(e: IscError) -> Self {
        ResolveError::Blocked(e.into())
    }
}

impl From<PlanError> for ResolveError {
    fn from(e: PlanError) -> Self {
        ResolveError::Invalid(e)
    }
}

fn invalid_spec(message: &str) -> ResolveError {
    ResolveError::Blocked(ReconcileError::InvalidSpec(message.to_string()))
}

impl Run<'_> {
    /// Finds what the request targets and verifies it exists.
    pub(super) async fn resolve(&self, handle: &TenantHandle) -> Result<Resolution, ResolveError> {
        let spec = &self.obj.spec;
        if spec.action == ProcessingAction::ProcessProfile {
            let target = spec
                .profile
                .as_ref()
                .ok_or_else(|| invalid_spec("spec.profile is required for ProcessProfile"))?;
            return self.resolve_profile(handle, target).await;
        }
        if spec.action == ProcessingAction::LegacyRefresh && spec.full_refresh == Some(true) {
            return Ok(Resolution::Ready(Target::FullRefresh, None));
        }
        let selector = spec
            .identities
            .as_ref()
            .ok_or_else(|| invalid_spec("spec.identities is required for this action"))?;
        let resolved = self.resolve_identities(handle, selector).await?;
        let count = i64::try_from(resolved.count()).ok();
        Ok(Resolution::Ready(Target::Identities(resolved), count))
    }

    /// The tenant id of the profile (by id, or through the `IdentityProfile` object), verified
    /// on the tenant.
    async fn resolve_profile(
        &self,
        handle: &TenantHandle,
        target: &ProfileTarget,
    ) -> Result<Resolution, ResolveError> {
        let id = match (&target.id, &target.identity_profile_ref) {
            (Some(id), _) => id.clone(),
            (None, Some(r)) => match self.profile_object_id(&r.name).await? {
                ControlFlow::Continue(id) => id,
                ControlFlow::Break(wait) => return Ok(wait),
            },
            (None, None) => {
                return Err(invalid_spec("spec.profile needs identityProfileRef or id"));
            }
        };
        match handle.client.get_identity_profile(&id).await {
            Ok(p) => Ok(Resolution::Ready(
                Target::Profile(id),
                p.identity_count.map(i64::from),
            )),
            Err(e) if e.is_not_found() => Err(ResolveError::ProfileNotFound(format!(
                "the tenant has no identity profile with id {id:?}; nothing was sent"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The tenant id of `IdentityProfile` `name` of the same Tenant, or (break) what to wait for.
    async fn profile_object_id(
        &self,
        name: &str,
    ) -> Result<ControlFlow<Resolution, String>, ResolveError> {
        let profiles: Api<IdentityProfile> =
            Api::namespaced(self.ctx.client.clone(), &self.namespace);
        let Some(profile) = profiles.get_opt(name).await.map_err(ReconcileError::from)? else {
            return Ok(ControlFlow::Break(Resolution::Wait {
                reason: reason::PROFILE_NOT_FOUND,
                message: format!(
                    "IdentityProfile {name:?} does not exist in this namespace; waiting for it"
                ),
            }));
        };
        let tenant = &self.obj.spec.tenant_ref.name;
        if &profile.spec.tenant_ref.name != tenant {
            return Err(PlanError::InvalidTarget(format!(
                "IdentityProfile {name:?} belongs to Tenant {:?}, not to {tenant:?}",
                profile.spec.tenant_ref.name
            ))
            .into());
        }
        Ok(match profile.status.and_then(|s| s.id) {
            Some(id) => ControlFlow::Continue(id),
            None => ControlFlow::Break(Resolution::Wait {
                reason: reason::PROFILE_NOT_READY,
                message: format!(
                    "IdentityProfile {name:?} has no tenant id yet (not created or adopted on the tenant); waiting for it"
                ),
            }),
        })
    }

    /// The verified ids the selector names, or the ids its filter matches, stored call by
    /// call as they arrive (see `ids`).
    async fn resolve_identities(
        &self,
        handle: &TenantHandle,
        selector: &IdentitySelector,
    ) -> Result<ResolvedIds, ResolveError> {
        let action = self.action();
        let limit = rules::identity_limit(
            action,
            self.obj.spec.max_identities,
            self.ctx.processing.max_identities_ceiling,
        )?;
        let per_call = rules::ids_per_call(action);
        let mut chunker = CallChunker::new(per_call, limit);
        let mut writer = IdListWriter::new(self.config_maps(), &self.obj, per_call);
        if let Some(ids) = &selector.ids {
            let ids = rules::dedup(ids.iter().cloned());
            if ids.len() > limit {
                return Err(PlanError::TooManyIdentities {
                    found: ids.len(),
                    limit,
                }
                .into());
            }
            verify_ids(handle, &self.ctx.processing.verified_ids, &ids).await?;
            for call in chunker.push(ids)? {
                writer.add_call(call).await?;
            }
        } else {
            let filter = selector
                .filter
                .as_deref()
                .and_then(rules::api_filter)
                .ok_or_else(|| invalid_spec("spec.identities needs ids or a filter"))?;
            let default_filter = if selector.include_uncorrelated == Some(true) {
                IdentityDefaultFilter::None
            } else {
                IdentityDefaultFilter::CorrelatedOnly
            };
            let query = FilterQuery {
                filter,
                default_filter,
                limit,
            };
            stream_filter(handle, &query, &mut chunker, &mut writer).await?;
        }
        let (last, calls) = chunker.finish();
        if let Some(last) = last {
            writer.add_call(last).await?;
        }
        if calls.is_empty() {
            return Err(PlanError::NoMatchingIdentities.into());
        }
        let store = writer.finish().await?;
        Ok(ResolvedIds { calls, store })
    }
}

/// The identities list query of a filter selector.
struct FilterQuery {
    filter: Filter,
    default_filter: IdentityDefaultFilter,
    /// The request's identity limit.
    limit: usize,
}

/// Every page of the identities list for the query, one at a time: each page's ids go to the
/// chunker and every call it completes is stored before the next page is asked for. The
/// first page asks for the total (`count=true`): a total above the limit fails at once, and
/// paging stops when the total is reached (or at a short page), so N matches cost ⌈N/250⌉
/// list calls.
async fn stream_filter(
    handle: &TenantHandle,
    query: &FilterQuery,
    chunker: &mut CallChunker,
    writer: &mut IdListWriter,
) -> Result<(), ResolveError> {
    let page_size = isc_client::api::MAX_PAGE_SIZE;
    let mut offset = 0u32;
    let mut total: Option<u64> = None;
    loop {
        let page = handle
            .client
            .list_identities(
                &ListParams {
                    filter: Some(query.filter.clone()),
                    limit: Some(page_size),
                    offset: Some(offset),
                    count: offset == 0,
                    ..Default::default()
                },
                query.default_filter,
            )
            .await?;
        if offset == 0 {
            total = page.total;
        }
        if let Some(found) = total.and_then(|t| usize::try_from(t).ok())
            && found > query.limit
        {
            return Err(PlanError::TooManyIdentities {
                found,
                limit: query.limit,
            }
            .into());
        }
        let n = page.items.len();
        for call in chunker.push(page.items.into_iter().filter_map(|i| i.id))? {
            writer.add_call(call).await?;
        }
        let seen = u64::from(offset) + n as u64;
        if n < page_size as usize || total.is_some_and(|t| seen >= t) {
            return Ok(());
        }
        offset += page_size;
    }
}

/// Looks the listed ids up (`id in (...)`, every identity, batches of
/// [`rules::VERIFY_BATCH`]; ids the tenant confirmed within
/// [`super::verified::VERIFIED_FOR`] are not asked about again) and fails if any is unknown,
/// so no call names an identity the tenant does not have.
async fn verify_ids(
    handle: &TenantHandle,
    verified: &VerifiedIds,
    ids: &[String],
) -> Result<(), ResolveError> {
    if let Some(bad) = ids.iter().find(|id| !rules::is_valid_id(id)) {
        return Err(PlanError::InvalidId(bad.clone()).into());
    }
    let tenant = handle.client.base_url().as_str();
    let unconfirmed: Vec<String> = verified
        .unconfirmed(tenant, ids, Instant::now())
        .into_iter()
        .cloned()
        .collect();
    let mut found = HashSet::new();
    for batch in unconfirmed.chunks(rules::VERIFY_BATCH) {
        let page = handle
            .client
            .list_identities(
                &ListParams {
                    filter: Some(Filter::is_in("id", batch.iter())),
                    limit: Some(isc_client::api::MAX_PAGE_SIZE),
                    ..Default::default()
                },
                IdentityDefaultFilter::None,
            )
            .await?;
        found.extend(page.items.into_iter().filter_map(|i| i.id));
    }
    let missing: Vec<String> = unconfirmed
        .iter()
        .filter(|id| !found.contains(*id))
        .cloned()
        .collect();
    verified.confirmed(tenant, found, Instant::now());
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PlanError::IdentitiesNotFound(missing).into())
    }
}
