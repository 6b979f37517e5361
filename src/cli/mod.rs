//! Commands that work against a tenant without a cluster: `export` (tenant profiles as
//! manifests) and `plan` (what applying manifests would change), implemented in [`preview`].

pub mod export;
pub mod preview;
