//! `components/`: uploaded components, content addressed (`SHA256.wasm`).
//!
//! Invariant: a file `components/X.wasm` holds bytes whose SHA-256 is `X`, and `X` is 64
//! lowercase hexadecimal digits (checked before any path is made from it). An upload streams
//! to a temporary file while it is hashed, and is renamed into place only once its hash is
//! known to match; a failed or abandoned upload leaves nothing. Loading an app checks its
//! components' hashes again (`verify_component`): a file changed on disk is refused.

use crate::ServerError;
use crate::state::StateDir;
use crate::state::atomic::{self, Temp};
use crate::state::files::read_regular;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

/// Checks that `id` is a SHA-256 in hex: exactly 64 of `0-9a-f`.
pub(crate) fn check_id(id: &str) -> Result<(), ServerError> {
    if id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Ok(());
    }
    Err(ServerError::BadComponentId {
        id: id
            .chars()
            .take(80)
            .collect::<String>()
            .escape_debug()
            .to_string(),
    })
}

/// The lowercase hex of `digest`.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl StateDir {
    /// The file of the component `id` (which must have passed [`check_id`]).
    pub(crate) fn component_path(&self, id: &str) -> PathBuf {
        self.components_dir().join(format!("{id}.wasm"))
    }

    /// Checks that the stored component `id` still hashes to its name (read as a state file:
    /// a regular file within the component cap), so that a file changed on disk is never run
    /// as if it were what was uploaded.
    pub(crate) async fn verify_component(&self, id: &str) -> Result<(), ServerError> {
        self.read_component(id).await.map(drop)
    }

    /// The bytes of the stored component `id`, checked as [`StateDir::verify_component`]
    /// checks them.
    pub(crate) async fn read_component(&self, id: &str) -> Result<Vec<u8>, ServerError> {
        let path = self.component_path(id);
        let read = path.clone();
        let bytes =
            tokio::task::spawn_blocking(move || read_regular(&read, fnhost::MAX_COMPONENT_BYTES))
                .await
                .map_err(|_| ServerError::ShuttingDown)?
                .map_err(ServerError::io("read", &path))?
                .ok_or_else(|| ServerError::MissingComponent {
                    sha256: id.to_owned(),
                })?;
        if hex(&Sha256::digest(&bytes)) != id {
            return Err(ServerError::ComponentChanged { id: id.to_owned() });
        }
        Ok(bytes)
    }

    /// Whether the component `id` is stored.
    pub(crate) fn has_component(&self, id: &str) -> bool {
        check_id(id).is_ok() && self.component_path(id).is_file()
    }

    /// Stores `bytes` as a component; returns its id.
    pub(crate) async fn store_component(&self, bytes: &[u8]) -> Result<String, ServerError> {
        let mut upload = self.upload().await?;
        upload.write(bytes).await?;
        let id = upload.digest();
        upload.commit(&id).await?;
        Ok(id)
    }

    /// Starts an upload of a component.
    pub(crate) async fn upload(&self) -> Result<Upload, ServerError> {
        let temp = Temp::new(atomic::temp_path_for(&self.components_dir().join("upload")));
        let path = temp.path().to_owned();
        let file = tokio::task::spawn_blocking(move || atomic::create_private(&path))
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))
            .and_then(|opened| opened)
            .map_err(ServerError::io("create", temp.path()))?;
        Ok(Upload {
            file: tokio::fs::File::from_std(file),
            temp,
            hasher: Sha256::new(),
            len: 0,
            state: self.clone(),
        })
    }
}

/// A component being uploaded: written to a temporary file and hashed as it comes.
pub(crate) struct Upload {
    file: tokio::fs::File,
    temp: Temp,
    hasher: Sha256,
    len: u64,
    state: StateDir,
}

impl Upload {
    /// Appends `bytes`.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), ServerError> {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        self.file
            .write_all(bytes)
            .await
            .map_err(ServerError::io("write", self.temp.path()))
    }

    /// The bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The SHA-256 of what was written, in hex.
    pub(crate) fn digest(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }

    /// Syncs the file and renames it to the component `id` (its digest, checked by the
    /// caller). A component already stored is kept as it is.
    pub(crate) async fn commit(mut self, id: &str) -> Result<(), ServerError> {
        let target = self.state.component_path(id);
        self.file
            .flush()
            .await
            .map_err(ServerError::io("write", self.temp.path()))?;
        self.file
            .sync_all()
            .await
            .map_err(ServerError::io("sync", self.temp.path()))?;
        drop(self.file);
        let temp = self.temp;
        let committed = target.clone();
        tokio::task::spawn_blocking(move || temp.commit(&committed))
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))
            .and_then(|done| done)
            .map_err(ServerError::io("write", target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    #[test]
    fn ids_are_exactly_sha256_hex() {
        assert!(check_id(&"0".repeat(64)).is_ok());
        assert!(check_id(&sha256(b"x")).is_ok());
        for bad in [
            "".to_owned(),
            "0".repeat(63),
            "0".repeat(65),
            "A".repeat(64),
            format!("{}/", "0".repeat(63)),
            format!("..{}", "0".repeat(62)),
            format!("{}\0", "0".repeat(63)),
        ] {
            assert!(check_id(&bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_stored_component_is_named_by_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        let id = state.store_component(b"\0asm").await.unwrap();
        assert_eq!(id, sha256(b"\0asm"));
        assert_eq!(std::fs::read(state.component_path(&id)).unwrap(), b"\0asm");
        // Nothing else is left in the directory.
        assert_eq!(
            std::fs::read_dir(state.components_dir()).unwrap().count(),
            1
        );
        let abandoned = state.upload().await.unwrap();
        drop(abandoned);
        assert_eq!(
            std::fs::read_dir(state.components_dir()).unwrap().count(),
            1
        );
    }
}
