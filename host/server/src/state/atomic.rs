//! Writing a file so that readers see its old content or its new one, never a mix.
//!
//! Invariant: the new content goes to a temporary file in the same directory (so the rename
//! cannot cross file systems), which is synced before it is renamed over the file, and the
//! directory is synced after; temporary files are named `.NAME.tmp-PID-N`, which nothing reads
//! and [`remove_leftovers`] removes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What marks a temporary file's name.
const TEMP_MARK: &str = ".tmp-";

/// A fresh temporary path beside `path`.
pub(crate) fn temp_path_for(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}{TEMP_MARK}{}-{unique}", std::process::id()))
}

/// Creates a new file readable by the owner only (on Unix).
pub(crate) fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Replaces the content of `path` with `bytes`, atomically.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = Temp::new(temp_path_for(path));
    let mut file = create_private(temp.path())?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    temp.commit(path)
}

/// Syncs the directory `dir`, so that a rename in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes the temporary files in `dir` (what a crash mid-write left); returns how many.
pub(crate) fn remove_leftovers(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(TEMP_MARK) && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// A temporary file, removed when dropped unless committed.
pub(crate) struct Temp {
    path: PathBuf,
    committed: bool,
}

impl Temp {
    /// Takes charge of the temporary file at `path` (which may not exist yet).
    pub(crate) fn new(path: PathBuf) -> Temp {
        Temp {
            path,
            committed: false,
        }
    }

    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the (synced) file to `target` and syncs the directory.
    pub(crate) fn commit(mut self, target: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.committed = true;
        match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
            _ => sync_dir(Path::new(".")),
        }
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn leftovers_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        write(&path, b"{}").unwrap();
        std::fs::write(temp_path_for(&path), b"half a manif").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"not ours").unwrap();
        assert_eq!(remove_leftovers(dir.path()).unwrap(), 1);
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        assert!(dir.path().join(".hidden").exists());
    }

    #[test]
    fn an_uncommitted_temp_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let temp = Temp::new(dir.path().join(".x.tmp-1-1"));
        std::fs::write(temp.path(), b"partial").unwrap();
        let path = temp.path().to_owned();
        drop(temp);
        assert!(!path.exists());
    }
}
