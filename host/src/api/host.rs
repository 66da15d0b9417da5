//! A host: the settings an operator chooses, and the wasmtime engine made from them.
//!
//! Every app is loaded on a host and shares its engine: compiled code, the compile cache's key
//! and the pooling allocator's slots. Settings are a value passed to what needs them, never read
//! from the environment by the library (the `fnhost` binary does that), so two hosts in one
//! process may differ: each has its own engine, slots and limits. [`Host::app`] loads an app on
//! a host; [`App::builder`] uses the process's default host, made on first use with
//! [`HostSettings::default`].
//!
//! [`App::builder`]: crate::App::builder

use crate::LoadError;
use crate::container::state;
use crate::error::reason;
use crate::load::CompileCache;
use crate::runtime::engine;
use crate::runtime::memory::{self, MemoryBudget};
use crate::runtime::occupancy::Occupancy;
use std::sync::{Arc, OnceLock};
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

impl Default for HostSettings {
    fn default() -> Self {
        HostSettings {
            max_instances: DEFAULT_MAX_INSTANCES,
            max_queued: DEFAULT_MAX_QUEUED,
            max_call_depth: DEFAULT_MAX_CALL_DEPTH,
            cache: CompileCache::user_default(),
            memory_budget: memory::default_budget(),
            max_handles: DEFAULT_MAX_HANDLES,
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
}

impl Host {
    /// A host with `settings`, with an engine of its own.
    pub fn new(settings: HostSettings) -> Result<Host, LoadError> {
        let engine = engine::new(&settings.engine_config())?;
        Ok(Host {
            shared: Arc::new(HostShared {
                budget: MemoryBudget::new(settings.memory_budget),
                occupancy: Arc::default(),
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
}
