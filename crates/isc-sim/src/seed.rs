//! The tenant content the simulator starts from and resets to.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use isc_wire::models::{IdentityAttribute, IdentityProfile, Transform};

/// A source (only what profiles and identities refer to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedSource {
    /// Tenant id (32 hex).
    pub id: String,
    /// Display name, copied into `authoritativeSource.name`.
    pub name: String,
}

/// An identity as the seed file (and `POST /__sim/identities`) describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedIdentity {
    /// Tenant id; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Account name on the authoritative source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The authoritative source the identity came from; decides which profile it belongs to.
    pub source_id: String,
    /// Uncorrelated identities are hidden by `GET /identities` unless `defaultFilter=NONE`.
    #[serde(default = "default_true")]
    pub correlated: bool,
    /// `identityStatus` (default `ACTIVE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_status: Option<String>,
    /// Lifecycle state name (default `active`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_state: Option<String>,
    /// Identity attributes (free-form), read by `accountAttribute` transforms in previews.
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

fn default_true() -> bool {
    true
}

/// The initial tenant: sources, identities and (optionally) identity profiles.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seed {
    /// Sources profiles may use as authoritative source.
    #[serde(default)]
    pub sources: Vec<SeedSource>,
    /// Identities, each from one source.
    #[serde(default)]
    pub identities: Vec<SeedIdentity>,
    /// Identity profiles present at start (ids generated when absent).
    #[serde(default)]
    pub identity_profiles: Vec<IdentityProfile>,
    /// Identity attributes beyond the standard ones every tenant has (an entry with a standard
    /// attribute's name replaces it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_attributes: Vec<IdentityAttribute>,
    /// Transforms present at start (ids generated when absent; `internal` only ever comes from
    /// here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Transform>,
}

/// Why a seed file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file could not be read.
    #[error("cannot read seed file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a seed document.
    #[error("seed file {path} is not valid: {source}")]
    Json {
        /// The file.
        path: String,
        /// The parse error (with line and column).
        source: serde_json::Error,
    },
    /// The content is inconsistent (unknown source ids, duplicate ids or names).
    #[error("seed is inconsistent: {0}")]
    Invalid(String),
}

const SOURCE_EMPLOYEES: &str = "2c9180835d2e5168015d32f890ca1581";
const SOURCE_CONTRACTORS: &str = "2c9180835d2e5168015d32f890ca1582";
const SOURCE_AD: &str = "2c9180835d2e5168015d32f890ca1583";

const FIRST_NAMES: [&str; 20] = [
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "Ivan",
    "John",
    "Katherine",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Shafi",
    "Tim",
    "Whitfield",
    "Yukihiro",
];
const LAST_NAMES: [&str; 15] = [
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Knuth",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Lamarr",
    "Sutherland",
    "McCarthy",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Wirth",
];
const DEPARTMENTS: [&str; 5] = [
    "Engineering",
    "Finance",
    "Sales",
    "Human Resources",
    "Support",
];

impl Seed {
    /// The deterministic default tenant: three sources ("HR Employees", "HR Contractors",
    /// "Active Directory"), 300 identities on the two HR sources (every 25th uncorrelated, every
    /// 17th disabled) and no identity profiles, so tests create the ones they need.
    pub fn builtin() -> Seed {
        let sources = vec![
            SeedSource {
                id: SOURCE_EMPLOYEES.to_string(),
                name: "HR Employees".to_string(),
            },
            SeedSource {
                id: SOURCE_CONTRACTORS.to_string(),
                name: "HR Contractors".to_string(),
            },
            SeedSource {
                id: SOURCE_AD.to_string(),
                name: "Active Directory".to_string(),
            },
        ];
        let identities = (0..FIRST_NAMES.len() * LAST_NAMES.len())
            .map(|i| {
                let first = FIRST_NAMES[i % FIRST_NAMES.len()];
                let last = LAST_NAMES[i / FIRST_NAMES.len()];
                let alias = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
                let email = format!("{alias}@example.com");
                let display = format!("{first} {last}");
                let source = if i % 3 == 2 {
                    SOURCE_CONTRACTORS
                } else {
                    SOURCE_EMPLOYEES
                };
                let disabled = i % 17 == 16;
                let attributes = json!({
                    "uid": alias,
                    "firstname": first,
                    "lastname": last,
                    "email": email,
                    "department": DEPARTMENTS[i % DEPARTMENTS.len()],
                    "displayName": display,
                    "employeeNumber": format!("{:06}", 100_000 + i),
                });
                SeedIdentity {
                    id: Some(format!("2c9180857a1b4c2d{i:016x}")),
                    name: display,
                    alias: Some(alias),
                    email: Some(email),
                    source_id: source.to_string(),
                    correlated: i % 25 != 24,
                    identity_status: Some(if disabled { "DISABLED" } else { "ACTIVE" }.to_string()),
                    lifecycle_state: Some(if disabled { "inactive" } else { "active" }.to_string()),
                    attributes: match attributes {
                        Value::Object(map) => map,
                        _ => Map::new(),
                    },
                }
            })
            .collect();
        Seed {
            sources,
            identities,
            ..Seed::default()
        }
    }

