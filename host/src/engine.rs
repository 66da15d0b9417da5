//! The wasmtime engine every container of a process shares, and its epoch ticker.
//!
//! Epoch interruption keeps a guest that computes for a long time from holding a runtime
//! thread: every [`EPOCH_TICK`] a running guest yields to the async executor, so other
//! containers' inputs go on. The ticker thread holds only a weak reference and ends with the
//! engine.

use crate::LoadError;
use std::time::Duration;
use wasmtime::{Config, Engine};

/// How often a running guest yields to the executor.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Builds the engine and starts its epoch ticker.
pub(crate) fn new_engine() -> Result<Engine, LoadError> {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    let engine = Engine::new(&config).map_err(|error| LoadError::Engine(error.to_string()))?;
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("fnhost-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map_err(|error| LoadError::Engine(format!("cannot start the epoch ticker: {error}")))?;
    Ok(engine)
}
