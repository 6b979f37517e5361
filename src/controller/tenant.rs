//! The `Tenant` reconciler: proves the credential works (`Ready`) and reports why not.
//!
//! Dereference (Tenant + Secret through the tenant pool) → one token request → status: `Ready`
//! with `TokenObtained`, or `False` with the error's reason and, by the kstatus conventions
//! ([`crate::controller::kstatus`]), `Stalled` (a policy violation, a refused credential, an
//! unusable Secret) or `Reconciling` (a Secret not there yet, the tenant unreachable).
//! `spec.suspend: true` shows `Suspended=True` (reason `TenantSuspended`); `Ready` is unaffected
//! (the credential is still checked: a token request writes nothing on the tenant). Status is written and a Warning
//! Event published only when the status changed, so a steady Tenant costs no Kubernetes write.
//! A Tenant reached over plain http (allowed by the admin for loopback hosts) also carries the
//! Warning condition `InsecureTransport`, announced once by a Warning Event.

use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use crate::api::Tenant;
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::kstatus::{Progress, set_progress, set_suspended, stamp_generation};
use crate::controller::pause::{shown_hold, tenant_suspended};
use crate::controller::status::{
    TRUE, WriteGuard, find_condition, patch_status, reason, remove_condition, set_condition,
};
use crate::controller::tenant_policy::{INSECURE_TRANSPORT_CONDITION, Transport, policy_reason};
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
        Ok::<_, ReconcileError>((handle.resync, handle.transport))
    }
    .await;
    if let Ok((_, transport)) = &result {
        mark_transport(&ctx, &tenant, &mut status.conditions, *transport).await;
    }
    let hold = tenant_suspended(&tenant);
    if let Some(hold) = &hold
        && shown_hold(&old.conditions) != Some(hold.reason)
    {
        let event = EventType::Normal;
        ctx.publish(
            tenant.as_ref(),
            event,
            hold.reason,
            "Suspend",
            &hold.message,
        )
        .await;
    }
    let conditions = &mut status.conditions;
    set_suspended(conditions, generation, hold.as_ref());
    let outcome = match result {
        Ok((resync, _)) => {
            let message = "obtained an access token with the configured credential";
            let reason = reason::TOKEN_OBTAINED;
            set_progress(conditions, generation, Progress::Ready { reason, message });
            // Every condition was judged again for this generation.
            stamp_generation(conditions, generation);
            ctx.forget_failures(tenant.as_ref());
            Ok(Action::requeue(jittered(resync)))
        }
        Err(e) => {
            let message = e.message();
            set_progress(conditions, generation, e.progress(&message));
            Err(e)
        }
    };
    if let Err(e) = &outcome
        && status != old
    {
        let event = EventType::Warning;
        ctx.publish(tenant.as_ref(), event, e.reason(), "Connect", &e.message())
            .await;
    }
    patch_status(
        &api,
        &tenant.name_any(),
        Some(&old),
        &status,
        WriteGuard::None,
    )
    .await?;
    outcome
}

/// Sets the Warning condition `InsecureTransport` for plain http (with a Warning Event when it
/// appears) and removes it for https.
async fn mark_transport(
    ctx: &Context,
    tenant: &Tenant,
    conditions: &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    transport: Transport,
) {
    if transport == Transport::Https {
        remove_condition(conditions, INSECURE_TRANSPORT_CONDITION);
        return;
    }
    let message = "credentials and tenant data travel in clear text (plain http to a loopback \
                   host, allowed by the operator's --allow-insecure-http); use https for a real \
                   tenant";
    let new =
        find_condition(conditions, INSECURE_TRANSPORT_CONDITION).is_none_or(|c| c.status != TRUE);
    set_condition(
        conditions,
        INSECURE_TRANSPORT_CONDITION,
        TRUE,
        policy_reason::PLAIN_HTTP_ALLOWED,
        message,
        tenant.metadata.generation,
    );
    if new {
        let reason = policy_reason::PLAIN_HTTP_ALLOWED;
        ctx.publish(tenant, EventType::Warning, reason, "Connect", message)
            .await;
    }
}
