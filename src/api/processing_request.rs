//! `ProcessingRequest`: a one-shot, Job-like request to process identities on a tenant.
//!
//! Processing triggers real work on the tenant (and the legacy refresh can turn into a refresh
//! of every identity), so the shape is deliberately strict: the selector is structured (never
//! filter text), what cannot fit the action is rejected at admission, the spec is immutable, and
//! the status records every tenant call before it is made so the request runs at most once.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::TenantRef;

/// A one-shot identity-processing request, run at most once.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "isc.identitynow.dev",
    version = "v1alpha1",
    kind = "ProcessingRequest",
    namespaced,
    status = "ProcessingRequestStatus",
    shortname = "iscpr",
    category = "isc",
    doc = "A one-shot request to process identities on an ISC tenant; runs at most once.",
    printcolumn = r#"{"name":"Action","type":"string","jsonPath":".spec.action"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Identities","type":"integer","jsonPath":".status.identityCount"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec is immutable: a ProcessingRequest runs once; create a new one instead"))]
#[x_kube(validation = Rule::new("!(self.action in ['ProcessIdentities', 'SynchronizeAttributes']) || has(self.identities)").message("spec.identities (ids or filter) is required for actions ProcessIdentities and SynchronizeAttributes").field_path(".identities"))]
#[x_kube(validation = Rule::new("self.action != 'ProcessProfile' || !has(self.identities)").message("spec.identities is not allowed for action ProcessProfile: it processes every identity of spec.profile").field_path(".identities"))]
#[x_kube(validation = Rule::new("(self.action == 'ProcessProfile') == has(self.profile)").message("spec.profile is required for action ProcessProfile and not allowed for other actions").field_path(".profile"))]
#[x_kube(validation = Rule::new("(self.action == 'LegacyRefresh') == has(self.refreshArgs)").message("spec.refreshArgs is required for action LegacyRefresh and not allowed for other actions").field_path(".refreshArgs"))]
#[x_kube(validation = Rule::new("self.action == 'LegacyRefresh' || !has(self.fullRefresh)").message("spec.fullRefresh is only allowed for action LegacyRefresh").field_path(".fullRefresh"))]
#[x_kube(validation = Rule::new("self.action != 'LegacyRefresh' || (has(self.fullRefresh) && self.fullRefresh) != has(self.identities)").message("a LegacyRefresh needs exactly one of spec.identities (the identities to refresh) or spec.fullRefresh: true (refresh EVERY identity of the tenant)").field_path(".identities"))]
#[x_kube(validation = Rule::new("!has(self.maxIdentities) || has(self.identities)").message("spec.maxIdentities only applies to spec.identities").field_path(".maxIdentities"))]
#[x_kube(validation = Rule::new("self.action != 'SynchronizeAttributes' || !has(self.maxIdentities) || self.maxIdentities <= 250").message("SynchronizeAttributes makes one call per identity and handles at most 250 identities per request; spec.maxIdentities cannot raise that").field_path(".maxIdentities"))]
#[serde(rename_all = "camelCase")]
pub struct ProcessingRequestSpec {
    /// The `Tenant` (same namespace) to process identities on.
    pub tenant_ref: TenantRef,
    /// What to do: `ProcessIdentities` (`POST /v2024/identities/process`, in chunks of at most
    /// 250 ids), `ProcessProfile` (`POST /v2024/identity-profiles/{id}/process-identities`),
    /// `SynchronizeAttributes` (`POST /v2024/identities/{id}/synchronize-attributes`, at most once
    /// per 10 s per identity across all requests), or `LegacyRefresh` (the private
    /// `POST /cc/api/system/refreshIdentities`).
    pub action: ProcessingAction,
    /// The identities to act on: explicit ids or a structured filter, resolved and verified
    /// against the tenant before anything is sent. Required for `ProcessIdentities` and
    /// `SynchronizeAttributes`, and for `LegacyRefresh` unless `fullRefresh` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<IdentitySelector>,
    /// The most identities this request may resolve to before it fails with
    /// `TooManyIdentities` (nothing is sent then). Default 5000. A deliberate large run raises
    /// it (say to 50000); it may not exceed the operator's ceiling (flag
    /// `--max-identities-ceiling`, default 100000): a larger value fails the request with reason
    /// `MaxIdentitiesAboveCeiling` before anything is read or sent. `SynchronizeAttributes`
    /// keeps its own limit of 250. Only with `identities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_identities: Option<i64>,
    /// The identity profile whose identities `ProcessProfile` processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileTarget>,
    /// What the legacy refresh does (required for `LegacyRefresh`). Every argument is sent
    /// explicitly; unset ones are sent as false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_args: Option<LegacyRefreshArgs>,
    /// `LegacyRefresh` only: refresh EVERY identity of the tenant. The only way the operator
    /// ever sends a legacy refresh without a filter; `identities` must then be omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_refresh: Option<bool>,
    /// If the operator restarts while a submission is in flight, it cannot know whether the
    /// tenant received it. By default it does not resubmit and fails the request with condition
    /// `SubmissionOutcomeUnknown`; `true` allows one more submission (which may duplicate work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_unknown_submission: Option<bool>,
    /// Delete the request this many seconds after it finished (Succeeded or Failed), like a Job.
    /// Kept forever when omitted. A copy recreated afterwards with the same namespace, name and
    /// spec (a GitOps tool restoring it) does not run again within the operator's
    /// `--completed-run-retention` (default 7 days): it ends at once, `Ready` reason
    /// `AlreadyCompleted`. Runs meant to repeat use a new name (`metadata.generateName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 31536000))]
    pub ttl_seconds_after_finished: Option<i64>,
}

