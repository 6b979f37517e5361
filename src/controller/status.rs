//! Status conditions as the Kubernetes API conventions describe them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition status values.
pub const TRUE: &str = "True";
/// Condition status values.
pub const FALSE: &str = "False";

/// Sets (or adds) condition `type_`, keeping `lastTransitionTime` unless the status changes.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
) {
    let message = message.into();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            if existing.status != status {
                existing.last_transition_time = now();
            }
            existing.status = status.to_string();
            existing.reason = reason.to_string();
            existing.message = message;
            existing.observed_generation = generation;
        }
        None => conditions.push(Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.to_string(),
            message,
            observed_generation: generation,
            last_transition_time: now(),
        }),
    }
}

/// Removes condition `type_` if present.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// Finds condition `type_`.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// The current time as a Kubernetes `Time`.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_is_kept_while_the_status_stays() {
        let mut cs = Vec::new();
        set_condition(&mut cs, "Ready", TRUE, "Synced", "ok", Some(1));
        let first = cs[0].last_transition_time.clone();
        std::thread::sleep(std::time::Duration::from_millis(5));
        set_condition(&mut cs, "Ready", TRUE, "Synced", "still ok", Some(2));
        assert_eq!(cs[0].last_transition_time, first);
        assert_eq!(cs[0].message, "still ok");
        assert_eq!(cs[0].observed_generation, Some(2));
        set_condition(&mut cs, "Ready", FALSE, "Error", "broken", Some(2));
        assert_ne!(cs[0].last_transition_time, first);
        assert_eq!(cs.len(), 1);
        remove_condition(&mut cs, "Ready");
        assert!(cs.is_empty());
    }
}
