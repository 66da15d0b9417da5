//! Compiled components on disk, so that loading an app a second time does not recompile it.
//!
//! Loading an entry runs the native code in it (`Component::deserialize_file` trusts its
//! input), so an entry is loaded only when all of this holds, checked before wasmtime sees a
//! byte of it:
//!
//! - **It is this component's, for this engine, intact.** An entry is two files: the code,
//!   `<name>.cwasm`, exactly what `Component::serialize` wrote (so that wasmtime can map it),
//!   and its header, `<name>.header`: a format version, the BLAKE3 digest of the component it
//!   was compiled from, a digest of the engine's compilation settings (wasmtime's
//!   `precompile_compatibility_hash`), and the code's length and BLAKE3 digest. The header
//!   must match the component being loaded and the engine loading it, and the code file its
//!   length and digest. The name (the component's digest and the settings') only finds the
//!   entry: without the header, the entry of another component copied over this one's name
//!   would run the other component's code, and a truncated or corrupted one would reach
//!   wasmtime. An entry of another format (an older fnhost's, which kept the header inside the
//!   code file and digested with SHA-256) is compiled again and replaced, never loaded.
//!   wasmtime itself checks, on top, that the code was made by a compatible engine.
//! - **A pair is never mixed.** The code is written first, then the header, each to a
//!   temporary file renamed into place: a reader sees a whole file or none, and the header it
//!   sees names, by digest, the only code it can be loaded with. A header left without its code
//!   (or with another compile's, from a writer that stopped between its two renames or raced
//!   another) does not match, and the entry is compiled again and replaced.
//! - **What was checked is what is loaded.** The code is digested from a mapping of the file
//!   opened for the check, and wasmtime maps that same file: it is handed `/proc/self/fd/N` of
//!   the descriptor still held, which the kernel resolves to the open file, never to whatever
//!   the entry's name points to by then (when `/proc` is missing, the checked mapping is
//!   copied instead). wasmtime reads the file lazily, as long as the component lives, and a
//!   mapping shows later writes to the file: the one gap left is a process of this user
//!   writing into the entry in place after the check (fnhost itself never does; it replaces
//!   entries by renaming new files over them, which leaves a loaded file as it was). Such a
//!   process is trusted anyway (below).
//! - **Only this user can have written it.** The directory is created with mode 0700 and
//!   entry files with 0600. A directory owned by another user or writable by group or others
//!   is not used at all (the load compiles in memory); such an entry file is not read, and the
//!   entry is compiled again and replaced. Either warns once per process. Without it, whoever
//!   can write the directory chooses the native code the host runs.
//! - **Its files are regular ones.** An entry file is opened without following a symbolic link
//!   and without waiting for a FIFO's writer, checked to be a regular file on the opened
//!   descriptor, and read (the header, up to its length) or mapped (the code, up to
//!   [`MAX_ENTRY_BYTES`]) only then: without it a planted link to `/dev/zero` reads until
//!   memory runs out and a FIFO blocks the load forever. Such an entry is compiled again and
//!   replaced (the rename replaces the link itself, not its target).
//!
//! What stays trusted: the user's own processes (they can write an entry, header included, as
//! they can write the host's binary) and the directories above the cache directory.
//!
//! A warm load costs one pass over the component (digested as it is read, not kept: only a
//! miss needs its bytes, to compile them) and one over the code, which is mapped, not copied.
//!
//! Within a process, loading the same code again gives the same [`Component`] (see
//! [`Loaded`]): every load still reads and checks its entry, but a reloaded app's containers
//! then reuse warm pool slots as they are, memory image included.