/// What a processing request does on the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProcessingAction {
    /// Process the selected identities (`POST /v2024/identities/process`, ≤250 ids per call).
    ProcessIdentities,
    /// Process every identity of one identity profile.
    ProcessProfile,
    /// Synchronize attributes of each selected identity (one call per identity).
    SynchronizeAttributes,
    /// The legacy `cc` refresh with explicit refresh arguments.
    LegacyRefresh,
}

impl ProcessingAction {
    /// The name users write in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingAction::ProcessIdentities => "ProcessIdentities",
            ProcessingAction::ProcessProfile => "ProcessProfile",
            ProcessingAction::SynchronizeAttributes => "SynchronizeAttributes",
            ProcessingAction::LegacyRefresh => "LegacyRefresh",
        }
    }
}

/// Which identities: explicit ids, or a filter resolved through the identities list.
#[derive(KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("has(self.ids) != has(self.filter)").message("set exactly one of spec.identities.ids or spec.identities.filter"))]
#[x_kube(validation = Rule::new("!has(self.includeUncorrelated) || has(self.filter)").message("spec.identities.includeUncorrelated only applies to a filter").field_path(".includeUncorrelated"))]
#[serde(rename_all = "camelCase")]
pub struct IdentitySelector {
    /// Identity ids on the tenant (1 to 5000). They are verified to exist before anything is
    /// sent; unknown ids fail the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 5000))]
    #[schemars(inner(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9_-]+$")))]
    pub ids: Option<Vec<String>>,
    /// Conditions that must all hold (AND), as supported by `GET /v2024/identities`. The
    /// operator resolves the filter (every page) before acting; zero matches fails the request
    /// and sends nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 10))]
    pub filter: Option<Vec<IdentityCondition>>,
    /// Also match identities not correlated to an account (the list's `defaultFilter=NONE`).
    /// Only with `filter`; ids are always looked up among all identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_uncorrelated: Option<bool>,
}

/// One condition on an identity field.
#[derive(KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("self.operator == 'in' ? (has(self.values) && !has(self.value)) : (has(self.value) && !has(self.values))").message("operator 'in' takes 'values' (a list); 'eq' and 'sw' take 'value'"))]
#[x_kube(validation = Rule::new("self.operator != 'in' || self.attribute == 'id'").message("operator 'in' is only supported on attribute 'id'").field_path(".operator"))]
#[x_kube(validation = Rule::new("self.operator != 'sw' || self.attribute in ['name', 'alias', 'firstname', 'lastname', 'email']").message("operator 'sw' is only supported on name, alias, firstname, lastname and email").field_path(".operator"))]
#[serde(rename_all = "camelCase")]
pub struct IdentityCondition {
    /// Identity field, as the identities list filters it.
    pub attribute: IdentityAttribute,
    /// `eq` (equals), `sw` (starts with; name, alias, firstname, lastname, email), `in` (one
    /// of `values`; id only).
    pub operator: ConditionOperator,
    /// The value for `eq` and `sw` (compared case-insensitively by the tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub value: Option<String>,
    /// The values for `in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    #[schemars(inner(length(min = 1, max = 256)))]
    pub values: Option<Vec<String>>,
}

