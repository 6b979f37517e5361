//! The plan of one tenant object, for every identity-model kind: what the reconcile must send
//! (`Create` the body, `Update` the changed fields, or `Nothing`), and how `status.plannedChange`
//! shows it. The per-kind planners (pure) build it field by field with [`FieldChanges`].

use serde::Serialize;
use serde_json::Value;

use crate::api::identity_profile::PlannedOperation;
use crate::api::managed::PlannedChange;
use isc_client::models::JsonPatchOperation;

/// What to do to make one tenant object match its spec.
#[derive(Debug, Clone, PartialEq)]
pub enum TenantObjectPlan<R> {
    /// Already converged: no call.
    Nothing,
    /// The object does not exist: create it with this body.
    Create(Box<R>),
    /// Change the fields `changes` names (never empty). `body` is the whole object after the
    /// change, for the kinds the tenant updates with `PUT`; kinds updated with JSON Patch send
    /// `changes` themselves.
    Update {
        /// The object as it is after the update (the `PUT` body).
        body: Box<R>,
        /// The changed fields, as RFC 6902 operations against the tenant object.
        changes: Vec<JsonPatchOperation>,
    },
    /// The tenant object differs in a field the tenant cannot change (for example an adopted
    /// transform of another `type`): only a person can resolve it, nothing is sent.
    Immutable(String),
}

impl<R> TenantObjectPlan<R> {
    /// Number of write calls the plan costs.
    pub fn write_calls(&self) -> usize {
        match self {
            TenantObjectPlan::Nothing | TenantObjectPlan::Immutable(_) => 0,
            TenantObjectPlan::Create(_) | TenantObjectPlan::Update { .. } => 1,
        }
    }

    /// Whether the tenant object matches (nothing to send).
    pub fn is_nothing(&self) -> bool {
        matches!(self, TenantObjectPlan::Nothing)
    }
}

/// The plan as `status.plannedChange` shows it: action `None`, `Create` (one `add` of the
/// whole body at the root), `Update` (the changed fields) or `Immutable`.
pub fn shown_plan<R: Serialize>(plan: &TenantObjectPlan<R>) -> PlannedChange {
    let shown = |o: &JsonPatchOperation| PlannedOperation {
        op: o.op.clone(),
        path: o.path.clone(),
        value: o.value.clone(),
    };
    match plan {
        TenantObjectPlan::Nothing => PlannedChange {
            action: "None".into(),
            patches: vec![],
        },
        TenantObjectPlan::Create(body) => PlannedChange {
            action: "Create".into(),
            patches: vec![vec![PlannedOperation {
                op: "add".into(),
                path: String::new(),
                value: serde_json::to_value(body).ok(),
            }]],
        },
        TenantObjectPlan::Update { changes, .. } => PlannedChange {
            action: "Update".into(),
            patches: vec![changes.iter().map(shown).collect()],
        },
        TenantObjectPlan::Immutable(_) => PlannedChange {
            action: "Immutable".into(),
            patches: vec![],
        },
    }
}

/// The changed fields of one object, collected by the per-kind planners.
#[derive(Debug, Default)]
pub struct FieldChanges(Vec<JsonPatchOperation>);

impl FieldChanges {
    /// Records `/field` ← `desired` when it differs from `observed` (`replace` when the
    /// tenant has the member, `add` when it does not).
    pub fn compare<T: Serialize + PartialEq>(
        &mut self,
        field: &str,
        desired: &T,
        observed: Option<&T>,
        observed_present: bool,
    ) {
        self.push_if(observed != Some(desired), field, desired, observed_present);
    }

    /// Like [`FieldChanges::compare`] for a field the tenant always returns.
    pub fn replace_if_changed<T: Serialize + PartialEq>(
        &mut self,
        field: &str,
        desired: &T,
        observed: &T,
    ) {
        self.compare(field, desired, Some(observed), true);
    }

    /// Records `/field` ← `desired` when `differs` (the caller compared, e.g. as sets).
    pub fn push_if<T: Serialize>(
        &mut self,
        differs: bool,
        field: &str,
        desired: &T,
        present: bool,
    ) {
        if differs {
            let op = if present { "replace" } else { "add" };
            self.0.push(JsonPatchOperation {
                op: op.into(),
                path: format!("/{field}"),
                value: Some(serde_json::to_value(desired).unwrap_or(Value::Null)),
                from: None,
            });
        }
    }

    /// No field changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The plan: `Nothing` without changes, else `Update` with `body`.
    pub fn into_plan<R>(self, body: R) -> TenantObjectPlan<R> {
        if self.0.is_empty() {
            TenantObjectPlan::Nothing
        } else {
            TenantObjectPlan::Update {
                body: Box::new(body),
                changes: self.0,
            }
        }
    }
}
