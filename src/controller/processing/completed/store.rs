//! The record of finished runs in its ConfigMap: read before a request starts, written when a
//! request finishes and again (if missing) before its TTL deletes it. Every write carries the
//! `resourceVersion` it is based on (a create fails if another writer created the ConfigMap
//! first), so two writers recording at once never lose each other's entries: the loser reads
//! again. Within the process, readers and writers of one namespace take turns
//! (`Run::record_writer`) over what the process last read or wrote ([`KnownRecord`]), so the
//! ConfigMap is read once per namespace, not three times per request, and only another process
//! (an old leader) can make a write lose its race.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::api::ProcessingRequestStatus;
use crate::controller::error::ReconcileError;
use crate::controller::status::merge_patch_diff;

use super::super::run::Run;
use super::{CONFIG_MAP_NAME, CompletedRun, CompletedRuns, MANAGED_BY, MANAGED_BY_LABEL};

/// Attempts of one record write that lose a race with another writer.
const MAX_ATTEMPTS: usize = 5;

/// Whether a Kubernetes error means the record changed under the writer: 409 (another write,
/// or a create that came second) or 404 (the ConfigMap was deleted).
fn stale_record(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(e) if e.code == 409 || e.code == 404)
}

/// What this process knows of a namespace's record ConfigMap. Only the leader writes the
/// record and a process that loses its lease exits, so what it wrote last is current; every
/// write still carries the `resourceVersion` it is based on, and a write refused as stale
/// forgets what was known and reads again.
#[derive(Debug, Clone, Default)]
pub enum KnownRecord {
    /// Not read yet (or forgotten after a stale write).
    #[default]
    Unread,
    /// The namespace has no record ConfigMap.
    Missing,
    /// The ConfigMap at `resource_version`, and its data.
    Read {
        /// Its `resourceVersion`.
        resource_version: String,
        /// Its data (request name → record).
        data: BTreeMap<String, String>,
    },
}

impl KnownRecord {
    fn learn(config_map: ConfigMap) -> Self {
        KnownRecord::Read {
            resource_version: config_map.resource_version().unwrap_or_default(),
            data: config_map.data.unwrap_or_default(),
        }
    }

    /// The records (none when the ConfigMap is missing), reading the ConfigMap first if it was
    /// not read yet.
    async fn runs(&mut self, api: &Api<ConfigMap>) -> Result<CompletedRuns, kube::Error> {
        if matches!(self, KnownRecord::Unread) {
            *self = match api.get_opt(CONFIG_MAP_NAME).await? {
                Some(config_map) => KnownRecord::learn(config_map),
                None => KnownRecord::Missing,
            };
        }
        Ok(match self {
            KnownRecord::Read { data, .. } => CompletedRuns::from_data(Some(data)),
            _ => CompletedRuns::default(),
        })
    }
}

/// Records `run` under `name` in the namespace's ConfigMap (created when missing), pruning and
/// bounding the records in the same write, based on what is `known` of it (kept current).
async fn save(
    api: &Api<ConfigMap>,
    known: &mut KnownRecord,
    name: &str,
    run: &CompletedRun,
    retention: std::time::Duration,
) -> Result<(), kube::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut runs = known.runs(api).await?;
        runs.record(name, run.clone(), Timestamp::now(), retention);
        let written = match &*known {
            KnownRecord::Read {
                resource_version,
                data: old,
            } => {
                let Some(data) = merge_patch_diff(&json!(old), &json!(runs.to_data())) else {
                    return Ok(());
                };
                let patch = json!({
                    "metadata": {
                        "resourceVersion": resource_version,
                        "labels": {MANAGED_BY_LABEL: MANAGED_BY},
                    },
                    "data": data,
                });
                let params = PatchParams::default();
                api.patch(CONFIG_MAP_NAME, &params, &Patch::Merge(&patch))
                    .await
            }
            _ => {
                let config_map = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(CONFIG_MAP_NAME.to_string()),
                        labels: Some(BTreeMap::from([(
                            MANAGED_BY_LABEL.to_string(),
                            MANAGED_BY.to_string(),
                        )])),
                        ..Default::default()
                    },
                    data: Some(runs.to_data()),
                    ..Default::default()
                };
                api.create(&PostParams::default(), &config_map).await
            }
        };
        match written {
            Ok(config_map) => {
                *known = KnownRecord::learn(config_map);
                return Ok(());
            }
            Err(e) => {
                *known = KnownRecord::Unread;
                if !(stale_record(&e) && attempt < MAX_ATTEMPTS) {
                    return Err(e);
                }
            }
        }
    }
}

