//! Wire overrides of stored profiles: top-level fields replaced verbatim in every successful
//! tenant answer that carries the profile. A test uses them to make the tenant serve a profile
//! with a null or a wrong type where the schema says object (as a tenant with damaged data
//! would), while the simulator's own typed state stays valid.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::routes::Reply;

/// Overrides by profile id.
#[derive(Debug, Clone, Default)]
pub(crate) struct WireOverrides {
    by_id: HashMap<String, Map<String, Value>>,
}

impl WireOverrides {
    /// Replaces the overrides of one profile.
    pub(crate) fn set(&mut self, id: &str, fields: Map<String, Value>) {
        self.by_id.insert(id.to_string(), fields);
    }

    /// Drops the overrides of one profile; false when it had none.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        self.by_id.remove(id).is_some()
    }

    /// Rewrites the profiles in a successful answer of `operation_id`.
    pub(crate) fn apply(&self, operation_id: &str, reply: &mut Reply) {
        if self.by_id.is_empty() || !reply.status.is_success() {
            return;
        }
        let Some(body) = reply.body.as_mut() else {
            return;
        };
        match (operation_id, body) {
            ("listIdentityProfiles", Value::Array(items)) => {
                items.iter_mut().for_each(|p| self.apply_one(p));
            }
            ("exportIdentityProfiles", Value::Array(items)) => items
                .iter_mut()
                .filter_map(|e| e.get_mut("object"))
                .for_each(|p| self.apply_one(p)),
            ("getIdentityProfile" | "updateIdentityProfile", profile) => self.apply_one(profile),
            _ => {}
        }
    }

    /// The profile as it would be served: its stored JSON with the overrides applied.
    pub(crate) fn apply_one(&self, profile: &mut Value) {
        let id = profile
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (Some(fields), Value::Object(map)) = (id.and_then(|id| self.by_id.get(&id)), profile)
        else {
            return;
        };
        for (key, value) in fields {
            map.insert(key.clone(), value.clone());
        }
    }
}
