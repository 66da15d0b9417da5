//! The host's own file operations inside a volume's directory (`fnhost volume ls/put/get/rm`,
//! the HTTP API), and its size.
//!
//! Invariant: every path is resolved by cap-primitives relative to the volume's directory, so
//! an absolute path, a `..` or a symlink (one a guest made, say, pointing at `/etc`) that
//! would lead outside is refused rather than followed. Without it, the operator's tools would
//! read and write wherever a guest's symlink pointed.

use crate::storage::error::StorageError;
use cap_primitives::fs::{self as cap, DirOptions, FollowSymlinks, OpenOptions};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

/// What a path in a volume names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed by the host).
    Symlink,
}

/// One entry of a volume's directory listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VolumeEntry {
    /// Its path inside the volume, from its root, with `/` between components.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its size in bytes (a file's length; 0 for the others).
    pub size: u64,
    /// When it was last changed, in seconds since the Unix epoch.
    pub mtime: u64,
}

/// A file's size and last change, in nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Stamp {
    pub(crate) size: u64,
    pub(crate) changed_ns: u128,
}

/// A volume's directory, opened for resolving paths beneath it.
pub(crate) struct VolumeDir {
    root: File,
    volume: String,
}

impl VolumeDir {
    /// Opens `dir`, the directory of the volume called `volume` in messages.
    pub(crate) fn open(dir: &Path, volume: &str) -> Result<VolumeDir, StorageError> {
        let root =
            cap::open_ambient_dir(dir, cap_primitives::ambient_authority()).map_err(|error| {
                StorageError::Unavailable(format!(
                    "cannot open volume `{volume}` ({}): {error}",
                    dir.display()
                ))
            })?;
        Ok(VolumeDir {
            root,
            volume: volume.to_owned(),
        })
    }

