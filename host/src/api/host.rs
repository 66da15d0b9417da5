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
use crate::error::reason;
use crate::load::CompileCache;
use crate::runtime::engine;
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
}

/// The default of [`HostSettings::max_instances`].
pub const DEFAULT_MAX_INSTANCES: u32 = 1000;
/// The default of [`HostSettings::max_queued`].
pub const DEFAULT_MAX_QUEUED: usize = 250_000;
/// The default of [`HostSettings::max_call_depth`].
pub const DEFAULT_MAX_CALL_DEPTH: usize = 64;

impl Default for HostSettings {
    fn default() -> Self {
        HostSettings {
            max_instances: DEFAULT_MAX_INSTANCES,
            max_queued: DEFAULT_MAX_QUEUED,
            max_call_depth: DEFAULT_MAX_CALL_DEPTH,
            cache: CompileCache::user_default(),
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
}

impl Host {
    /// A host with `settings`, with an engine of its own.
    pub fn new(settings: HostSettings) -> Result<Host, LoadError> {
        let engine = engine::new(&settings.engine_config())?;
        Ok(Host {
            shared: Arc::new(HostShared { settings, engine }),
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
}
