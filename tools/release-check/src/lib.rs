//! What `deploy/` promises, in code both checks share: the eight services and how each is
//! probed ([`services`]), the Cloud Run manifests ([`manifest`]) and the settings each
//! service's source reads ([`settings`]). `tests/manifests.rs` holds the manifests to the
//! source; the binary (`make release-check`) starts each release binary alone and measures it.

pub mod manifest;
pub mod services;
pub mod settings;

use std::path::{Path, PathBuf};

/// The workspace root: two levels above this crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
