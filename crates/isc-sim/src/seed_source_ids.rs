//! Source ids of a seed, changed: the same sources under other ids make a second tenant (a
//! sandbox and a production tenant have the same source names and different ids), which is
//! how name-based references are tested.

use serde_json::Value;

use super::seed::{Seed, SeedError};

/// Replaces `old` by `new` wherever a JSON document names a source by id: `sourceId` members
/// and `sourceIds` lists, at any depth (transform attributes, nested transform definitions).
fn replace_source_id(value: &mut Value, old: &str, new: &str) {
    match value {
        Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                match (key.as_str(), &mut *member) {
                    ("sourceId", Value::String(id)) if id == old => *id = new.to_string(),
                    ("sourceIds", Value::Array(ids)) => {
                        for id in ids.iter_mut() {
                            if id.as_str() == Some(old) {
                                *id = Value::String(new.to_string());
                            }
                        }
                    }
                    _ => replace_source_id(member, old, new),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| replace_source_id(item, old, new)),
        _ => {}
    }
}

/// The 128-bit FNV-1a hash, enough to derive distinct, stable ids.
fn fnv1a_128(parts: &[&str]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u128::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

impl Seed {
    /// The same seed with the source named `name` (exactly) under `id`; its identities, seeded
    /// profiles (authoritative source, `sourceId` in attribute transforms) and seeded transforms
    /// (`sourceId`/`sourceIds` in their attributes) follow it. Fails when no source has that name, or the id is malformed
    /// or taken by another source.
    pub fn with_source_id(mut self, name: &str, id: &str) -> Result<Seed, SeedError> {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SeedError::Invalid(format!(
                "source id '{id}' must be letters, digits, '-' or '_'"
            )));
        }
        let Some(idx) = self.sources.iter().position(|s| s.name == name) else {
            return Err(SeedError::Invalid(format!("no source is named '{name}'")));
        };
        if self.sources.iter().any(|s| s.id == id && s.name != name) {
            return Err(SeedError::Invalid(format!(
                "source id '{id}' is already used by another source"
            )));
        }
        let old = std::mem::replace(&mut self.sources[idx].id, id.to_string());
        for identity in self.identities.iter_mut().filter(|i| i.source_id == old) {
            identity.source_id = id.to_string();
        }
        for profile in &mut self.identity_profiles {
            if profile.authoritative_source.id.as_deref() == Some(old.as_str()) {
                profile.authoritative_source.id = Some(id.to_string());
            }
            if let Some(config) = profile.identity_attribute_config.as_mut() {
                let mut doc = serde_json::to_value(&*config).unwrap_or(Value::Null);
                replace_source_id(&mut doc, &old, id);
                if let Ok(moved) = serde_json::from_value(doc) {
                    *config = moved;
                }
            }
        }
        for transform in &mut self.transforms {
            if let Some(attributes) = transform.attributes.as_mut() {
                let mut doc = Value::Object(std::mem::take(attributes));
                replace_source_id(&mut doc, &old, id);
                if let Value::Object(map) = doc {
                    *attributes = map;
                }
            }
        }
        Ok(self)
    }

    /// The same seed with every source under a new id derived from `tenant` and the old id
    /// (32 hex, stable): two simulators seeded with `with_tenant_source_ids("sandbox")` and
    /// `("production")` have the same source names and different source ids.
    pub fn with_tenant_source_ids(self, tenant: &str) -> Seed {
        let names: Vec<(String, String)> = self
            .sources
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    format!("{:032x}", fnv1a_128(&[tenant, &s.id])),
                )
            })
            .collect();
        names.into_iter().fold(self, |seed, (name, id)| {
            seed.clone().with_source_id(&name, &id).unwrap_or(seed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_moves_to_a_new_id_with_its_identities() {
        let builtin = Seed::builtin();
        let old = builtin.sources[0].id.clone();
        let name = builtin.sources[0].name.clone();
        let moved = builtin.clone().with_source_id(&name, "s-new").unwrap();
        moved.validate().unwrap();
        assert_eq!(moved.sources[0].id, "s-new");
        let count =
            |seed: &Seed, id: &str| seed.identities.iter().filter(|i| i.source_id == id).count();
        assert_eq!(count(&moved, "s-new"), count(&builtin, &old));
        assert_eq!(count(&moved, &old), 0);
        for bad in ["", "a/b"] {
            assert!(
                builtin.clone().with_source_id(&name, bad).is_err(),
                "{bad:?}"
            );
        }
        assert!(
            builtin
                .clone()
                .with_source_id("No such source", "x")
                .is_err()
        );
        let taken = builtin.sources[1].id.clone();
        assert!(builtin.clone().with_source_id(&name, &taken).is_err());
    }

    #[test]
    fn source_ids_in_seeded_profiles_and_transforms_follow() {
        let mut seed = Seed::builtin();
        let old = seed.sources[0].id.clone();
        let name = seed.sources[0].name.clone();
        let profile = serde_json::json!({"name": "P",
            "authoritativeSource": {"type": "SOURCE", "id": old},
            "identityAttributeConfig": {"enabled": true, "attributeTransforms": [
                {"identityAttributeName": "email", "transformDefinition": {"type": "accountAttribute",
                    "attributes": {"sourceId": old, "attributeName": "mail"}}}]}});
        seed.identity_profiles
            .push(serde_json::from_value(profile).unwrap());
        let transform = serde_json::json!({"name": "T", "type": "firstValid", "attributes":
            {"values": [{"type": "accountAttribute", "attributes": {"sourceId": old}}],
             "sourceIds": [old, "other"]}});
        seed.transforms
            .push(serde_json::from_value(transform).unwrap());
        let moved = seed.with_source_id(&name, "s-new").unwrap();
        let text = serde_json::to_string(&(&moved.identity_profiles, &moved.transforms)).unwrap();
        assert!(!text.contains(&old), "{text}");
        assert_eq!(text.matches("s-new").count(), 4, "{text}");
        assert!(text.contains("other"));
    }

    #[test]
    fn tenant_ids_are_stable_distinct_and_keep_names() {
        let sandbox = Seed::builtin().with_tenant_source_ids("sandbox");
        let production = Seed::builtin().with_tenant_source_ids("production");
        assert_eq!(sandbox, Seed::builtin().with_tenant_source_ids("sandbox"));
        sandbox.validate().unwrap();
        production.validate().unwrap();
        for ((s, p), b) in sandbox
            .sources
            .iter()
            .zip(&production.sources)
            .zip(&Seed::builtin().sources)
        {
            assert_eq!((&s.name, &p.name), (&b.name, &b.name));
            assert_ne!(s.id, p.id);
            assert_ne!(s.id, b.id);
            assert_eq!(s.id.len(), 32);
        }
    }
}