    /// The entries of the directory `path` (the root when empty or `/`), in name order.
    pub(crate) fn list(&self, path: &str) -> Result<Vec<VolumeEntry>, StorageError> {
        let relative = relative(path)?;
        // The root itself is `.` to cap-primitives.
        let lookup = if relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            relative.as_path()
        };
        let metadata =
            cap::stat(&self.root, lookup, FollowSymlinks::No).map_err(|e| self.error(path, e))?;
        if !metadata.is_dir() {
            return Ok(vec![entry_of(&relative, &metadata)]);
        }
        let entries = cap::read_dir(&self.root, lookup).map_err(|e| self.error(path, e))?;
        let mut listed = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.error(path, e))?;
            let metadata = entry.metadata().map_err(|e| self.error(path, e))?;
            listed.push(entry_of(&relative.join(entry.file_name()), &metadata));
        }
        listed.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(listed)
    }

    /// The bytes of the file `path`, refused past `limit` bytes.
    pub(crate) fn read(&self, path: &str, limit: u64) -> Result<Vec<u8>, StorageError> {
        let relative = relative(path)?;
        let mut options = OpenOptions::new();
        options.read(true);
        let file = cap::open(&self.root, &relative, &options).map_err(|e| self.error(path, e))?;
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.error(path, e))?;
        if bytes.len() as u64 > limit {
            return Err(StorageError::TooLarge(format!(
                "`{path}` in volume `{}` is over {limit} bytes: read it from a function",
                self.volume
            )));
        }
        Ok(bytes)
    }

    /// The size of what `path` holds now: a file's length, 0 when there is nothing there.
    pub(crate) fn existing_size(&self, path: &str) -> Result<u64, StorageError> {
        let relative = relative(path)?;
        match cap::stat(&self.root, &relative, FollowSymlinks::No) {
            Ok(metadata) if metadata.is_file() => Ok(metadata.len()),
            Ok(_) => Ok(0),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(error) => Err(self.error(path, error)),
        }
    }

    /// Writes `bytes` as the file `path`, making its parent directories, and syncs it.
    pub(crate) fn write(&self, path: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let mut file = self.create(path)?;
        file.write_all(bytes).map_err(|e| self.error(path, e))?;
        file.sync_all().map_err(|e| self.error(path, e))
    }

    /// The file `path`, made empty (and its parent directories made), open for writing.
    pub(crate) fn create(&self, path: &str) -> Result<File, StorageError> {
        let relative = relative(path)?;
        if relative.as_os_str().is_empty() {
            return Err(StorageError::Invalid(
                "give a file's path, not the volume's root".into(),
            ));
        }
        let mut parent = PathBuf::new();
        for component in relative.parent().into_iter().flat_map(Path::components) {
            parent.push(component);
            match cap::create_dir(&self.root, &parent, &DirOptions::new()) {
                Err(error) if error.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(self.error(path, error));
                }
                _ => {}
            }
        }
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        cap::open(&self.root, &relative, &options).map_err(|e| self.error(path, e))
    }

    /// The file `path`, open for reading.
    pub(crate) fn open_file(&self, path: &str) -> Result<File, StorageError> {
        let relative = relative(path)?;
        let mut options = OpenOptions::new();
        options.read(true);
        cap::open(&self.root, &relative, &options).map_err(|e| self.error(path, e))
    }

    /// Every regular file below the root (symlinks not followed) with its size and change
    /// time: what tells whether a file changed since it was last seen.
    pub(crate) fn files(&self) -> Result<Vec<(String, Stamp)>, StorageError> {
        let mut found = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(next) = pending.pop() {
            for entry in self.list(&next)? {
                match entry.kind {
                    EntryKind::Dir => pending.push(entry.path),
                    EntryKind::File => {
                        let stamp = self.stamp(&entry.path)?;
                        found.push((entry.path, stamp));
                    }
                    EntryKind::Symlink => {}
                }
            }
        }
        Ok(found)
    }

    /// The size and change time of the file `path`.
    pub(crate) fn stamp(&self, path: &str) -> Result<Stamp, StorageError> {
        let relative = relative(path)?;
        let metadata = cap::stat(&self.root, &relative, FollowSymlinks::No)
            .map_err(|e| self.error(path, e))?;
        let changed = metadata
            .modified()
            .ok()
            .and_then(|modified| modified.into_std().duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_nanos());
        Ok(Stamp {
            size: metadata.len(),
            changed_ns: changed,
        })
    }

    /// Removes the file `path`, or the directory `path` with all it holds when `recursive`.
    pub(crate) fn remove(&self, path: &str, recursive: bool) -> Result<(), StorageError> {
        let relative = relative(path)?;
        if relative.as_os_str().is_empty() {
            return Err(StorageError::Invalid(
                "the volume's root is not removed: delete the volume".into(),
            ));
        }
        let removed = match self.kind_of(&relative, path)? {
            EntryKind::Dir if recursive => cap::remove_dir_all(&self.root, &relative),
            EntryKind::Dir => {
                return Err(StorageError::Invalid(format!(
                    "`{path}` is a directory: remove it recursively"
                )));
            }
            EntryKind::File | EntryKind::Symlink => cap::remove_file(&self.root, &relative),
        };
        removed.map_err(|e| self.error(path, e))
    }

    fn kind_of(&self, relative: &Path, path: &str) -> Result<EntryKind, StorageError> {
        let metadata =
            cap::stat(&self.root, relative, FollowSymlinks::No).map_err(|e| self.error(path, e))?;
        Ok(kind_of_type(metadata.file_type()))
    }

    /// An I/O error on `path` as a store error: a missing path `not-found`, one that leaves the
    /// volume `invalid`, others `unavailable` (a full disk).
    fn error(&self, path: &str, error: io::Error) -> StorageError {
        let volume = &self.volume;
        match error.kind() {
            io::ErrorKind::NotFound => {
                StorageError::NotFound(format!("no `{path}` in volume `{volume}`"))
            }
            io::ErrorKind::PermissionDenied => StorageError::Invalid(format!(
                "`{path}` leads outside volume `{volume}` (or may not be touched): {error}"
            )),
            io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory => {
                StorageError::Invalid(format!("`{path}` in volume `{volume}`: {error}"))
            }
            _ => StorageError::Unavailable(format!("`{path}` in volume `{volume}`: {error}")),
        }
    }
}

/// The bytes of the files under `dir`, symlinks not followed (a link counts nothing). A
/// file's length counts, not its blocks: a sparse file counts at its full size.
pub(crate) fn usage(dir: &Path) -> io::Result<u64> {
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                total = total.saturating_add(entry.metadata()?.len());
            }
        }
    }
    Ok(total)
}

/// `path` as a path relative to the volume's root: leading `/`s dropped, `.` dropped; `..`
/// is left for cap-primitives to refuse when it leaves.
fn relative(path: &str) -> Result<PathBuf, StorageError> {
    if path.contains('\0') {
        return Err(StorageError::Invalid("a path holds a NUL byte".into()));
    }
    Ok(Path::new(path)
        .components()
        .filter(|component| !matches!(component, Component::RootDir | Component::CurDir))
        .collect())
}

/// The entry of `relative`, whose metadata (symlinks not followed) is `metadata`.
fn entry_of(relative: &Path, metadata: &cap::Metadata) -> VolumeEntry {
    let kind = kind_of_type(metadata.file_type());
    let mtime = metadata
        .modified()
        .ok()
        .and_then(|modified| modified.into_std().duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_secs());
    VolumeEntry {
        path: shown_path(relative),
        kind,
        size: if kind == EntryKind::File {
            metadata.len()
        } else {
            0
        },
        mtime,
    }
}

fn kind_of_type(kind: cap::FileType) -> EntryKind {
    if kind.is_dir() {
        EntryKind::Dir
    } else if kind.is_symlink() {
        EntryKind::Symlink
    } else {
        EntryKind::File
    }
}

fn shown_path(relative: &Path) -> String {
    relative.to_string_lossy().into_owned()
}