use crate::load::file::{FileError, Links, Mapping, open_regular, read_capped};
use std::collections::VecDeque;
use std::fs::{File, Metadata, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
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

/// A BLAKE3 digest: of a component's bytes, of compiled code, of an engine's settings.
pub(crate) type Digest = [u8; DIGEST_LEN];

/// The largest code file mapped: compiled code is a few times its component's size, and a
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

    /// The component compiled from the bytes whose digest ([`ComponentDigest`]) is
    /// `component`, when a sound entry has it; `None` when there is none, or the cache is off
    /// or its directory not safe to use.
    pub(crate) fn load(&self, engine: &Engine, component: &Digest) -> Option<Component> {
        let dir = self.usable_dir()?;
        let expected = Expected::new(engine, *component);
        load(engine, &Entry::in_dir(dir, &expected), &expected)
    }

    /// Compiles the component `bytes`, and stores it when the cache is on and its directory is
    /// safe to use (replacing the entry there, which [`CompileCache::load`] found unsound).
    pub(crate) fn compile(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        self.compile_as(engine, digest(bytes), bytes)
    }

    /// Compiles the component `bytes` and stores it under `key` rather than under their digest:
    /// for a component made from others (a snapshot), `key` digests what it was made from, so
    /// that [`CompileCache::load`] finds it without making it again.
    pub(crate) fn compile_as(
        &self,
        engine: &Engine,
        key: Digest,
        bytes: &[u8],
    ) -> wasmtime::Result<Component> {
        let component = Component::new(engine, bytes)?;
        let Some(dir) = self.usable_dir() else {
            return Ok(component);
        };
        let expected = Expected::new(engine, key);
        let entry = Entry::in_dir(dir, &expected);
        let code = component.serialize()?;
        let header = Header {
            component: expected.component,
            engine: expected.engine,
            code: digest(&code),
            len: code.len() as u64,
        };
        if let Err(error) = store(dir, &entry, &header, &code) {
            tracing::warn!(
                "cannot write the compile cache entry {}: {error}",
                entry.code.display()
            );
        }
        Loaded::get().remember(header.code, &component);
        Ok(component)
    }
}

/// The digest of a component's bytes, as the cache names and binds its entry, computed a piece
/// at a time as the bytes are read.
#[derive(Default)]
pub(crate) struct ComponentDigest(blake3::Hasher);

impl ComponentDigest {
    /// Adds the next bytes of the component.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of all the bytes added.
    pub(crate) fn finish(&self) -> Digest {
        *self.0.finalize().as_bytes()
    }
}

