//! A host: the settings an operator chooses, and the wasmtime engine made from them.
//!
//! Every app is loaded on a host and shares its engine: compiled code, the compile cache's key
//! and the pooling allocator's slots. Settings are a value passed to what needs them, never read
//! from the environment by the library (the `fnhost` binary does that), so two hosts in one
//! process may differ: each has its own engine, slots and limits. [`Host::app`] loads an app on
//! a host; [`App::builder`] uses the process's default host, made on first use with
//! [`HostSettings::default`].
//!
//! A host also holds what its apps share beyond the engine: the apps deployed by name (so that
//! `APP/FUNCTION` reaches another app, from the API and from guests alike; see
//! `api::deployed`) and the spawned calls kept by id (so that a call spawned by one app or
//! client is collected by another), and the store of dicts and queues.
//!
//! [`App::builder`]: crate::App::builder

use crate::container::state;
use crate::dispatch::offload::{HostOffload, Offload};
use crate::error::reason;
use crate::load::programs::Programs;
use crate::load::{CompileCache, cache};
use crate::retained::{CallStore, ResultJournal, RetainedCall, RetainedStats, Retention};
use crate::runtime::engine;
use crate::runtime::memory::{self, MemoryBudget};
use crate::runtime::occupancy::Occupancy;
use crate::runtime::sandbox::{DEFAULT_MAX_SANDBOXES, Sandboxes};
use crate::storage::remote::RemoteState;
use crate::storage::{LazyStorage, Storage, StorageError, StorageSettings};
use crate::{Error, LoadError};
use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use tokio::sync::watch;
use wasmtime::Engine;

/// What an operator sets for a host. The defaults suit one process serving a few apps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSettings {
    /// Component instances (containers) the host holds pooling-allocator slots for, over all
    /// its apps (default 1000). A container that finds none free fails to start with
    /// `overloaded`.
    pub max_instances: u32,
    /// Inputs that may wait in one function's queue (default 250 000): past it a call fails at
    /// once with `overloaded`, so a flood costs bounded memory (a queued input holds its
    /// arguments and a reply channel, ~200 bytes beside them).
    pub max_queued: usize,
    /// How many calls may nest (default 64): a call past it fails with `too-deep`.
    pub max_call_depth: usize,
    /// Where compiled components are kept (default: the user's cache directory).
    pub cache: CompileCache,
    /// Bytes of linear memory all the host's guests may hold at once (default: three quarters
    /// of the machine's memory, or of its cgroup's limit when lower). A guest growing past it
    /// traps naming the budget; a container that cannot get its initial memory fails to start
    /// with `overloaded`. Tables, compiled code and the host's own memory are not counted.
    pub memory_budget: u64,
    /// Component-model handles one container may hold at once (default 2^20): calls in flight
    /// and their results, resources. A guest past it traps, naming the limit; a `join_all` of
    /// one million `remote_aio` needs more than the default.
    pub max_handles: usize,
    /// How long a finished spawned call's result stays readable by id (default 24 h).
    pub retention: Duration,
    /// At most this many finished spawned calls are kept (default 100 000); past it, the
    /// oldest are forgotten first. A kept call costs ~400 bytes beside its result.
    pub max_retained_calls: usize,
    /// At most this many bytes of finished spawned calls' results (and error messages) are
    /// kept (default 256 MiB); past it, the oldest are forgotten first.
    pub max_retained_bytes: u64,
    /// Where the host keeps its dicts and queues (`store.redb` in it, opened when an app first
    /// uses one); in memory when `None` (the default), so they end with the host.
    pub state_dir: Option<PathBuf>,
    /// Expiry and cache of the dicts and queues.
    pub storage: StorageSettings,
    /// Sandboxes the host holds at once (default 10 000); past it `Sandbox.create` fails with
    /// `overloaded`.
    pub max_sandboxes: usize,
}

/// The default of [`HostSettings::max_instances`].
pub const DEFAULT_MAX_INSTANCES: u32 = 1000;
/// The default of [`HostSettings::max_queued`].
pub const DEFAULT_MAX_QUEUED: usize = 250_000;
/// The default of [`HostSettings::max_call_depth`].
pub const DEFAULT_MAX_CALL_DEPTH: usize = 64;
/// The default of [`HostSettings::max_handles`]: ten times wasmtime's, so that one task can
/// keep hundreds of thousands of async calls in flight.
pub const DEFAULT_MAX_HANDLES: usize = state::DEFAULT_MAX_HANDLES;
/// The default of [`HostSettings::retention`]: a day.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// The default of [`HostSettings::max_retained_calls`].
pub const DEFAULT_MAX_RETAINED_CALLS: usize = 100_000;
/// The default of [`HostSettings::max_retained_bytes`]: 256 MiB.
pub const DEFAULT_MAX_RETAINED_BYTES: u64 = 256 << 20;

