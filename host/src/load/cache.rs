//! Compiled components on disk, so that loading an app a second time does not recompile it.
//!
//! Loading an entry runs the native code in it (`Component::deserialize` trusts its input), so
//! an entry is loaded only when all of this holds, checked before wasmtime sees a byte of it:
//!
//! - **It is this component's, for this engine, intact.** The entry starts with a header: a
//!   format version, the SHA-256 of the component it was compiled from, a SHA-256 of the
//!   engine's compilation settings (wasmtime's `precompile_compatibility_hash`) and the SHA-256
//!   of the code after it. All three must match the component being loaded, the engine loading
//!   it and the code read. The file name (the component's digest and the settings') only finds
//!   the entry: without the header, the entry of another component copied over this one's name
//!   would run the other component's code, and a truncated or corrupted one would reach
//!   `deserialize`. An entry of another format (an older fnhost's) is compiled again and
//!   replaced, never loaded. wasmtime itself checks, on top, that the code was made by a
//!   compatible engine.
//! - **Only this user can have written it.** The directory is created with mode 0700 and
//!   entries with 0600: a temporary file created so, then renamed into place, so concurrent
//!   loaders never see half an entry. A directory owned by another user or writable by group or
//!   others is not used at all (the load compiles in memory); such an entry is not read, and is
//!   compiled again and replaced. Either warns once per process. Without it, whoever can write
//!   the directory chooses the native code the host runs.
//! - **It is a regular file.** An entry is opened without following a symbolic link and without
//!   waiting for a FIFO's writer, checked to be a regular file on the opened descriptor, and
//!   read up to [`MAX_ENTRY_BYTES`]: without it a planted link to `/dev/zero` reads until memory
//!   runs out and a FIFO blocks the load forever. Such an entry is compiled again and replaced
//!   (the rename replaces the link itself, not its target).
//!
//! What stays trusted: the user's own processes (they can write an entry, header included, as
//! they can write the host's binary) and the directories above the cache directory.
//!
//! [`open_regular`] and [`read_capped`] are how the load module reads any file that may be a
//! special one: the cache's entries here, the app's components in `component.rs`.
//!
//! Within a process, loading the same code again gives the same [`Component`] (see
//! [`Loaded`]): every load still reads and checks its entry, but a reloaded app's containers
//! then reuse warm pool slots as they are, memory image included.

use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::fs::{File, Metadata, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept: a directory ([`CompileCache::in_dir`]), by default the
/// user's cache directory (`~/.cache/fnhost` on Linux), or nowhere ([`CompileCache::disabled`]).
///
/// The directory must belong to the user running the host and not be writable by group or
/// others; otherwise it is not used (every load compiles, and a warning says why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

const DIGEST_LEN: usize = 32;

/// The largest entry read: compiled code is a few times its component's size, and a
/// component is at most 256 MiB (`component.rs`).
const MAX_ENTRY_BYTES: u64 = 1 << 30;

impl CompileCache {
    /// The cache in `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        CompileCache {
            dir: Some(dir.into()),
        }
    }

    /// No cache: every load compiles.
    pub fn disabled() -> Self {
        CompileCache { dir: None }
    }

    /// The user's cache directory's `fnhost` folder (`~/.cache/fnhost` on Linux); disabled
    /// where the user has no cache directory.
    pub fn user_default() -> Self {
        dirs::cache_dir().map_or_else(Self::disabled, |dir| Self::in_dir(dir.join("fnhost")))
    }

    /// The directory, if the cache is on.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The directory, if the cache is on and the directory is safe to use (created, 0700,
    /// when missing).
    pub(crate) fn usable_dir(&self) -> Option<&Path> {
        self.dir.as_deref().filter(|dir| usable(dir))
    }

    /// The component for `bytes`: from the cache when a sound entry is there, else compiled
    /// (and stored, when the cache is on and its directory is safe to use).
    pub(crate) fn component(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(dir) = self.usable_dir() else {
            return Component::new(engine, bytes);
        };
        let expected = Expected::new(engine, bytes);
        let entry = dir.join(expected.file_name());
        if let Some(component) = load(engine, &entry, &expected) {
            return Ok(component);
        }
        let component = Component::new(engine, bytes)?;
        let code = component.serialize()?;
        let header = Header {
            component: expected.component,
            engine: expected.engine,
            code: Sha256::digest(&code).into(),
        };
        if let Err(error) = store(dir, &entry, &header, &code) {
            tracing::warn!(
                "cannot write the compile cache entry {}: {error}",
                entry.display()
            );
        }
        Loaded::get().remember(header.code, &component);
        Ok(component)
    }
}

