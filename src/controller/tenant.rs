//! The `Tenant` reconciler: proves the credential works (`Ready`) and reports why not.

use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::api::Tenant;
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::status::{FALSE, TRUE, set_condition};
use crate::controller::tenant_pool::jittered;

/// Controller entry point for one `Tenant`.
pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let namespace = tenant.namespace().unwrap_or_default();
    let api: Api<Tenant> = Api::namespaced(ctx.client.clone(), &namespace);
    let old = tenant.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let generation = tenant.metadata.generation;
    status.observed_generation = generation;
    let result = async {
        let (_, handle) = ctx
            .tenants
            .resolve(&ctx.client, &namespace, &tenant.name_any())
            .await?;
        handle.client.access_token().await?;
        Ok::<_, ReconcileError>(handle.resync)
    }
    .await;
    let outcome = match result {
        Ok(resync) => {
            set_condition(
                &mut status.conditions,
                "Ready",
                TRUE,
                "TokenObtained",
                "obtained an access token with the configured credential",
                generation,
            );
            ctx.forget_failures(tenant.as_ref());
            Ok(Action::requeue(jittered(resync)))
        }
        Err(e) => {
            set_condition(
                &mut status.conditions,
                "Ready",
                FALSE,
                e.reason(),
                e.message(),
                generation,
            );
            if status != old {
                ctx.publish(
                    tenant.as_ref(),
                    EventType::Warning,
                    e.reason(),
                    "Connect",
                    &e.message(),
                )
                .await;
            }
            Err(e)
        }
    };
    if status != old {
        let patch = json!({"status": status});
        api.patch_status(
            &tenant.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    }
    outcome
}
