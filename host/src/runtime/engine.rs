//! The wasmtime engine every app of the process shares, and its epoch ticker.
//!
//! One engine per process: compiled code, the compile cache's key, and the pooling
//! allocator's slots are shared by every app, so a container started after another one ended
//! reuses its slot (its memory reset copy-on-write from the component's initial image, not
//! mapped afresh). The pool's capacity is fixed when the engine is made, before any app's
//! functions are known (their options come from instantiating their components, which needs the
//! engine): `FNHOST_MAX_INSTANCES` component instances (default 1000) over all apps of the
//! process, each slot able to hold the largest `memory` a function may declare (4 GiB of address
//! space, of which only touched pages cost memory). The functions' options size everything
//! per container: each store's limiter holds its function's `memory`, each pool its
//! `max_containers`. A container that cannot get a slot fails to start with `Overloaded`, naming
//! the limit, and its pool keeps the inputs for the instances it has. Making the pool costs
//! ~2.6 ms at the default size, nearly all of it one guard page per fiber stack: a cost every
//! `fnhost` process pays once at start.
//!
//! Epoch interruption keeps a guest that computes for a long time from holding a runtime
//! thread: every [`EPOCH_TICK`] a running guest yields to the async executor, so other
//! containers' inputs go on. The ticker thread holds only a weak reference to the engine.

use crate::LoadError;
use crate::settings::count_from_env;
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often a running guest yields to the executor.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The largest linear memory a pool slot holds: all wasm32 can address. A function's
/// `memory` option limits its containers below that.
const MAX_MEMORY: usize = 4 << 30;

/// Component instances the process holds slots for, unless `FNHOST_MAX_INSTANCES` says.
const DEFAULT_MAX_INSTANCES: u32 = 1000;

/// The process's engine, made on first use.
pub(crate) fn engine() -> Result<Engine, LoadError> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(new_engine)
        .clone()
        .map_err(LoadError::Engine)
}

fn new_engine() -> Result<Engine, String> {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(
        count_from_env("FNHOST_MAX_INSTANCES", DEFAULT_MAX_INSTANCES),
    )));
    let engine = Engine::new(&config).map_err(|error| error.to_string())?;
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
        .map_err(|error| format!("cannot start the epoch ticker: {error}"))?;
    Ok(engine)
}

/// Slots for `instances` component instances. A Rust guest holds a few core instances,
/// memories and tables (its own and the WASI adapter's). Every freed slot stays warm (keeps
/// its module's memory image mapped, its pages given back) rather than the default 100: a
/// pool that scaled down and up again then starts its containers without remapping.
fn pooling(instances: u32) -> PoolingAllocationConfig {
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(4))
        .total_stacks(instances)
        .max_unused_warm_slots(instances)
        .max_memory_size(MAX_MEMORY);
    pooling
}