/// The components this process loaded through the cache, by the digest of their compiled
/// code, the most recent last.
///
/// The pooling allocator keeps, in a freed slot, the memory image of the module it held, and
/// gives the slot to the next instance of that same module without mapping the image again
/// (~5 µs of a container start). "The same module" means the same loaded [`Component`]: an
/// app loaded again would get a new one, and cold slots, without this.
///
/// Bounded by [`LOADED_KEPT`]: past it the oldest is forgotten (apps still running keep theirs).
struct Loaded {
    components: Mutex<VecDeque<(Digest32, Component)>>,
}

type Digest32 = [u8; DIGEST_LEN];

/// How many loaded components the process remembers.
const LOADED_KEPT: usize = 32;

impl Loaded {
    fn get() -> &'static Loaded {
        static LOADED: OnceLock<Loaded> = OnceLock::new();
        LOADED.get_or_init(|| Loaded {
            components: Mutex::new(VecDeque::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Digest32, Component)>> {
        // Every update leaves the list consistent.
        self.components
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The component loaded earlier from code with `digest`, for `engine`.
    fn find(&self, engine: &Engine, digest: &Digest32) -> Option<Component> {
        self.lock()
            .iter()
            .find(|(known, component)| known == digest && Engine::same(component.engine(), engine))
            .map(|(_, component)| component.clone())
    }

    fn remember(&self, digest: Digest32, component: &Component) {
        let mut components = self.lock();
        if components.len() == LOADED_KEPT {
            components.pop_front();
        }
        components.push_back((digest, component.clone()));
    }
}

/// What an entry for the component being loaded must say it holds.
struct Expected {
    /// The SHA-256 of the component's bytes.
    component: Digest32,
    /// The SHA-256 of the engine's compilation settings.
    engine: Digest32,
}

impl Expected {
    fn new(engine: &Engine, bytes: &[u8]) -> Self {
        let mut settings = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut settings);
        Expected {
            component: Sha256::digest(bytes).into(),
            engine: settings.0.finalize().into(),
        }
    }

    /// The entry's name: what the component is, and what the engine makes of it.
    fn file_name(&self) -> String {
        format!("{}-{}.cwasm", hex(&self.component), hex(&self.engine[..8]))
    }
}

/// Feeds what a [`Hash`] writes into a SHA-256, so the engine's settings get a digest that is
/// the same in every process and Rust version.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0xf])
        .map(|digit| char::from(DIGITS[usize::from(digit)]))
        .collect()
}

/// The start of every entry.
const MAGIC: &[u8; 12] = b"fnhost-cwasm";

/// The entry layout this code writes and loads. Version 1 (no magic: the code's digest, then
/// the code) bound the code to nothing and is never loaded.
const FORMAT: u32 = 2;

/// Magic, format, then the three digests.
const HEADER_LEN: usize = MAGIC.len() + 4 + 3 * DIGEST_LEN;

/// What an entry says it holds, checked against [`Expected`] and the code before loading.
struct Header {
    component: Digest32,
    engine: Digest32,
    code: Digest32,
}

impl Header {
    fn encode(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&FORMAT.to_le_bytes());
        header.extend_from_slice(&self.component);
        header.extend_from_slice(&self.engine);
        header.extend_from_slice(&self.code);
        header
    }

