//! The kstatus conventions every kind follows, in one place, so GitOps tools (Flux `wait`,
//! `kubectl wait`, cli-utils' kstatus, Argo CD health scripts) read all three kinds the same way.
//!
//! - `Ready`: True when the object does what it declares (normal-true);
//! - `Reconciling`: True while the operator works toward the current generation (abnormal-true,
//!   removed otherwise), also while it waits out transient trouble (429, 5xx, timeouts);
//! - `Stalled`: True when the operator cannot progress without a change from a person (invalid
//!   spec, Conflict, a refused write, Forbidden, authentication failure, a failed request);
//!   abnormal-true, removed otherwise;
//! - `Suspended`: True while tenant writes are held by `Tenant.spec.suspend` or the object's
//!   `isc.identitynow.dev/paused` annotation (abnormal-true, removed otherwise).
//!
//! Every condition carries the generation it describes (`observedGeneration`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::controller::status::{FALSE, TRUE, remove_condition, set_condition};

/// Condition types of the kstatus conventions.
pub mod condition {
    /// Normal-true: the object does what it declares.
    pub const READY: &str = crate::controller::status::condition::READY;
    /// Abnormal-true: work toward the current generation is under way.
    pub const RECONCILING: &str = "Reconciling";
    /// Abnormal-true: no progress without a change from a person.
    pub const STALLED: &str = "Stalled";
    /// Abnormal-true: tenant writes are paused for this object.
    pub const SUSPENDED: &str = "Suspended";
}

/// Where an object stands, as one value: the three kstatus conditions follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Done: `Ready=True`, no `Reconciling`, no `Stalled`.
    Ready {
        /// CamelCase reason.
        reason: &'a str,
        /// Human-readable message.
        message: &'a str,
    },
    /// Working (or waiting out transient trouble): `Reconciling=True`, `Ready=False` with the
    /// same reason, no `Stalled`.
    Reconciling {
        /// CamelCase reason.
        reason: &'a str,
        /// Human-readable message.
        message: &'a str,
    },
    /// Stuck until a person changes something: `Stalled=True`, `Ready=False` with the same
    /// reason, no `Reconciling`.
    Stalled {
        /// CamelCase reason.
        reason: &'a str,
        /// Human-readable message.
        message: &'a str,
    },
    /// A write is pending but held by a pause switch (`Suspended=True` says which):
    /// `Ready=False` with the hold's reason, no `Reconciling`, no `Stalled`.
    Held {
        /// The hold's reason ([`crate::controller::pause::PAUSED`] or
        /// [`crate::controller::pause::TENANT_SUSPENDED`]).
        reason: &'a str,
        /// Human-readable message.
        message: &'a str,
    },
}

/// Sets `Ready`, `Reconciling` and `Stalled` for `progress`, each with `generation`.
pub fn set_progress(conditions: &mut Vec<Condition>, generation: Option<i64>, progress: Progress) {
    // (reason, message, Ready status, the one abnormal-true condition shown, if any)
    let (reason, message, ready, abnormal) = match progress {
        Progress::Ready { reason, message } => (reason, message, TRUE, None),
        Progress::Reconciling { reason, message } => {
            (reason, message, FALSE, Some(condition::RECONCILING))
        }
        Progress::Stalled { reason, message } => (reason, message, FALSE, Some(condition::STALLED)),
        Progress::Held { reason, message } => (reason, message, FALSE, None),
    };
    set_condition(
        conditions,
        condition::READY,
        ready,
        reason,
        message,
        generation,
    );
    for type_ in [condition::RECONCILING, condition::STALLED] {
        if abnormal == Some(type_) {
            set_condition(conditions, type_, TRUE, reason, message, generation);
        } else {
            remove_condition(conditions, type_);
        }
    }
}

/// Marks every condition as describing `generation`, for a reconcile that judged every condition
/// again (a successful one): a condition it kept as it was is still true for this generation.
/// A failed reconcile does not stamp: what it did not judge again (`Synced`, say) keeps the
/// generation it describes.
pub fn stamp_generation(conditions: &mut [Condition], generation: Option<i64>) {
    for c in conditions {
        c.observed_generation = generation;
    }
}

/// Sets (`Some`) or removes (`None`) the `Suspended` condition; `hold` is the reason and message
/// of [`crate::controller::pause::writes_held`].
pub fn set_suspended(
    conditions: &mut Vec<Condition>,
    generation: Option<i64>,
    hold: Option<&crate::controller::pause::WriteHold>,
) {
    match hold {
        Some(hold) => set_condition(
            conditions,
            condition::SUSPENDED,
            TRUE,
            hold.reason,
            hold.message.clone(),
            generation,
        ),
        None => remove_condition(conditions, condition::SUSPENDED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::status::{find_condition, is_true};

    #[test]
    fn each_progress_leaves_exactly_its_own_abnormal_condition() {
        let mut cs = Vec::new();
        set_progress(
            &mut cs,
            Some(3),
            Progress::Reconciling {
                reason: "Creating",
                message: "m",
            },
        );
        assert!(is_true(&cs, condition::RECONCILING));
        assert!(!is_true(&cs, condition::READY));
        assert!(find_condition(&cs, condition::STALLED).is_none());
        set_progress(
            &mut cs,
            Some(3),
            Progress::Stalled {
                reason: "InvalidSpec",
                message: "m",
            },
        );
        assert!(is_true(&cs, condition::STALLED));
        assert!(find_condition(&cs, condition::RECONCILING).is_none());
        assert_eq!(
            find_condition(&cs, condition::READY).unwrap().reason,
            "InvalidSpec"
        );
        set_progress(
            &mut cs,
            Some(4),
            Progress::Ready {
                reason: "Synced",
                message: "m",
            },
        );
        assert_eq!(cs.len(), 1);
        assert!(is_true(&cs, condition::READY));
        assert!(cs.iter().all(|c| c.observed_generation == Some(4)));
        set_progress(
            &mut cs,
            Some(4),
            Progress::Reconciling {
                reason: "Creating",
                message: "m",
            },
        );
        set_progress(
            &mut cs,
            Some(5),
            Progress::Held {
                reason: "Paused",
                message: "m",
            },
        );
        assert_eq!(cs.len(), 1, "neither Reconciling nor Stalled: {cs:?}");
        assert_eq!(
            find_condition(&cs, condition::READY).unwrap().reason,
            "Paused"
        );
        assert!(!is_true(&cs, condition::READY));
    }

    #[test]
    fn stamping_moves_every_condition_to_the_generation() {
        let mut cs = Vec::new();
        set_progress(
            &mut cs,
            Some(1),
            Progress::Stalled {
                reason: "Conflict",
                message: "m",
            },
        );
        set_suspended(
            &mut cs,
            Some(1),
            Some(&crate::controller::pause::WriteHold {
                reason: "Paused",
                message: "m".into(),
            }),
        );
        let times: Vec<_> = cs.iter().map(|c| c.last_transition_time.clone()).collect();
        stamp_generation(&mut cs, Some(7));
        assert_eq!(cs.len(), 3);
        assert!(cs.iter().all(|c| c.observed_generation == Some(7)));
        let kept: Vec<_> = cs.iter().map(|c| c.last_transition_time.clone()).collect();
        assert_eq!(kept, times, "no transition");
        set_suspended(&mut cs, Some(7), None);
        assert!(find_condition(&cs, condition::SUSPENDED).is_none());
    }
}
