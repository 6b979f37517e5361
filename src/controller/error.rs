//! Errors of the reconcilers, classified so the controller knows whether to wait for a change,
//! back off, or honour the tenant's `Retry-After`.

use std::time::Duration;

use crate::controller::kstatus::Progress;
use crate::controller::status::reason;

use isc_client::{ErrorClass, IscError};

/// Why a reconcile did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The referenced `Tenant` does not exist.
    #[error("Tenant {0:?} not found in this namespace")]
    TenantNotFound(String),
    /// The credentials Secret is missing.
    #[error("Secret {0:?} (credentialsSecretRef of the Tenant) not found")]
    SecretNotFound(String),
    /// The Secret lacks a key or holds a non-UTF-8 value.
    #[error("Secret {secret:?} has no usable key {key:?}")]
    SecretKeyMissing {
        /// Secret name.
        secret: String,
        /// Missing key.
        key: String,
    },
    /// The admin's tenant policy refuses the Tenant's URL or Secret; nothing was sent.
    #[error(transparent)]
    Policy(#[from] crate::controller::tenant_policy::PolicyViolation),
    /// The spec cannot work; fixing the manifest is the only way forward.
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// Another object manages the same tenant profile.
    #[error("{0}")]
    Conflict(String),
    /// The tenant answered with an error.
    #[error(transparent)]
    Tenant(#[from] IscError),
    /// A tenant task the operator waited for (a delete) ended with an error; the tenant
    /// accepted the request, so this is not a refusal.
    #[error("{0}")]
    TenantTaskFailed(String),
    /// Not an error: a tenant task is still running (the finalizer must stay until it ends).
    #[error("waiting: {0}")]
    Waiting(String),
    /// The reconcile panicked (a bug in the operator). Only this object's reconcile stopped;
    /// the panic's text is in the operator's log, not in status.
    #[error("internal error in the operator while reconciling this object (see the operator log)")]
    Panicked,
    /// The tenant refused this write for this generation earlier; it is not sent again before
    /// the recorded retry time (see `status.lastRefusal`). Shows the recorded refusal as it
    /// was, so holding back changes nothing in status.
    #[error("{message}")]
    RefusedBefore {
        /// The tenant's recorded answer.
        message: String,
        /// When the write may be sent again (RFC 3339).
        retry_at: String,
        /// How long until then.
        wait: Duration,
    },
    /// The tenant object this object maps to could not be decoded.
    #[error(
        "the tenant's identity profile {0} could not be read: it does not match the documented schema; fix it in the tenant"
    )]
    MalformedTenantObject(String),
    /// `deletionPolicy: Delete` cannot run because the Tenant or its Secret is gone.
    #[error("{0}")]
    DeletionBlocked(String),
    /// The tenant's import answered an error for this profile (nothing was created); like a
    /// refused write, it is recorded in `status.lastRefusal` and not sent again blindly.
    #[error("the tenant refused to import the profile: {key}: {text}")]
    ImportRefused {
        /// The tenant's message key, e.g. `UNKNOWN_REFERENCE_RESOLVER`.
        key: String,
        /// The tenant's message text.
        text: String,
    },
    /// The creation wave this profile joined ended without an answer for it (the list or the
    /// create call failed, the wave was cancelled, or the import result did not mention it).
    /// The `pendingCreate` marker stays: the next attempt's fresh list decides.
    #[error("creating the profile did not finish: {0}")]
    WaveFailed(String),
    /// The tenant holds several profiles with the object's name (names should be unique,
    /// case-insensitively): the operator never picks one silently.
    #[error(
        "the tenant holds more than one identity profile named {0}; remove or rename the extra ones in the tenant"
    )]
    DuplicateTenantProfiles(String),
    /// A tenant write (a delete under `deletionPolicy: Delete`) is held by a pause switch
    /// (`Tenant.spec.suspend` or the object's pause annotation): the finalizer stays until the
    /// hold is lifted. Not a failure.
    #[error("{}", .0.message)]
    WritesHeld(crate::controller::pause::WriteHold),
    /// The object waits for others it depends on to exist on the tenant (a LifecycleState for
    /// its IdentityProfile, a profile for the attributes and transforms it names). Not a
    /// failure: looked at again soon, without a tenant call.
    #[error("{0}")]
    WaitingForDependencies(String),
    /// The tenant refused a write that needs a credential with user context (403), e.g.
    /// creating, changing or deleting an identity attribute with an API client's credential.
    #[error("{0}")]
    UserContextRequired(String),
    /// A name in the spec (a source name, an owner's alias, a transform name) matches no
    /// tenant object on the object's Tenant, yet: like a Tenant that is not there yet, it may
    /// appear (created by an admin or another tool), so it is looked for again with backoff
    /// and at every resync (from the Tenant's cached lists), and a GitOps tool does not fail
    /// fast on it.
    #[error("{0}")]
    UnresolvedReference(String),
    /// A name in the spec matches several tenant objects on the object's Tenant: the operator
    /// never picks one, so a person must rename them or give the id.
    #[error("{0}")]
    AmbiguousReference(String),
    /// The Kubernetes API failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// How often an object waiting for its dependencies looks again (no tenant call).