    /// The code of `contents` when its header matches `expected` and the code itself; else
    /// why not, as the end of a sentence.
    fn check<'a>(contents: &'a [u8], expected: &Expected) -> Result<(Digest32, &'a [u8]), String> {
        let Some(rest) = contents.strip_prefix(MAGIC) else {
            return Err("has another format (an older fnhost's)".into());
        };
        let (format, rest) = split::<4>(rest).ok_or("is truncated")?;
        if u32::from_le_bytes(format) != FORMAT {
            return Err(format!(
                "has format version {}, not {FORMAT}",
                u32::from_le_bytes(format)
            ));
        }
        let (component, rest) = split::<DIGEST_LEN>(rest).ok_or("is truncated")?;
        let (engine, rest) = split::<DIGEST_LEN>(rest).ok_or("is truncated")?;
        let (code_digest, code) = split::<DIGEST_LEN>(rest).ok_or("is truncated")?;
        if component != expected.component {
            return Err("was compiled from another component".into());
        }
        if engine != expected.engine {
            return Err("was compiled with other engine settings".into());
        }
        if code.is_empty() {
            return Err("is truncated".into());
        }
        if Sha256::digest(code).as_slice() != code_digest {
            return Err("is corrupt".into());
        }
        Ok((code_digest, code))
    }
}

/// The first `N` bytes of `bytes` and the rest, if it has that many.
fn split<const N: usize>(bytes: &[u8]) -> Option<([u8; N], &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<N>()?;
    Some((*head, rest))
}

/// Whether the cache directory `dir` may be used: it exists (it is created, 0700, if not), is
/// a directory, belongs to this user and is not writable by group or others.
fn usable(dir: &Path) -> bool {
    let metadata = match std::fs::metadata(dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .and_then(|()| std::fs::metadata(dir)),
        found => found,
    };
    let problem = match metadata {
        Err(error) => format!("cannot use it: {error}"),
        Ok(metadata) if !metadata.is_dir() => "it is not a directory".to_owned(),
        Ok(metadata) => match unsafe_owner_or_mode(&metadata) {
            None => return true,
            Some(problem) => problem,
        },
    };
    refuse(format_args!(
        "the compile cache directory {} is not used: {problem}; compiling in memory",
        dir.display()
    ));
    false
}

/// Why a file with `metadata` cannot be trusted to hold only what this user wrote, if it
/// cannot.
fn unsafe_owner_or_mode(metadata: &Metadata) -> Option<String> {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let user = unsafe { libc::geteuid() };
    if metadata.uid() != user {
        return Some(format!(
            "it belongs to user {}, and this process runs as user {user}",
            metadata.uid()
        ));
    }
    let mode = metadata.mode() & 0o7777;
    (mode & 0o022 != 0).then(|| format!("it is writable by group or others (mode {mode:o})"))
}

/// Warns of a refused directory or entry, once per process (a host that loads many apps would
/// repeat it on every load); later ones are debug events.
fn refuse(message: std::fmt::Arguments<'_>) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if WARNED.swap(true, Ordering::Relaxed) {
        tracing::debug!("{message}");
    } else {
        tracing::warn!("{message} (further such warnings of this process are debug events)");
    }
}