/// Identity fields the identities list can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum IdentityAttribute {
    /// Identity id.
    Id,
    /// Display name.
    Name,
    /// Account name on the authoritative source.
    Alias,
    /// First name.
    Firstname,
    /// Last name.
    Lastname,
    /// E-mail address.
    Email,
    /// `cloudStatus`, e.g. `ACTIVE`.
    CloudStatus,
    /// `processingState`, e.g. `ERROR`.
    ProcessingState,
}

impl IdentityAttribute {
    /// The field name in the API's filter grammar.
    pub fn field(self) -> &'static str {
        match self {
            IdentityAttribute::Id => "id",
            IdentityAttribute::Name => "name",
            IdentityAttribute::Alias => "alias",
            IdentityAttribute::Firstname => "firstname",
            IdentityAttribute::Lastname => "lastname",
            IdentityAttribute::Email => "email",
            IdentityAttribute::CloudStatus => "cloudStatus",
            IdentityAttribute::ProcessingState => "processingState",
        }
    }
}

/// A comparison the identities list supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConditionOperator {
    /// Equals.
    Eq,
    /// Starts with.
    Sw,
    /// One of a list.
    In,
}

/// The profile of `ProcessProfile`: a reference to an `IdentityProfile` object or a tenant id.
#[derive(KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("has(self.identityProfileRef) != has(self.id)").message("set exactly one of spec.profile.identityProfileRef or spec.profile.id"))]
#[serde(rename_all = "camelCase")]
pub struct ProfileTarget {
    /// An `IdentityProfile` object in the same namespace; its tenant id (`status.id`) is used
    /// once the profile exists on the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_profile_ref: Option<LocalObjectRef>,
    /// The tenant-side id of an identity profile not managed by this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub id: Option<String>,
}

/// A reference to an object of a known kind in the same namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocalObjectRef {
    /// Object name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// The six arguments of the legacy refresh; anything else is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyRefreshArgs {
    /// Recompute entitlement, role and access-profile assignments.
    #[serde(default)]
    pub correlate_entitlements: bool,
    /// Recompute identity attributes.
    #[serde(default)]
    pub promote_attributes: bool,
    /// Recompute manager correlation and status (expensive).
    #[serde(default)]
    pub refresh_manager_status: bool,
    /// Run attribute-sync provisioning.
    #[serde(default)]
    pub synchronize_attributes: bool,
    /// Delete identities without accounts (only on SailPoint's advice).
    #[serde(default)]
    pub prune_identities: bool,
    /// Provision role assignments whose entitlements are not yet fulfilled.
    #[serde(default)]
    pub provision: bool,
}

impl From<LegacyRefreshArgs> for isc_client::models::RefreshArgs {
    fn from(a: LegacyRefreshArgs) -> Self {
        isc_client::models::RefreshArgs {
            correlate_entitlements: a.correlate_entitlements,
            promote_attributes: a.promote_attributes,
            refresh_manager_status: a.refresh_manager_status,
            synchronize_attributes: a.synchronize_attributes,
            prune_identities: a.prune_identities,
            provision: a.provision,
        }
    }
}

/// Where the request is, like a Job's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Phase {
    /// Not yet resolved (waiting for the tenant, the profile, or the first reconcile).
    Pending,
    /// Resolved; submitting calls or following tenant tasks.
    Running,
    /// Every call was accepted and every followed task succeeded.
    Succeeded,
    /// Nothing more will happen; see the `Failed` condition.
    Failed,
}

impl Phase {
    /// Whether the request is finished (the TTL clock runs).
    pub fn is_finished(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }
}

