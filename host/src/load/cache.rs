//! Compiled components on disk, so that loading an app a second time does not recompile it.
//!
//! An entry is keyed by the SHA-256 of the component's bytes and a hash of the engine's
//! compilation settings (wasmtime's `precompile_compatibility_hash`), so a changed component or
//! a changed engine never hits a stale entry. The entry starts with the SHA-256 of the
//! serialized code it holds: an entry that does not match it (truncated, corrupted) is
//! compiled again and overwritten, never loaded. wasmtime itself checks, on top, that the code
//! was made by a compatible engine. Entries are written to a temporary file and renamed into
//! place, so concurrent loaders never see half an entry.
//!
//! The checksum protects against accidents, not attackers: whoever can write the cache
//! directory can make the host run their code, as with wasmtime's own cache.
//!
//! Within a process, loading the same code again gives the same [`Component`] (see
//! [`Loaded`]): every load still reads and checks its entry, but a reloaded app's containers
//! then reuse warm pool slots as they are, memory image included.

use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept: a directory ([`CompileCache::in_dir`]), by default the
/// user's cache directory (`~/.cache/fnhost` on Linux), or nowhere ([`CompileCache::disabled`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

const DIGEST_LEN: usize = 32;

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

    /// The component for `bytes`: from the cache when a sound entry is there, else compiled
    /// (and stored, when the cache is on).
    pub(crate) fn component(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(dir) = &self.dir else {
            return Component::new(engine, bytes);
        };
        let entry = dir.join(format!("{}.cwasm", key(engine, bytes)));
        if let Some(component) = load(engine, &entry) {
            return Ok(component);
        }
        let component = Component::new(engine, bytes)?;
        let code = component.serialize()?;
        let digest = Sha256::digest(&code).into();
        if let Err(error) = store(&entry, &digest, &code) {
            tracing::warn!(
                "cannot write the compile cache entry {}: {error}",
                entry.display()
            );
        }
        Loaded::get().remember(digest, &component);
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

/// The entry name: what the component is, and what the engine makes of it.
fn key(engine: &Engine, bytes: &[u8]) -> String {
    let mut settings = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut settings);
    format!("{:x}-{:016x}", Sha256::digest(bytes), settings.finish())
}

/// Loads a sound entry; `None` when there is none or it does not check out.
fn load(engine: &Engine, entry: &Path) -> Option<Component> {
    let contents = std::fs::read(entry).ok()?;
    if contents.len() <= DIGEST_LEN {
        tracing::warn!(
            "compile cache entry {} is truncated; recompiling",
            entry.display()
        );
        return None;
    }
    let (digest, code) = contents.split_at(DIGEST_LEN);
    let digest: Digest32 = digest.try_into().expect("split at the digest's length");
    if Sha256::digest(code).as_slice() != digest {
        tracing::warn!(
            "compile cache entry {} is corrupt; recompiling",
            entry.display()
        );
        return None;
    }
    let loaded = Loaded::get();
    if let Some(component) = loaded.find(engine, &digest) {
        return Some(component);
    }
    // SAFETY: `code` is what `Component::serialize` wrote for this engine's settings (the key
    // says so), intact (the digest says so); wasmtime checks engine compatibility again.
    match unsafe { Component::deserialize(engine, code) } {
        Ok(component) => {
            loaded.remember(digest, &component);
            Some(component)
        }
        Err(error) => {
            tracing::warn!(
                "compile cache entry {} is stale ({error}); recompiling",
                entry.display()
            );
            None
        }
    }
}

/// Writes the entry for `code`, whose SHA-256 is `digest`.
fn store(entry: &Path, digest: &Digest32, code: &[u8]) -> std::io::Result<()> {
    let dir = entry.parent().expect("entries live in the cache directory");
    std::fs::create_dir_all(dir)?;
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
    let mut contents = Vec::with_capacity(DIGEST_LEN + code.len());
    contents.extend_from_slice(digest);
    contents.extend_from_slice(code);
    std::fs::write(&temporary, &contents)?;
    std::fs::rename(&temporary, entry)
}