/// Loads a sound entry; `None` when there is none or it does not check out (then it is
/// compiled again and replaced).
fn load(engine: &Engine, entry: &Path, expected: &Expected) -> Option<Component> {
    let bad = |why: &dyn std::fmt::Display| {
        tracing::warn!("compile cache entry {} {why}; recompiling", entry.display());
        None
    };
    let (file, metadata) = match open_regular(entry, Links::Refuse) {
        Ok(opened) => opened,
        Err(FileError::Io(error)) if error.kind() == io::ErrorKind::NotFound => return None,
        Err(FileError::Io(error)) => return bad(&format_args!("cannot be read ({error})")),
        Err(error) => return bad(&format_args!("is not loaded: {error}")),
    };
    if let Some(problem) = unsafe_owner_or_mode(&metadata) {
        refuse(format_args!(
            "compile cache entry {} is not loaded: {problem}; recompiling",
            entry.display()
        ));
        return None;
    }
    let contents = match read_capped(file, &metadata, MAX_ENTRY_BYTES, "a compile cache entry") {
        Ok(contents) => contents,
        Err(error) => return bad(&format_args!("is not loaded: {error}")),
    };
    let (digest, code) = match Header::check(&contents, expected) {
        Ok(checked) => checked,
        Err(why) => return bad(&why),
    };
    let loaded = Loaded::get();
    if let Some(component) = loaded.find(engine, &digest) {
        return Some(component);
    }
    // SAFETY: the header binds `code` to this component and this engine's settings, and its
    // digest says it is intact; the file is a regular one of this user, writable by no one
    // else, in a directory only this user can write: it is what `Component::serialize` wrote
    // for this component on this engine. wasmtime checks engine compatibility again.
    match unsafe { Component::deserialize(engine, code) } {
        Ok(component) => {
            loaded.remember(digest, &component);
            Some(component)
        }
        Err(error) => bad(&format_args!("is stale ({error})")),
    }
}

/// Writes the entry for `code`: a new 0600 file beside it, renamed over it (which replaces a
/// symbolic link or special file there, never its target).
fn store(dir: &Path, entry: &Path, header: &Header, code: &[u8]) -> io::Result<()> {
    // Unique per process and write, so concurrent writers of one entry never share a file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let temporary = dir.join(format!(
        ".{}.{}-{}.tmp",
        entry
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("entry"),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(&header.encode())?;
            file.write_all(code)
        })
        .and_then(|()| std::fs::rename(&temporary, entry));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Whether [`open_regular`] follows a symbolic link at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// Open what the link points to (a component the user links to).
    Follow,
    /// A link is not a regular file (a cache entry: someone may have planted it).
    Refuse,
}

/// Why [`open_regular`] or [`read_capped`] gave no contents.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    /// What the OS said.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A directory, device, FIFO, socket or (with [`Links::Refuse`]) symbolic link.
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    /// More bytes than the reader takes.
    #[error("{what} larger than {} MiB is refused", .limit >> 20)]
    TooLarge {
        /// What the file was to be, with its article ("a component").
        what: &'static str,
        /// The limit, in bytes.
        limit: u64,
    },
}

impl From<FileError> for io::Error {
    fn from(error: FileError) -> Self {
        match error {
            FileError::Io(error) => error,
            FileError::NotRegular(_) => io::Error::new(io::ErrorKind::InvalidInput, error),
            FileError::TooLarge { .. } => io::Error::new(io::ErrorKind::FileTooLarge, error),
        }
    }
}

/// Nothing when `file_type` is a regular file's; else what it is instead.
fn regular(file_type: std::fs::FileType) -> Result<(), FileError> {
    if file_type.is_file() {
        return Ok(());
    }
    let kind = if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    };
    Err(FileError::NotRegular(kind))
}

/// Opens the regular file at `path` for reading, with its metadata (from the open file, so
/// it describes what will be read).
///
/// Never opens a special file it saw beforehand, never waits for a FIFO's writer (it opens
/// non-blocking), and with [`Links::Refuse`] never follows a symbolic link (`O_NOFOLLOW`).
pub(crate) fn open_regular(path: &Path, links: Links) -> Result<(File, Metadata), FileError> {
    let seen = match links {
        Links::Follow => std::fs::metadata(path)?,
        Links::Refuse => std::fs::symlink_metadata(path)?,
    };
    regular(seen.file_type())?;
    // The path may have changed since: what the descriptor is decides.
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|error| match error.raw_os_error() {
            Some(libc::ELOOP) if links == Links::Refuse => FileError::NotRegular("a symbolic link"),
            _ => FileError::Io(error),
        })?;
    let metadata = file.metadata()?;
    regular(metadata.file_type())?;
    Ok((file, metadata))
}