/// The BLAKE3 digest of `bytes`.
pub(crate) fn digest(bytes: &[u8]) -> Digest {
    *blake3::hash(bytes).as_bytes()
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
/// A component holds its engine, and an engine its pooling allocator's reservation of address
/// space (terabytes at the default `max_instances`): a host that ends forgets its engine's
/// components ([`forget_engine`]), or a process that makes hosts one after another would run
/// out of address space after a few of them.
struct Loaded {
    components: Mutex<VecDeque<(Digest, Component)>>,
}

/// How many loaded components the process remembers.
const LOADED_KEPT: usize = 32;

impl Loaded {
    fn get() -> &'static Loaded {
        static LOADED: OnceLock<Loaded> = OnceLock::new();
        LOADED.get_or_init(|| Loaded {
            components: Mutex::new(VecDeque::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Digest, Component)>> {
        // Every update leaves the list consistent.
        self.components
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The component loaded earlier from code with `digest`, for `engine`.
    fn find(&self, engine: &Engine, digest: &Digest) -> Option<Component> {
        self.lock()
            .iter()
            .find(|(known, component)| known == digest && Engine::same(component.engine(), engine))
            .map(|(_, component)| component.clone())
    }

    fn forget(&self, engine: &Engine) {
        self.lock()
            .retain(|(_, component)| !Engine::same(component.engine(), engine));
    }

    fn remember(&self, digest: Digest, component: &Component) {
        let mut components = self.lock();
        if components.len() == LOADED_KEPT {
            components.pop_front();
        }
        components.push_back((digest, component.clone()));
    }
}

/// Forgets the components loaded for `engine`, whose host has ended: the engine then ends with
/// the last container using it.
pub(crate) fn forget_engine(engine: &Engine) {
    Loaded::get().forget(engine);
}

/// What an entry for the component being loaded must say it holds.
struct Expected {
    /// The digest of the component's bytes.
    component: Digest,
    /// The digest of the engine's compilation settings.
    engine: Digest,
}

impl Expected {
    fn new(engine: &Engine, component: Digest) -> Self {
        let mut settings = DigestHasher(blake3::Hasher::new());
        engine.precompile_compatibility_hash().hash(&mut settings);
        Expected {
            component,
            engine: *settings.0.finalize().as_bytes(),
        }
    }

    /// The entry's name, without an extension: what the component is, and what the engine
    /// makes of it.
    fn name(&self) -> String {
        format!("{}-{}", hex(&self.component), hex(&self.engine[..8]))
    }
}

/// Feeds what a [`Hash`] writes into a BLAKE3 hasher, so the engine's settings get a digest
/// that is the same in every process and Rust version.
struct DigestHasher(blake3::Hasher);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.finalize();
        let mut first = [0; 8];
        first.copy_from_slice(&digest.as_bytes()[..8]);
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

/// The two files of an entry.
struct Entry {
    /// The compiled code, as `Component::serialize` wrote it.
    code: PathBuf,
    /// Its [`Header`].
    header: PathBuf,
}

impl Entry {
    fn in_dir(dir: &Path, expected: &Expected) -> Self {
        let name = expected.name();
        Entry {
            code: dir.join(format!("{name}.cwasm")),
            header: dir.join(format!("{name}.header")),
        }
    }
}

/// The start of every header.
const MAGIC: &[u8; 12] = b"fnhost-cwasm";

/// The entry layout this code writes and loads. Version 1 (no magic: the code's digest, then
/// the code) bound the code to nothing; version 2 (this header with SHA-256 digests, without
/// the code's length, in front of the code in one file) could not be mapped by wasmtime.
/// Neither is loaded.
const FORMAT: u32 = 3;

/// Magic, format, the three digests, then the code's length.
const HEADER_LEN: usize = MAGIC.len() + 4 + 3 * DIGEST_LEN + 8;

/// What an entry says it holds, checked against [`Expected`] and the code before loading.
#[derive(Debug)]
struct Header {
    component: Digest,
    engine: Digest,
    code: Digest,
    /// The code's length, in bytes.
    len: u64,
}

impl Header {
    fn encode(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&FORMAT.to_le_bytes());
        header.extend_from_slice(&self.component);
        header.extend_from_slice(&self.engine);
        header.extend_from_slice(&self.code);
        header.extend_from_slice(&self.len.to_le_bytes());
        header
    }

    /// The header in `contents` when it matches `expected`; else why not, as the end of a
    /// sentence.
    fn check(contents: &[u8], expected: &Expected) -> Result<Header, String> {
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
        let (code, rest) = split::<DIGEST_LEN>(rest).ok_or("is truncated")?;
        let (len, rest) = split::<8>(rest).ok_or("is truncated")?;
        if !rest.is_empty() {
            return Err("is longer than a header".into());
        }
        if component != expected.component {
            return Err("was compiled from another component".into());
        }
        if engine != expected.engine {
            return Err("was compiled with other engine settings".into());
        }
        Ok(Header {
            component,
            engine,
            code,
            len: u64::from_le_bytes(len),
        })
    }

    /// Nothing when `code` is the code this header describes; else why not.
    fn check_code(&self, code: &[u8]) -> Result<(), String> {
        if digest(code) != self.code {
            return Err("is corrupt, or the code of another compile than its header's".into());
        }
        Ok(())
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
        Ok(metadata) => match untrusted(&metadata) {
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

/// Why a file or directory with `metadata` cannot be trusted to hold only what this user
/// wrote, if it cannot: it belongs to another user, or group or others may write it. The
/// compile cache holds its entries to it, and a server its state directory.
pub fn untrusted(metadata: &Metadata) -> Option<String> {
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

/// Why an entry file is not used.
enum Unused {
    /// It is not there.
    Missing,
    /// Someone else than this user could have written it: why, as the end of a sentence
    /// (warned of once per process).
    Foreign(String),
    /// It cannot be read, is not a regular file, or does not check out: why, as the end of a
    /// sentence.
    Bad(String),
}

/// An entry whose header matches the component and the engine, and whose code matches its
/// header.
struct Checked {
    /// The code file, open.
    file: File,
    /// Its metadata, from the open file.
    metadata: Metadata,
    /// The code, as digested.
    mapping: Mapping,
    /// The code's digest.
    digest: Digest,
}

/// Loads a sound entry; `None` when there is none or it does not check out (then it is
/// compiled again and replaced).
fn load(engine: &Engine, entry: &Entry, expected: &Expected) -> Option<Component> {
    let checked = match check(entry, expected) {
        Ok(checked) => checked,
        Err((_, Unused::Missing)) => return None,
        Err((path, Unused::Foreign(problem))) => {
            refuse(format_args!(
                "compile cache file {} is not loaded: {problem}; recompiling",
                path.display()
            ));
            return None;
        }
        Err((path, Unused::Bad(why))) => {
            tracing::warn!("compile cache file {} {why}; recompiling", path.display());
            return None;
        }
    };
    let loaded = Loaded::get();
    if let Some(component) = loaded.find(engine, &checked.digest) {
        return Some(component);
    }
    let digest = checked.digest;
    match deserialize(engine, checked) {
        Ok(component) => {
            loaded.remember(digest, &component);
            Some(component)
        }
        Err(error) => {
            tracing::warn!(
                "compile cache entry {} is stale ({error:#}); recompiling",
                entry.code.display()
            );
            None
        }
    }
}

/// The entry's code, opened and mapped, when it is sound; else which file is not, and why.
fn check<'a>(entry: &'a Entry, expected: &Expected) -> Result<Checked, (&'a Path, Unused)> {
    let header_path = entry.header.as_path();
    let code_path = entry.code.as_path();
    let bad_header = |why: String| (header_path, Unused::Bad(why));
    let bad_code = |why: String| (code_path, Unused::Bad(why));

    let (file, metadata) = open_entry_file(header_path).map_err(|unused| match unused {
        Unused::Missing if code_path.symlink_metadata().is_ok() => {
            bad_code("has no header beside it".into())
        }
        unused => (header_path, unused),
    })?;
    if metadata.len() != HEADER_LEN as u64 {
        return Err(bad_header(format!(
            "is {} bytes long, not a header's {HEADER_LEN}",
            metadata.len()
        )));
    }
    let contents = read_capped(
        &file,
        &metadata,
        HEADER_LEN as u64,
        "a compile cache header",
    )
    .map_err(|error| bad_header(format!("cannot be read ({error})")))?;
    let header = Header::check(&contents, expected).map_err(bad_header)?;
    if header.len == 0 || header.len > MAX_ENTRY_BYTES {
        return Err(bad_header(format!(
            "says its code is {} bytes long (at most {} MiB are loaded)",
            header.len,
            MAX_ENTRY_BYTES >> 20
        )));
    }

    let (file, metadata) = open_entry_file(code_path).map_err(|unused| match unused {
        Unused::Missing => bad_code("is missing, and its header is there".into()),
        unused => (code_path, unused),
    })?;
    if metadata.len() != header.len {
        return Err(bad_code(format!(
            "is {} bytes long, and its header says {}: truncated, or another compile's",
            metadata.len(),
            header.len
        )));
    }
    let len = usize::try_from(header.len).map_err(|_| bad_code("is too large to map".into()))?;
    let mapping =
        Mapping::of(&file, len).map_err(|error| bad_code(format!("cannot be mapped ({error})")))?;
    header.check_code(mapping.bytes()).map_err(bad_code)?;
    Ok(Checked {
        file,
        metadata,
        mapping,
        digest: header.code,
    })
}

/// Opens the entry file at `path` when it is a regular file that only this user can have
/// written.
fn open_entry_file(path: &Path) -> Result<(File, Metadata), Unused> {
    let (file, metadata) = match open_regular(path, Links::Refuse) {
        Ok(opened) => opened,
        Err(FileError::Io(error)) if error.kind() == io::ErrorKind::NotFound => {
            return Err(Unused::Missing);
        }
        Err(FileError::Io(error)) => return Err(Unused::Bad(format!("cannot be read ({error})"))),
        Err(error) => return Err(Unused::Bad(format!("is not loaded: {error}"))),
    };
    match untrusted(&metadata) {
        Some(problem) => Err(Unused::Foreign(problem)),
        None => Ok((file, metadata)),
    }
}

/// The component in checked code: wasmtime maps the very file that was checked, through the
/// descriptor still open (`/proc/self/fd/N`); where that path does not lead to it (no
/// `/proc`), wasmtime copies the checked mapping instead.
fn deserialize(engine: &Engine, checked: Checked) -> wasmtime::Result<Component> {
    let Checked {
        file,
        metadata,
        mapping,
        ..
    } = checked;
    let same_file = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let reopens_it = std::fs::metadata(&same_file)
        .is_ok_and(|seen| seen.dev() == metadata.dev() && seen.ino() == metadata.ino());
    if !reopens_it {
        // SAFETY: the header binds this code to this component and this engine's settings,
        // and the code's digest, taken from this mapping, says it is intact; the file is a
        // regular one of this user, writable by no one else, in a directory only this user
        // can write: it is what `Component::serialize` wrote for this component on this
        // engine. wasmtime checks engine compatibility again.
        return unsafe { Component::deserialize(engine, mapping.bytes()) };
    }
    // wasmtime maps the file itself: this copy of the pages is not needed any more.
    drop(mapping);
    // SAFETY: as above, and `same_file` opens the file whose mapping was digested (the
    // descriptor `file` stays open until wasmtime has opened it, so its number is not reused).
    // wasmtime keeps the file mapped as long as the component lives; it stays as checked,
    // since fnhost replaces an entry by renaming another file over it and never writes into
    // one (the module doc says what is trusted not to).
    unsafe { Component::deserialize_file(engine, &same_file) }
}

/// Writes the entry for `code`: the code, then its header, each a new 0600 file beside its
/// place renamed over it (which replaces a symbolic link or special file there, never its
/// target). A reader between the two renames finds the previous header, which matches the new
/// code only if it is the same code.
fn store(dir: &Path, entry: &Entry, header: &Header, code: &[u8]) -> io::Result<()> {
    replace(dir, &entry.code, code)?;
    replace(dir, &entry.header, &header.encode())
}

/// Puts a new 0600 file holding `contents` at `path`, in `dir`, by a rename: concurrent
/// readers see the old file or the new one, whole.
fn replace(dir: &Path, path: &Path, contents: &[u8]) -> io::Result<()> {
    // Unique per process and write, so concurrent writers of one entry never share a file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let temporary = dir.join(format!(
        ".{}.{}-{}.tmp",
        path.file_name()
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
        .and_then(|mut file| file.write_all(contents))
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: its header alone.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    /// Another small component: one that holds an empty core module.
    const OTHER: &[u8] = b"\0asm\x0d\0\x01\0\x01\x08\0asm\x01\0\0\0";

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fnhost-cache-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// The files in `dir`, sorted.
    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }

    /// `bytes` compiled through a cache in `dir`: the entry it wrote and what it must hold.
    fn compiled(dir: &Path, engine: &Engine, bytes: &[u8]) -> (Entry, Expected) {
        CompileCache::in_dir(dir).compile(engine, bytes).unwrap();
        let expected = Expected::new(engine, digest(bytes));
        (Entry::in_dir(dir, &expected), expected)
    }

    /// Why `entry` is not loaded, or `None` when it is sound.
    fn unsound(entry: &Entry, expected: &Expected) -> Option<String> {
        match check(entry, expected) {
            Ok(_) => None,
            Err((path, Unused::Missing)) => Some(format!("{} is missing", path.display())),
            Err((path, Unused::Bad(why) | Unused::Foreign(why))) => {
                Some(format!("{} {why}", path.display()))
            }
        }
    }

    #[test]
    fn entries_carry_the_component_the_engine_and_the_code() {
        let dir = temp_dir("header");
        let engine = Engine::default();
        let (entry, expected) = compiled(&dir, &engine, EMPTY);
        assert_eq!(files(&dir), [entry.code.clone(), entry.header.clone()]);
        let code = std::fs::read(&entry.code).unwrap();
        let header = Header::check(&std::fs::read(&entry.header).unwrap(), &expected).unwrap();
        assert_eq!(header.code, digest(&code));
        assert_eq!(header.len, code.len() as u64);
        assert_eq!(unsound(&entry, &expected), None);

        let streamed = {
            let mut digest = ComponentDigest::default();
            EMPTY.chunks(3).for_each(|piece| digest.update(piece));
            digest.finish()
        };
        assert_eq!(streamed, expected.component, "read in pieces or at once");

        let header = std::fs::read(&entry.header).unwrap();
        let other = Expected::new(&engine, digest(b"another"));
        assert!(Header::check(&header, &other).is_err());
        let other = Expected {
            component: expected.component,
            engine: digest(b"another"),
        };
        assert!(Header::check(&header, &other).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn checked_code_is_loaded_from_the_file_checked() {
        let dir = temp_dir("deserialize");
        let engine = Engine::default();
        let (entry, expected) = compiled(&dir, &engine, EMPTY);
        let Ok(checked) = check(&entry, &expected) else {
            panic!("a sound entry");
        };
        let component = deserialize(&engine, checked).unwrap();
        assert_eq!(component.component_type().exports(&engine).count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_of_an_older_format_is_replaced_not_loaded() {
        let dir = temp_dir("old-format");
        let engine = Engine::default();
        let (entry, expected) = compiled(&dir, &engine, EMPTY);
        let code = std::fs::read(&entry.code).unwrap();
        let header = std::fs::read(&entry.header).unwrap();

        // Version 2: one file, the header (SHA-256 digests, no length), then the code.
        let mut old = header[..HEADER_LEN - 8].to_vec();
        old[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&2u32.to_le_bytes());
        old.extend_from_slice(&code);
        std::fs::write(&entry.code, &old).unwrap();
        std::fs::remove_file(&entry.header).unwrap();
        let why = unsound(&entry, &expected).expect("not loaded");
        assert!(why.contains("has no header"), "{why}");
        assert!(load(&engine, &entry, &expected).is_none());

        // The code as it is, under a header that says another format.
        std::fs::write(&entry.code, &code).unwrap();
        let mut older = header.clone();
        older[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&2u32.to_le_bytes());
        std::fs::write(&entry.header, &older).unwrap();
        let why = unsound(&entry, &expected).expect("not loaded");
        assert!(why.contains("format version 2"), "{why}");
        assert!(load(&engine, &entry, &expected).is_none());

        CompileCache::in_dir(&dir).compile(&engine, EMPTY).unwrap();
        assert_eq!(unsound(&entry, &expected), None, "replaced");
        assert!(load(&engine, &entry, &expected).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_header_without_its_code_is_not_loaded() {
        let dir = temp_dir("pairs");
        let engine = Engine::default();
        let (entry, expected) = compiled(&dir, &engine, EMPTY);
        let (other, _) = compiled(&dir, &engine, OTHER);

        // Another compile's code beside this header.
        std::fs::copy(&other.code, &entry.code).unwrap();
        let why = unsound(&entry, &expected).expect("not loaded");
        assert!(why.starts_with(entry.code.to_str().unwrap()), "{why}");

        // No code beside it.
        std::fs::remove_file(&entry.code).unwrap();
        let why = unsound(&entry, &expected).expect("not loaded");
        assert!(why.contains("is missing, and its header is there"), "{why}");

        // Another component's whole entry under this one's name.
        std::fs::copy(&other.code, &entry.code).unwrap();
        std::fs::copy(&other.header, &entry.header).unwrap();
        let why = unsound(&entry, &expected).expect("not loaded");
        assert!(why.contains("another component"), "{why}");
        assert!(load(&engine, &entry, &expected).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_of_other_engine_settings_is_not_loaded() {
        let dir = temp_dir("engine");
        let engine = Engine::default();
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = Engine::new(&config).unwrap();
        let ours = Expected::new(&engine, digest(EMPTY));
        let theirs = Expected::new(&other, digest(EMPTY));
        assert_ne!(ours.engine, theirs.engine);

        let (entry, _) = compiled(&dir, &other, EMPTY);
        let ours_entry = Entry::in_dir(&dir, &ours);
        std::fs::rename(&entry.code, &ours_entry.code).unwrap();
        std::fs::rename(&entry.header, &ours_entry.header).unwrap();
        let why = unsound(&ours_entry, &ours).expect("not loaded");
        assert!(why.contains("other engine settings"), "{why}");
        assert!(load(&engine, &ours_entry, &ours).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