impl Default for HostSettings {
    fn default() -> Self {
        HostSettings {
            max_instances: DEFAULT_MAX_INSTANCES,
            max_queued: DEFAULT_MAX_QUEUED,
            max_call_depth: DEFAULT_MAX_CALL_DEPTH,
            cache: CompileCache::user_default(),
            memory_budget: memory::default_budget(),
            max_handles: DEFAULT_MAX_HANDLES,
            retention: DEFAULT_RETENTION,
            max_retained_calls: DEFAULT_MAX_RETAINED_CALLS,
            max_retained_bytes: DEFAULT_MAX_RETAINED_BYTES,
            state_dir: None,
            storage: StorageSettings::default(),
            max_sandboxes: DEFAULT_MAX_SANDBOXES,
        }
    }
}

impl HostSettings {
    /// The wasmtime configuration the host's engine is made from: the pooling allocator sized
    /// by [`HostSettings::max_instances`], epoch interruption, component-model async. The
    /// benchmark's raw-wasmtime baseline is made from it too.
    pub fn engine_config(&self) -> wasmtime::Config {
        engine::config(self.max_instances)
    }
}

/// A host: settings and the engine made from them. Cheap to clone; apps loaded on it keep it
/// alive.
#[derive(Clone)]
pub struct Host {
    shared: Arc<HostShared>,
}

struct HostShared {
    settings: HostSettings,
    engine: Engine,
    budget: Arc<MemoryBudget>,
    occupancy: Arc<Occupancy>,
    calls: Arc<CallStore>,
    /// The dicts and queues of every app on the host.
    storage: Arc<LazyStorage>,
    /// The apps deployed by name. An app here holds the host (as every app does): a host
    /// with deployed apps lives until they are undeployed.
    deployed: RwLock<HashMap<String, Deployed>>,
    /// The names in `deployed`, told at each change.
    deployed_names: watch::Sender<BTreeSet<String>>,
    /// Where the host's full pools offer calls (a cluster's router), if anywhere.
    offload: HostOffload,
    sandboxes: Sandboxes,
}

impl Drop for HostShared {
    fn drop(&mut self) {
        cache::forget_engine(&self.engine);
    }
}

/// An app as the host keeps it when deployed: an `App`, which this file cannot name (an app
/// holds its host, so the host's file sits below the app's; `api::deployed` downcasts it).
pub(crate) type Deployed = Arc<dyn Any + Send + Sync>;

impl Host {
    /// A host with `settings`, with an engine of its own.
    pub fn new(settings: HostSettings) -> Result<Host, LoadError> {
        let engine = engine::new(&settings.engine_config())?;
        let retention = Retention {
            window: settings.retention,
            max_calls: settings.max_retained_calls,
            max_bytes: settings.max_retained_bytes,
        };
        let budget = MemoryBudget::new(settings.memory_budget);
        let storage = Arc::new(LazyStorage::new(
            settings.state_dir.clone(),
            settings.storage.clone(),
        ));
        let programs = Programs::new(&engine, settings.cache.clone())
            .map_err(|error| LoadError::Engine(reason(error.to_string())))?;
        let sandboxes = Sandboxes::new(
            Arc::new(programs),
            Arc::clone(&budget),
            Arc::clone(&storage),
            std::env::temp_dir().join(format!("fnhost-sandboxes-{}", std::process::id())),
            settings.max_sandboxes,
        );
        Ok(Host {
            shared: Arc::new(HostShared {
                budget,
                occupancy: Arc::default(),
                calls: Arc::new(CallStore::new(retention)),
                storage,
                deployed: RwLock::default(),
                deployed_names: watch::Sender::default(),
                offload: HostOffload::default(),
                sandboxes,
                settings,
                engine,
            }),
        })
    }