/// Where one tenant call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SubmissionState {
    /// Not sent yet.
    Pending,
    /// Recorded right before the call; if the operator finds this after a restart, the
    /// outcome is unknown.
    Submitting,
    /// Accepted; the tenant task is being followed.
    Running,
    /// Accepted and nothing to follow (no task id): done.
    Submitted,
    /// The tenant task finished successfully.
    Succeeded,
    /// The tenant rejected the call or its task failed.
    Failed,
    /// The call's outcome is unknown (restart or lost response); the operator is looking for
    /// the task it created on the tenant's task lists. Never sent again to find out.
    Locating,
    /// The call may or may not have reached the tenant (restart or lost response), and the
    /// tenant's task lists showed no single task that is the call's.
    Unknown,
    /// Not sent because an earlier call failed.
    Skipped,
}

impl SubmissionState {
    /// Whether nothing more will happen to this submission.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SubmissionState::Submitted
                | SubmissionState::Succeeded
                | SubmissionState::Failed
                | SubmissionState::Unknown
                | SubmissionState::Skipped
        )
    }
}

/// One tenant call of the request, recorded before it is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    /// Where the call is.
    pub state: SubmissionState,
    /// How many identities this call names (≤250 for process and legacy refresh, one for
    /// attribute sync; absent for a profile or a full refresh). The ids themselves are in the
    /// ConfigMaps named by `status.resolvedIds`, so status stays small however many there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_count: Option<u32>,
    /// The tenant profile id (`ProcessProfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    /// The tenant task, followed through `GET /v2024/task-status/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The attribute-sync job id (the tenant offers no way to follow it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The state the tenant last reported (`completionStatus` of the task, or the sync job's
    /// status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_status: Option<String>,
    /// What happened, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the call was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Time>,
    /// How often the tenant's task lists were searched for this call's task after its outcome
    /// became unknown (bounded; then the outcome stays unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_lookups: Option<u32>,
    /// When the submission reached a terminal state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}

impl Submission {
    /// A call not made yet.
    pub fn pending(identity_count: Option<u32>, profile_id: Option<String>) -> Self {
        Submission {
            state: SubmissionState::Pending,
            identity_count,
            profile_id,
            task_id: None,
            job_id: None,
            tenant_status: None,
            message: None,
            submitted_at: None,
            outcome_lookups: None,
            finished_at: None,
        }
    }
}

/// The ConfigMaps holding the identity ids a request resolved to, written before the first
/// call and read back call by call: `<configMapPrefix>-<n>` holds calls
/// `n * callsPerConfigMap ..`, one data key per call (`00017`: the call's ids, one a line).
/// Owned by the request, so they are deleted with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedIdsRef {
    /// Name prefix of the ConfigMaps (unique per resolution).
    pub config_map_prefix: String,
    /// Calls (data keys) per ConfigMap.
    pub calls_per_config_map: u32,
}

/// Observed state of a `ProcessingRequest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingRequestStatus {
    /// `Pending`, `Running`, `Succeeded` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Identities the request resolved to (for a profile: the tenant's identity count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_count: Option<i64>,
    /// Where the resolved identity ids are kept (ConfigMaps owned by the request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_ids: Option<ResolvedIdsRef>,
    /// Every tenant call, in order, with its task or job and state (counts and ids of tasks,
    /// never the identity ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub submissions: Vec<Submission>,
    /// When the operator started working on the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the request finished (Succeeded or Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// The earlier run of the same request (same namespace, name and spec) this one did not
    /// repeat (condition `Ready` reason `AlreadyCompleted`); absent when the request ran itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_run: Option<PreviousRun>,
    /// kstatus `Ready`, `Reconciling`, `Stalled`, `Suspended`, and `Resolved`, `Complete`,
    /// `Failed`, `SubmissionOutcomeUnknown`, `Blocked`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::api::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A finished run of a request with the same namespace, name and spec, as the operator's record
/// of finished runs (ConfigMap `isc-operator-completed-runs`) holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviousRun {
    /// How the earlier run ended (`Succeeded` or `Failed`).
    pub outcome: Phase,
    /// When it finished.
    pub completed_at: Time,
    /// The uid of the earlier object.
    pub uid: String,
}