impl Run<'_> {
    /// How long finished runs are remembered (zero: not at all).
    fn retention(&self) -> std::time::Duration {
        self.ctx.processing.completed_run_retention
    }

    /// The namespace's record as this process knows it, behind the lock its readers and
    /// writers share.
    fn record_writer(&self) -> std::sync::Arc<tokio::sync::Mutex<KnownRecord>> {
        let namespace = self.obj.namespace().unwrap_or_default();
        self.ctx.processing.record_writer(&namespace)
    }

    /// The earlier run of this very request (same name and spec, another object) finished
    /// within the retention window, if any. A Kubernetes read only; no tenant call.
    pub(in crate::controller::processing) async fn earlier_run(
        &self,
    ) -> Result<Option<CompletedRun>, ReconcileError> {
        if self.retention().is_zero() {
            return Ok(None);
        }
        let record = self.record_writer();
        let runs = record.lock().await.runs(&self.config_maps()).await?;
        let hash = super::spec_hash(&self.obj.spec);
        let uid = self.obj.uid().unwrap_or_default();
        Ok(runs
            .earlier_run(
                &self.name(),
                &uid,
                &hash,
                Timestamp::now(),
                self.retention(),
            )
            .cloned())
    }

    /// This request's own record, from its finished `status`; `None` when it did not run
    /// itself (it found an earlier run) or has not finished.
    fn own_record(&self, status: &ProcessingRequestStatus) -> Option<CompletedRun> {
        if status.previous_run.is_some() || self.retention().is_zero() {
            return None;
        }
        let outcome = status.phase.filter(|p| p.is_finished())?;
        Some(CompletedRun {
            spec_hash: super::spec_hash(&self.obj.spec),
            outcome,
            completed_at: status.completion_time.clone()?,
            uid: self.obj.uid().unwrap_or_default(),
        })
    }

    /// Records the finished run before the status that says so is written. Best effort: a
    /// failure is logged, and the record is written again before the TTL may delete the
    /// request ([`Run::ensure_recorded`]).
    pub(in crate::controller::processing) async fn record_completion(
        &self,
        status: &ProcessingRequestStatus,
    ) {
        let Some(run) = self.own_record(status) else {
            return;
        };
        let record = self.record_writer();
        let mut known = record.lock().await;
        let api = self.config_maps();
        if let Err(error) = save(&api, &mut known, &self.name(), &run, self.retention()).await {
            tracing::warn!(request = %self.name(), %error, "could not record the finished run yet; it is recorded before the request is deleted");
        }
    }

    /// Makes sure the finished run is recorded; the TTL deletes the request only after this
    /// succeeded, so a recreated copy always finds the record.
    pub(in crate::controller::processing) async fn ensure_recorded(
        &self,
        status: &ProcessingRequestStatus,
    ) -> Result<(), ReconcileError> {
        let Some(run) = self.own_record(status) else {
            return Ok(());
        };
        let record = self.record_writer();
        let mut known = record.lock().await;
        let api = self.config_maps();
        let runs = known.runs(&api).await?;
        if runs.get(&self.name()).is_some_and(|r| r.uid == run.uid) {
            return Ok(());
        }
        save(&api, &mut known, &self.name(), &run, self.retention()).await?;
        Ok(())
    }
}

impl Run<'_> {
    /// Ends the request at once because `earlier` (a finished run of itself) is on record: no
    /// tenant call, no record of its own (the window counts from the earlier run).
    pub(in crate::controller::processing) async fn already_completed(
        &mut self,
        mut status: ProcessingRequestStatus,
        earlier: &CompletedRun,
    ) -> Result<kube::runtime::controller::Action, ReconcileError> {
        let message = super::mark_already_completed(
            &mut status,
            earlier,
            self.retention(),
            self.generation(),
        );
        self.write(&mut status).await?;
        let reason = super::super::progress::ALREADY_COMPLETED;
        self.event(kube::runtime::events::EventType::Normal, reason, &message)
            .await;
        self.after_finish(&status).await
    }
}