    /// The process's default host, with [`HostSettings::default`], made on first use.
    pub fn process_default() -> Result<Host, LoadError> {
        static DEFAULT: OnceLock<Result<Host, String>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| Host::new(HostSettings::default()).map_err(|error| error.to_string()))
            .clone()
            .map_err(|error| LoadError::Engine(reason(error)))
    }

    /// The host's sandboxes.
    pub fn sandboxes(&self) -> &Sandboxes {
        &self.shared.sandboxes
    }

    /// The host's settings.
    pub fn settings(&self) -> &HostSettings {
        &self.shared.settings
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// The budget of guest memory every container of the host charges.
    pub(crate) fn budget(&self) -> &Arc<MemoryBudget> {
        &self.shared.budget
    }

    /// What the host's containers are doing.
    pub(crate) fn occupancy(&self) -> &Arc<Occupancy> {
        &self.shared.occupancy
    }

    /// Bytes of guest memory the host's containers hold now.
    pub fn memory_in_use(&self) -> u64 {
        self.shared.budget.used() as u64
    }

    /// The host's spawned calls, by id.
    pub(crate) fn calls(&self) -> &Arc<CallStore> {
        &self.shared.calls
    }

    /// The store of the host's dicts and queues, shared by all its apps: opened now if it was
    /// not (an error when another process holds the state directory's store).
    pub fn storage(&self) -> Result<Storage, StorageError> {
        self.shared.storage.get()
    }

    /// Keeps the host's dicts, queues and secrets in `state` (a cluster's, shared by its
    /// hosts) from now on, instead of its own store: `unavailable` when the host's own store
    /// is in use already.
    pub fn share_state(&self, state: Arc<dyn RemoteState>) -> Result<(), StorageError> {
        self.shared.storage.share(state)
    }

    /// The host's store of dicts and queues, opened when first used.
    pub(crate) fn lazy_storage(&self) -> &Arc<LazyStorage> {
        &self.shared.storage
    }

    /// The finished spawned calls the host keeps, oldest first: what a server saves before it
    /// stops.
    pub fn retained_calls(&self) -> Vec<RetainedCall> {
        self.shared.calls.finished()
    }

    /// Keeps `calls` (saved by [`Host::retained_calls`] before a restart) readable by id, as
    /// if they had finished here; those past the retention window are dropped.
    pub fn restore_calls(&self, calls: Vec<RetainedCall>) {
        self.shared.calls.restore(calls);
    }

    /// From now on, and while the caller keeps `journal` (the host holds it weakly), a result
    /// a guest reads of a call it found by id (`call-from-id`) is put in `journal` first, and
    /// the read waits until it is on disk: a crash of the host then takes back no result a
    /// guest has seen. A result the spawner reads through its own handle is not journaled.
    pub fn set_result_journal(&self, journal: &Arc<dyn ResultJournal>) {
        self.shared.calls.set_journal(journal);
    }

    /// How many spawned calls the host keeps, and what their results weigh.
    pub fn retained_stats(&self) -> RetainedStats {
        self.shared.calls.stats()
    }

    /// From now on, a call of a deployed app's function that finds its pool full (every
    /// container it may have busy) is offered to `offload` rather than queued (`None`: calls
    /// queue again). A cluster sets it to send such calls to hosts with room.
    pub fn set_offload(&self, offload: Option<Arc<dyn Offload>>) {
        *write(&self.shared.offload) = offload;
    }

    /// The host's offload, which its apps' pools consult.
    pub(crate) fn offload(&self) -> &HostOffload {
        &self.shared.offload
    }

    /// The table of deployed apps, by name (see `api::deployed`).
    pub(crate) fn deployed_table(&self) -> &RwLock<HashMap<String, Deployed>> {
        &self.shared.deployed
    }

    /// Tells the watchers of [`Host::deployed_names`] the names in `table`; called with the
    /// table's write lock held, so that they hear the changes in the order they were made.
    pub(crate) fn tell_deployed(&self, table: &HashMap<String, Deployed>) {
        let names: BTreeSet<String> = table.keys().cloned().collect();
        self.shared.deployed_names.send_if_modified(|told| {
            let changed = *told != names;
            *told = names;
            changed
        });
    }

    /// The names of the apps deployed on the host, now and at each change (a new version of
    /// an app deployed is no change of names).
    pub fn deployed_names(&self) -> watch::Receiver<BTreeSet<String>> {
        self.shared.deployed_names.subscribe()
    }

    /// The app deployed as `name`, or a `not-found` naming those that are.
    pub(crate) fn deployed_entry(&self, name: &str) -> Result<Deployed, Error> {
        let deployed = read(&self.shared.deployed);
        deployed.get(name).cloned().ok_or_else(|| {
            let shown: String = name.chars().take(64).collect();
            let mut names: Vec<&str> = deployed.keys().map(String::as_str).collect();
            names.sort_unstable();
            Error::NotFound(format!(
                "no app `{shown}` is deployed (deployed: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ))
        })
    }
}

/// `APP/FUNCTION` split in two; a `not-found` when either is missing.
pub(crate) fn split_qualified(qualified: &str) -> Result<(&str, &str), Error> {
    match qualified.split_once('/') {
        Some((app, function)) if !app.is_empty() && !function.is_empty() => Ok((app, function)),
        _ => {
            let shown: String = qualified.chars().take(64).collect();
            Err(Error::NotFound(format!(
                "`{shown}` does not name a deployed function (expected APP/FUNCTION)"
            )))
        }
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names_have_two_parts() {
        assert_eq!(split_qualified("a/f").unwrap(), ("a", "f"));
        assert_eq!(split_qualified("a/f/g").unwrap(), ("a", "f/g"));
        for bad in ["f", "/f", "a/", ""] {
            assert!(split_qualified(bad).is_err(), "{bad}");
        }
    }
}
