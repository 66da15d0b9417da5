//! The state directory: what a server keeps across restarts.
//!
//! ```text
//! STATE/
//!   manifest.json              the deployed apps: {"apps": {NAME: {version, components, deployed_at}}}
//!   components/SHA256.wasm     every component uploaded, named by the SHA-256 of its bytes
//!   results.ndjson             the retained results of spawned calls, written at shutdown
//!   tokens.json                the app tokens, as SHA-256 digests (`access`)
//! ```
//!
//! Invariant: a file of the state is either its previous content or its new one, never a mix:
//! each is written beside itself under a temporary name, synced, then renamed over (see
//! `atomic`), so a crash mid-write leaves the previous version, and a leftover temporary file
//! is never read (and is removed at the next start). The directory is made readable by its
//! owner only, and refused when another user owns it or group or others may write it: it
//! holds the code the server runs. Its files are read as untrusted input (`files`): regular
//! files only, within a cap.

pub(crate) mod atomic;
pub(crate) mod components;
pub(crate) mod files;
pub(crate) mod manifest;
pub(crate) mod results;

use crate::ServerError;
use std::path::{Path, PathBuf};

/// The largest manifest or token file read: 64 MiB.
pub(crate) const MAX_STATE_FILE: u64 = 64 << 20;

/// The state directory of a server.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Opens the state directory at `root`, making it (owner only) and its `components/` if
    /// they are missing, and removes temporary files a crash left behind.
    pub(crate) fn open(root: &Path) -> Result<StateDir, ServerError> {
        let state = StateDir {
            root: root.to_owned(),
        };
        for dir in [state.root.clone(), state.components_dir()] {
            create_private_dir(&dir).map_err(ServerError::io("create", &dir))?;
            if let Some(problem) = files::unsafe_dir(&dir) {
                return Err(ServerError::UnsafeStateDir { dir, problem });
            }
            atomic::remove_leftovers(&dir).map_err(ServerError::io("clean up", &dir))?;
        }
        Ok(state)
    }

    /// The directory itself.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// `manifest.json`.
    pub(crate) fn manifest_path(&self) -> PathBuf {
        self.root.join("manifest.json")
    }

    /// `results.ndjson`.
    pub(crate) fn results_path(&self) -> PathBuf {
        self.root.join("results.ndjson")
    }

    /// `tokens.json`: the app tokens, as digests.
    pub(crate) fn tokens_path(&self) -> PathBuf {
        self.root.join("tokens.json")
    }

    /// `components/`.
    pub(crate) fn components_dir(&self) -> PathBuf {
        self.root.join("components")
    }
}

/// Makes `dir` and its missing parents, readable by the owner only (on Unix); an existing
/// directory is left as it is.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_state_dir_is_private() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("a/state");
        let state = StateDir::open(&root).unwrap();
        assert!(state.components_dir().is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&root).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}
