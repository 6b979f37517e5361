//! The record of finished runs in its ConfigMap: read before a request starts, written when a
//! request finishes and again (if missing) before its TTL deletes it. Every write carries the
//! `resourceVersion` it read (a create fails if another writer created the ConfigMap first),
//! so two writers recording at once never lose each other's entries: the loser reads again.
//! Within the process, writers of one namespace take turns (`Run::record_writer`), so only
//! another process (an old leader) can make a write lose its race.

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

/// Whether a Kubernetes error is a lost race (409: the ConfigMap changed or was just created).
fn lost_race(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(e) if e.code == 409)
}

/// Records `run` under `name` in the namespace's ConfigMap (created when missing), pruning and
/// bounding the records in the same write.
async fn save(
    api: &Api<ConfigMap>,
    name: &str,
    run: &CompletedRun,
    retention: std::time::Duration,
) -> Result<(), kube::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let written = match api.get_opt(CONFIG_MAP_NAME).await? {
            None => {
                let mut runs = CompletedRuns::default();
                runs.record(name, run.clone(), Timestamp::now(), retention);
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
                api.create(&PostParams::default(), &config_map)
                    .await
                    .map(|_| ())
            }
            Some(existing) => {
                let old = existing.data.clone().unwrap_or_default();
                let mut runs = CompletedRuns::from_data(Some(&old));
                runs.record(name, run.clone(), Timestamp::now(), retention);
                let Some(data) = merge_patch_diff(&json!(old), &json!(runs.to_data())) else {
                    return Ok(());
                };
                let patch = json!({
                    "metadata": {
                        "resourceVersion": existing.resource_version(),
                        "labels": {MANAGED_BY_LABEL: MANAGED_BY},
                    },
                    "data": data,
                });
                api.patch(
                    CONFIG_MAP_NAME,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .map(|_| ())
            }
        };
        match written {
            Err(e) if lost_race(&e) && attempt < MAX_ATTEMPTS => continue,
            other => return other,
        }
    }
}

impl Run<'_> {
    /// How long finished runs are remembered (zero: not at all).
    fn retention(&self) -> std::time::Duration {
        self.ctx.processing.completed_run_retention
    }

    /// The lock this process's writers of the namespace's record share.
    fn record_writer(&self) -> std::sync::Arc<tokio::sync::Mutex<()>> {
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
        let found = self.config_maps().get_opt(CONFIG_MAP_NAME).await?;
        let runs = CompletedRuns::from_data(found.as_ref().and_then(|c| c.data.as_ref()));
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
        let writer = self.record_writer();
        let _one_writer = writer.lock().await;
        if let Err(error) = save(&self.config_maps(), &self.name(), &run, self.retention()).await {
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
        let writer = self.record_writer();
        let _one_writer = writer.lock().await;
        let api = self.config_maps();
        let found = api.get_opt(CONFIG_MAP_NAME).await?;
        let runs = CompletedRuns::from_data(found.as_ref().and_then(|c| c.data.as_ref()));
        if runs.get(&self.name()).is_some_and(|r| r.uid == run.uid) {
            return Ok(());
        }
        save(&api, &self.name(), &run, self.retention()).await?;
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