pub const DEPENDENCY_RECHECK: Duration = Duration::from_secs(5);

/// How often an object in `Conflict` looks whether the owner is gone (no tenant call).
pub const CONFLICT_RECHECK: Duration = Duration::from_secs(20);

/// Longest tenant answer kept in status, conditions and Events.
pub const MAX_TENANT_MESSAGE: usize = 480;

/// True when the tenant refused a write as invalid: a 4xx other than 401, 403, 404, 409 and
/// 429. Sending the same write again for the same spec cannot succeed, so it is not retried
/// blindly (see `status.lastRefusal`).
pub fn is_tenant_refusal(error: &ReconcileError) -> bool {
    match error {
        ReconcileError::Tenant(IscError::Api { status, .. }) => {
            (400..500).contains(status) && !matches!(status, 401 | 403 | 404 | 409 | 429)
        }
        ReconcileError::ImportRefused { .. } => true,
        _ => false,
    }
}

/// `text` cut to at most [`MAX_TENANT_MESSAGE`] characters (marked with `…`).
pub fn truncated(text: &str) -> String {
    if text.chars().count() <= MAX_TENANT_MESSAGE {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_TENANT_MESSAGE - 1).collect();
    out.push('…');
    out
}

/// What to do after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Only a change to the object (or its Tenant/Secret, checked periodically) can help.
    AfterChange,
    /// Try again with per-object exponential backoff.
    Backoff,
    /// The tenant asked to wait this long.
    After(Duration),
}