    /// Reads a seed document (JSON) and checks that it is consistent.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Seed, SeedError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let seed: Seed = serde_json::from_str(&text).map_err(|source| SeedError::Json {
            path: path.display().to_string(),
            source,
        })?;
        seed.validate()?;
        Ok(seed)
    }

    /// Checks references and uniqueness, so a bad seed fails at start-up rather than mid-test.
    pub fn validate(&self) -> Result<(), SeedError> {
        let known = |id: &str| self.sources.iter().any(|s| s.id == id);
        let mut ids = std::collections::HashSet::new();
        for identity in &self.identities {
            if !known(&identity.source_id) {
                return Err(SeedError::Invalid(format!(
                    "identity '{}' refers to unknown source '{}'",
                    identity.name, identity.source_id
                )));
            }
            if let Some(id) = &identity.id {
                if !ids.insert(id.as_str()) {
                    return Err(SeedError::Invalid(format!("duplicate identity id '{id}'")));
                }
            }
        }
        self.validate_identity_model()?;
        let mut names = std::collections::HashSet::new();
        for profile in &self.identity_profiles {
            let source = profile
                .authoritative_source
                .id
                .as_deref()
                .unwrap_or_default();
            if !known(source) {
                return Err(SeedError::Invalid(format!(
                    "identity profile '{}' refers to unknown source '{source}'",
                    profile.name
                )));
            }
            if !names.insert(profile.name.to_lowercase()) {
                return Err(SeedError::Invalid(format!(
                    "duplicate identity profile name '{}'",
                    profile.name
                )));
            }
        }
        Ok(())
    }

    /// Identity attribute names, transform names and transform ids are unique.
    fn validate_identity_model(&self) -> Result<(), SeedError> {
        let mut names = std::collections::HashSet::new();
        for attribute in &self.identity_attributes {
            if attribute.name.is_empty() || !names.insert(attribute.name.to_lowercase()) {
                return Err(SeedError::Invalid(format!(
                    "empty or duplicate identity attribute name '{}'",
                    attribute.name
                )));
            }
        }
        let (mut names, mut ids) = (
            std::collections::HashSet::new(),
            std::collections::HashSet::new(),
        );
        for transform in &self.transforms {
            if transform.name.is_empty() || !names.insert(transform.name.to_lowercase()) {
                return Err(SeedError::Invalid(format!(
                    "empty or duplicate transform name '{}'",
                    transform.name
                )));
            }
            if let Some(id) = &transform.id
                && !ids.insert(id.as_str())
            {
                return Err(SeedError::Invalid(format!("duplicate transform id '{id}'")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_deterministic_and_consistent() {
        let a = Seed::builtin();
        assert_eq!(a, Seed::builtin());
        a.validate().unwrap();
        assert_eq!(a.sources.len(), 3);
        assert_eq!(a.identities.len(), 300);
        assert!(a.identity_profiles.is_empty());
        let hex32 = |s: &str| s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit());
        assert!(a.sources.iter().all(|s| hex32(&s.id)));
        assert!(a.identities.iter().all(|i| hex32(i.id.as_deref().unwrap())));
        assert_eq!(a.identities.iter().filter(|i| !i.correlated).count(), 12);
        assert!(a.identities.iter().all(|i| i.source_id != SOURCE_AD));
    }
}
