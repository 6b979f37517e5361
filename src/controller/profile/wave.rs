//! Creation waves: new profiles of one tenant that are ready to be created at the same time are
//! created together (one fresh list, then `import` in batches). H1 fills this in.

use crate::api::tenant::TenantSpec;

/// How a tenant's creates are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaveSettings {
    /// Create through `POST /v2024/identity-profiles/import` (else one POST per profile).
    pub use_import: bool,
    /// Profiles per import call.
    pub import_batch_size: usize,
}

impl WaveSettings {
    /// The settings a Tenant asks for.
    pub fn from_spec(_spec: &TenantSpec) -> Self {
        WaveSettings {
            use_import: true,
            import_batch_size: 50,
        }
    }
}

/// The creation waves of one tenant.
#[derive(Debug)]
pub struct CreateWaves {
    settings: WaveSettings,
}

impl CreateWaves {
    /// No wave under way yet.
    pub fn new(settings: WaveSettings) -> Self {
        CreateWaves { settings }
    }

    /// The settings this tenant's waves follow.
    pub fn settings(&self) -> WaveSettings {
        self.settings
    }
}