impl ReconcileError {
    /// Short CamelCase reason for conditions and events.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::TenantNotFound(_) => reason::TENANT_NOT_FOUND,
            ReconcileError::SecretNotFound(_) => reason::SECRET_NOT_FOUND,
            ReconcileError::SecretKeyMissing { .. } => reason::SECRET_INVALID,
            ReconcileError::Policy(e) => e.reason(),
            ReconcileError::InvalidSpec(_) => reason::INVALID_SPEC,
            ReconcileError::Conflict(_) => reason::CONFLICT,
            ReconcileError::Tenant(e) => match e {
                // A token endpoint that fails (5xx) refused nothing: TenantUnavailable below.
                IscError::Auth { .. } if e.class() != ErrorClass::Transient => {
                    reason::AUTHENTICATION_FAILED
                }
                _ => match e.class() {
                    ErrorClass::Forbidden => reason::FORBIDDEN,
                    ErrorClass::RateLimited => reason::RATE_LIMITED,
                    ErrorClass::NotFound => reason::NOT_FOUND,
                    ErrorClass::Permanent => reason::TENANT_REJECTED,
                    ErrorClass::Transient => reason::TENANT_UNAVAILABLE,
                },
            },
            ReconcileError::TenantTaskFailed(_) => reason::TENANT_TASK_FAILED,
            ReconcileError::Kube(_) => reason::KUBERNETES_ERROR,
            ReconcileError::Waiting(_) => reason::WAITING,
            ReconcileError::Panicked => reason::INTERNAL_ERROR,
            ReconcileError::RefusedBefore { .. } => reason::TENANT_REJECTED,
            ReconcileError::MalformedTenantObject(_) => reason::MALFORMED_TENANT_OBJECT,
            ReconcileError::DeletionBlocked(_) => reason::DELETION_BLOCKED,
            ReconcileError::ImportRefused { .. } => reason::TENANT_REJECTED,
            ReconcileError::WaveFailed(_) => reason::TENANT_UNAVAILABLE,
            ReconcileError::DuplicateTenantProfiles(_) => reason::CONFLICT,
            ReconcileError::WritesHeld(hold) => hold.reason,
            ReconcileError::WaitingForDependencies(_) => reason::WAITING_FOR_DEPENDENCIES,
            ReconcileError::UserContextRequired(_) => reason::USER_CONTEXT_REQUIRED,
            ReconcileError::UnresolvedReference(_) => reason::UNRESOLVED_REFERENCE,
            ReconcileError::AmbiguousReference(_) => reason::AMBIGUOUS_REFERENCE,
        }
    }

    /// Whether the operator cannot progress without a change from a person (kstatus
    /// `Stalled=True`): an invalid spec, a Conflict, a refused write, Forbidden, a refused
    /// credential, a policy violation. Everything else (a Tenant or Secret not there yet, 429,
    /// 5xx, timeouts, Kubernetes errors, waiting for a task) is `Reconciling`: it may clear by
    /// itself, and a GitOps tool must not fail fast on it.
    pub fn stalls(&self) -> bool {
        match self {
            ReconcileError::InvalidSpec(_)
            | ReconcileError::Conflict(_)
            | ReconcileError::Policy(_)
            | ReconcileError::SecretKeyMissing { .. }
            | ReconcileError::TenantTaskFailed(_)
            | ReconcileError::RefusedBefore { .. }
            | ReconcileError::MalformedTenantObject(_)
            | ReconcileError::DeletionBlocked(_)
            | ReconcileError::ImportRefused { .. }
            | ReconcileError::DuplicateTenantProfiles(_)
            | ReconcileError::UserContextRequired(_)
            | ReconcileError::AmbiguousReference(_) => true,
            ReconcileError::Tenant(e) => {
                matches!(e.class(), ErrorClass::Forbidden | ErrorClass::Permanent)
            }
            ReconcileError::TenantNotFound(_)
            | ReconcileError::SecretNotFound(_)
            | ReconcileError::Waiting(_)
            | ReconcileError::Panicked
            | ReconcileError::WaveFailed(_)
            | ReconcileError::WritesHeld(_)
            | ReconcileError::WaitingForDependencies(_)
            | ReconcileError::UnresolvedReference(_)
            | ReconcileError::Kube(_) => false,
        }
    }

    /// The kstatus conditions this error shows, with `message` (the caller's, usually
    /// [`ReconcileError::message`] shortened): `Stalled` when it [stalls](Self::stalls), held
    /// by a pause switch for [`ReconcileError::WritesHeld`], else `Reconciling`; the reason is
    /// always [`ReconcileError::reason`].
    pub fn progress<'a>(&self, message: &'a str) -> Progress<'a> {
        let reason = self.reason();
        if self.stalls() {
            Progress::Stalled { reason, message }
        } else if let ReconcileError::WritesHeld(_) = self {
            Progress::Held { reason, message }
        } else {
            Progress::Reconciling { reason, message }
        }
    }

    /// Message for conditions and events; for a 403 it says which credential is needed.
    pub fn message(&self) -> String {
        match self {
            ReconcileError::Tenant(e) if e.class() == ErrorClass::Forbidden => format!(
                "{e}. The credential lacks a right or a user context: some operations (identities \
                 list, profile import) need a personal access token of an admin user rather than an \
                 API client without user context"
            ),
            e => e.to_string(),
        }
    }

    /// How the controller should retry.
    pub fn requeue(&self) -> Requeue {
        match self {
            // A lifted hold is a change: the object's annotation is a watch event, a Tenant's
            // suspend makes the resync sweep reconcile the objects that show it.
            ReconcileError::InvalidSpec(_)
            | ReconcileError::TenantTaskFailed(_)
            | ReconcileError::DeletionBlocked(_)
            | ReconcileError::WritesHeld(_)
            | ReconcileError::UserContextRequired(_)
            | ReconcileError::AmbiguousReference(_)
            | ReconcileError::ImportRefused { .. } => Requeue::AfterChange,
            // The tenant's lists are cached: a retry within the miss floor costs no call.
            ReconcileError::UnresolvedReference(_) => Requeue::Backoff,
            ReconcileError::WaitingForDependencies(_) => Requeue::After(DEPENDENCY_RECHECK),
            // Cheap (no tenant call): looks again soon, so a loser takes over once the owner
            // is gone.
            ReconcileError::Conflict(_) => Requeue::After(CONFLICT_RECHECK),
            ReconcileError::RefusedBefore { wait, .. } => Requeue::After(*wait),
            ReconcileError::MalformedTenantObject(_)
            | ReconcileError::DuplicateTenantProfiles(_) => Requeue::Backoff,
            ReconcileError::TenantNotFound(_)
            | ReconcileError::SecretNotFound(_)
            | ReconcileError::SecretKeyMissing { .. } => Requeue::Backoff,
            ReconcileError::Tenant(e) => match e.class() {
                ErrorClass::RateLimited => e
                    .retry_after()
                    .map(Requeue::After)
                    .unwrap_or(Requeue::Backoff),
                ErrorClass::Permanent if !matches!(e, IscError::Auth { .. }) => {
                    Requeue::AfterChange
                }
                _ => Requeue::Backoff,
            },
            ReconcileError::Policy(e) if e.fixed_in_secret() => Requeue::Backoff,
            ReconcileError::Policy(_) => Requeue::AfterChange,
            ReconcileError::Kube(_) => Requeue::Backoff,
            ReconcileError::Waiting(_) => Requeue::After(Duration::from_secs(1)),
            ReconcileError::Panicked | ReconcileError::WaveFailed(_) => Requeue::Backoff,
        }
    }
}
