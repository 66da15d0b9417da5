//! The state directory: what a server keeps across restarts.
//!
//! ```text
//! STATE/
//!   manifest.json              the deployed apps: {"apps": {NAME: {version, components, deployed_at}}}
//!   components/SHA256.wasm     every component uploaded, named by the SHA-256 of its bytes
//!   results.ndjson             the retained results of spawned calls, written at shutdown
//!   results.redb               the results given out by id, committed before the answer (`journal`)
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
pub(crate) mod journal;
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

    /// `results.redb`: the results given out by id, committed before the answer.
    pub(crate) fn journal_path(&self) -> PathBuf {
        self.root.join("results.redb")
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

    use proptest::prelude::*;

    /// A valid file of each kind, to cut and corrupt.
    const VALID: [&str; 3] = [
        r#"{"apps": {"hello": {"version": 1, "components": ["00"], "deployed_at": "2026-01-01T00:00:00Z"}}}"#,
        r#"{"id": "fc-0123456789abcdef0123456789abcdef", "app": "a", "function": "f", "finished_ms": 1, "ok": "1"}"#,
        r#"{"tokens": [{"id": "tk-0", "app": "a", "created_ms": 0, "digest": "00"}]}"#,
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The manifest, the saved results and the tokens, as garbage, truncated or with a
        /// byte changed: each read ends in a value or an error naming the file, never a panic.
        #[test]
        fn state_files_read_any_bytes_without_a_panic(
            garbage in proptest::collection::vec(any::<u8>(), 0..300),
            which in 0usize..3,
            cut in 0usize..200,
            flip in any::<(usize, u8)>(),
        ) {
            let temp = tempfile::tempdir().unwrap();
            let state = StateDir::open(temp.path()).unwrap();
            let valid = VALID[which].as_bytes();
            let mut flipped = valid.to_vec();
            let at = flip.0 % flipped.len();
            flipped[at] = flip.1;
            for bytes in [garbage.as_slice(), &valid[..cut.min(valid.len())], &flipped] {
                std::fs::write(state.manifest_path(), bytes).unwrap();
                std::fs::write(state.results_path(), bytes).unwrap();
                std::fs::write(state.tokens_path(), bytes).unwrap();
                let _ = manifest::Manifest::read(&state.manifest_path());
                let _ = results::load(&state.results_path());
                let _ = crate::access::Access::open(state.tokens_path(), Some("t"));
            }
        }
    }
}
