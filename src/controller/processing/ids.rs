//! The resolved identity ids of a request, kept in ConfigMaps the request owns (so they are
//! deleted with it), never in its status: 50 000 ids would not fit an object.
//!
//! Resolution writes them call by call as pages arrive ([`IdListWriter`]); the status write
//! that records the submissions names them ([`ResolvedIdsRef`]), and each submission reads its
//! call's ids back right before its `Submitting` marker ([`IdListReader`]). Every resolution
//! writes ConfigMaps of its own (a random part in the name), so a stale writer that lost the
//! race for the status write can never change the ids a recorded submission sends.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};

use crate::api::ProcessingRequest;
use crate::api::processing_request::ResolvedIdsRef;
use crate::controller::error::ReconcileError;

use super::rules;

/// Most ids one ConfigMap holds: 5000 ids of at most 128 characters stay far below the
/// API server's object size limit.
pub const IDS_PER_CONFIG_MAP: usize = 5000;
/// Field manager of the ConfigMap writes.
const FIELD_MANAGER: &str = "isc-operator-processing";
/// Label naming the request (by uid: names may be longer than a label value) on its ConfigMaps.
pub const OWNER_UID_LABEL: &str = "isc.identitynow.dev/processing-request-uid";
/// Longest part of the request name kept in a ConfigMap name.
const NAME_PART: usize = 200;

/// The data key of call `index` within its ConfigMap.
fn call_key(index: usize) -> String {
    format!("{index:05}")
}

/// The name of ConfigMap `n` of a list.
fn config_map_name(prefix: &str, n: usize) -> String {
    format!("{prefix}-{n}")
}

/// Writes a request's resolved ids, call by call, into ConfigMaps it owns.
pub(super) struct IdListWriter {
    api: Api<ConfigMap>,
    owner: OwnerReference,
    owner_uid: String,
    reference: ResolvedIdsRef,
    /// Calls of the ConfigMap being filled.
    buffer: BTreeMap<String, String>,
    /// Calls written or buffered so far.
    calls: usize,
}

impl IdListWriter {
    /// A writer for `request`, with calls of `per_call` ids.
    pub(super) fn new(api: Api<ConfigMap>, request: &ProcessingRequest, per_call: usize) -> Self {
        let name = request.name_any();
        let mut part: String = name.chars().take(NAME_PART).collect();
        while part.ends_with(['-', '.']) {
            part.pop();
        }
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let owner = OwnerReference {
            api_version: ProcessingRequest::api_version(&()).into_owned(),
            kind: ProcessingRequest::kind(&()).into_owned(),
            name,
            uid: request.uid().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: None,
        };
        IdListWriter {
            api,
            owner_uid: owner.uid.clone(),
            owner,
            reference: ResolvedIdsRef {
                config_map_prefix: format!("{part}-ids-{}", &nonce[..8]),
                calls_per_config_map: (IDS_PER_CONFIG_MAP / per_call.max(1)).max(1) as u32,
            },
            buffer: BTreeMap::new(),
            calls: 0,
        }
    }

    /// Adds the ids of the next call; writes a ConfigMap once it is full.
    pub(super) async fn add_call(&mut self, ids: Vec<String>) -> Result<(), ReconcileError> {
        self.buffer.insert(call_key(self.calls), ids.join("\n"));
        self.calls += 1;
        if self.buffer.len() >= self.reference.calls_per_config_map as usize {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what is buffered; returns where the ids are.
    pub(super) async fn finish(mut self) -> Result<ResolvedIdsRef, ReconcileError> {
        self.flush().await?;
        Ok(self.reference)
    }

    async fn flush(&mut self) -> Result<(), ReconcileError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let per = self.reference.calls_per_config_map as usize;
        let n = (self.calls - 1) / per;
        let name = config_map_name(&self.reference.config_map_prefix, n);
        let config_map = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                owner_references: Some(vec![self.owner.clone()]),
                labels: Some(BTreeMap::from([(
                    OWNER_UID_LABEL.to_string(),
                    self.owner_uid.clone(),
                )])),
                ..Default::default()
            },
            data: Some(std::mem::take(&mut self.buffer)),
            immutable: Some(true),
            ..Default::default()
        };
        let params = PatchParams::apply(FIELD_MANAGER).force();
        self.api
            .patch(&name, &params, &Patch::Apply(&config_map))
            .await?;
        Ok(())
    }
}

/// Why a call's ids could not be read back.
#[derive(Debug, thiserror::Error)]
pub(super) enum IdListError {
    /// The ConfigMap or its key is gone, or holds other ids than were recorded.
    #[error(
        "the stored ids of this call ({0}) are missing or changed, so it is not sent; create a new request"
    )]
    Damaged(String),
    /// Kubernetes could not be asked.
    #[error(transparent)]
    Kube(#[from] ReconcileError),
}

/// Reads the ids of a request's calls back, one ConfigMap at a time.
pub(super) struct IdListReader {
    api: Api<ConfigMap>,
    reference: ResolvedIdsRef,
    /// The ConfigMap read last: its number and data.
    loaded: Option<(usize, BTreeMap<String, String>)>,
}

impl IdListReader {
    /// A reader of the list `reference` names.
    pub(super) fn new(api: Api<ConfigMap>, reference: ResolvedIdsRef) -> Self {
        IdListReader {
            api,
            reference,
            loaded: None,
        }
    }

    /// The ids of call `index`, checked to be `expected` plain ids.
    pub(super) async fn call_ids(
        &mut self,
        index: usize,
        expected: u32,
    ) -> Result<Vec<String>, IdListError> {
        let per = self.reference.calls_per_config_map.max(1) as usize;
        let n = index / per;
        let name = config_map_name(&self.reference.config_map_prefix, n);
        if self.loaded.as_ref().is_none_or(|(m, _)| *m != n) {
            let found = self
                .api
                .get_opt(&name)
                .await
                .map_err(ReconcileError::from)?;
            let data = found.and_then(|c| c.data).unwrap_or_default();
            self.loaded = Some((n, data));
        }
        let key = call_key(index);
        let text = self
            .loaded
            .as_ref()
            .and_then(|(_, data)| data.get(&key))
            .ok_or_else(|| IdListError::Damaged(format!("ConfigMap {name} key {key}")))?;
        let ids: Vec<String> = text.lines().map(str::to_string).collect();
        if ids.len() != expected as usize || !ids.iter().all(|id| rules::is_valid_id(id)) {
            return Err(IdListError::Damaged(format!("ConfigMap {name} key {key}")));
        }
        Ok(ids)
    }
}
