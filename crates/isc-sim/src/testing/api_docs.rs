//! Finds the official API documents the conformance tests hold the simulator and client to.
//!
//! They are large and not ours, so the repository does not carry them. Three places are looked
//! at, in order: the directory in `ISC_API_DOCS`; `shared/isc-api/` beside the checkout; the
//! per-user cache `scripts/fetch-isc-api-docs.sh` fills. A test that needs them and finds none
//! fails loudly instead of skipping.

use std::path::{Path, PathBuf};

/// The `sailpoint-oss/api-specs` snapshot commit the documents are pinned to; it names the
/// cache directory (`scripts/fetch-isc-api-docs.sh` uses the same value).
pub const API_DOCS_PIN: &str = "81ef79d05e43806f9083f42015a2a359bbd76e1f";

/// The files a directory must hold to count.
const FILES: [&str; 2] = [
    "sailpoint-api.v2024.json",
    "sailpoint-api.cc.historical.yaml",
];

/// The directory holding the official documents; panics naming every way to provide them.
pub fn api_docs_dir() -> PathBuf {
    let candidates = candidates();
    if let Some(dir) = candidates.iter().find(|dir| has_documents(dir)) {
        return dir.clone();
    }
    let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
    panic!(
        "the official ISC API documents ({}) were not found (looked in: {}). Provide them in one \
         of three ways: set ISC_API_DOCS to a directory holding them; put the shared/ folder \
         (with shared/isc-api/) beside the checkout; or run scripts/fetch-isc-api-docs.sh to \
         download them into the per-user cache",
        FILES.join(", "),
        looked.join(", ")
    );
}

fn candidates() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("ISC_API_DOCS").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    // The checkout as `cargo test` names it when it runs the test (at run time): a test binary
    // reused from a build cache that another checkout filled keeps that checkout's compile-time
    // path, which may be gone.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    for crate_dir in [manifest_dir, PathBuf::from(env!("CARGO_MANIFEST_DIR"))] {
        // Every crate of the workspace sits one or two levels under its root.
        for root in [crate_dir.join(".."), crate_dir.join("../..")] {
            let dir = root.join("../shared/isc-api");
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(cache) = cache {
        dirs.push(cache.join("isc-operator/isc-api").join(API_DOCS_PIN));
    }
    dirs
}

fn has_documents(dir: &Path) -> bool {
    FILES.iter().all(|f| dir.join(f).is_file())
}