/// The contents of `file` (opened by [`open_regular`], with its `metadata`), refused when
/// they exceed `limit` bytes: checked from the metadata first, and at most `limit + 1` bytes
/// are read, should the file grow meanwhile. `what` names the file in the error.
pub(crate) fn read_capped(
    file: File,
    metadata: &Metadata,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>, FileError> {
    let too_large = FileError::TooLarge { what, limit };
    if metadata.len() > limit {
        return Err(too_large);
    }
    let mut contents = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut contents)?;
    if contents.len() as u64 > limit {
        return Err(too_large);
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: its header alone.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fnhost-cache-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn only_entry(dir: &Path) -> PathBuf {
        let entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        let [entry] = entries.try_into().expect("one entry");
        entry
    }

    #[test]
    fn entries_carry_the_component_the_engine_and_the_code() {
        let dir = temp_dir("header");
        let engine = Engine::default();
        let cache = CompileCache::in_dir(&dir);
        cache.component(&engine, EMPTY).unwrap();
        let entry = only_entry(&dir);
        let contents = std::fs::read(&entry).unwrap();
        let expected = Expected::new(&engine, EMPTY);
        assert_eq!(
            entry.file_name().unwrap().to_str().unwrap(),
            expected.file_name()
        );
        let (digest, code) = Header::check(&contents, &expected).unwrap();
        assert_eq!(digest, <Digest32>::from(Sha256::digest(code)));

        let other = Expected {
            component: Sha256::digest(b"another").into(),
            engine: expected.engine,
        };
        assert!(Header::check(&contents, &other).is_err());
        let other = Expected {
            component: expected.component,
            engine: Sha256::digest(b"another").into(),
        };
        assert!(Header::check(&contents, &other).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_of_the_old_format_is_replaced_not_loaded() {
        let dir = temp_dir("old-format");
        let engine = Engine::default();
        let cache = CompileCache::in_dir(&dir);
        cache.component(&engine, EMPTY).unwrap();
        let entry = only_entry(&dir);
        let contents = std::fs::read(&entry).unwrap();
        let code = &contents[HEADER_LEN..];
        // Version 1: the code's digest, then the code.
        let mut old = Sha256::digest(code).to_vec();
        old.extend_from_slice(code);
        std::fs::write(&entry, &old).unwrap();
        let expected = Expected::new(&engine, EMPTY);
        assert!(load(&engine, &entry, &expected).is_none());
        cache.component(&engine, EMPTY).unwrap();
        assert!(Header::check(&std::fs::read(&entry).unwrap(), &expected).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_of_other_engine_settings_is_not_loaded() {
        let dir = temp_dir("engine");
        let engine = Engine::default();
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = Engine::new(&config).unwrap();
        let ours = Expected::new(&engine, EMPTY);
        let theirs = Expected::new(&other, EMPTY);
        assert_ne!(ours.engine, theirs.engine);

        let cache = CompileCache::in_dir(&dir);
        cache.component(&other, EMPTY).unwrap();
        std::fs::rename(only_entry(&dir), dir.join(ours.file_name())).unwrap();
        assert!(load(&engine, &dir.join(ours.file_name()), &ours).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn special_files_are_refused_before_reading() {
        let error = open_regular(Path::new("/dev/zero"), Links::Follow).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let error = open_regular(Path::new("/"), Links::Follow).unwrap_err();
        assert!(error.to_string().contains("a directory"), "{error}");

        let dir = temp_dir("links");
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let error = open_regular(&link, Links::Refuse).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");

        let file = dir.join("file");
        std::fs::write(&file, [7; 10]).unwrap();
        let linked = dir.join("linked");
        std::os::unix::fs::symlink(&file, &linked).unwrap();
        let (opened, metadata) = open_regular(&linked, Links::Follow).unwrap();
        let error = read_capped(opened, &metadata, 9, "a test file").unwrap_err();
        assert!(matches!(error, FileError::TooLarge { .. }), "{error}");
        let (opened, metadata) = open_regular(&linked, Links::Follow).unwrap();
        assert_eq!(
            read_capped(opened, &metadata, 10, "a test file").unwrap(),
            [7; 10]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
