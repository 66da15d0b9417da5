//! The wasmtime engine a host's apps share, and its epoch ticker.
//!
//! One engine per host: compiled code, the compile cache's key, and the pooling allocator's
//! slots are shared by every app of the host, so a container started after another one ended
//! reuses its slot (its memory reset copy-on-write from the component's initial image, not
//! mapped afresh). The pool's capacity is fixed when the engine is made, before any app's
//! functions are known (their options come from instantiating their components, which needs the
//! engine): the host's `max_instances` component instances (default 1000) over all its apps, each slot able to hold the largest `memory` a function may declare (4 GiB of address
//! space, of which only touched pages cost memory). The functions' options size everything
//! per container: each store's limiter holds its function's `memory`, each pool its
//! `max_containers`. A container that cannot get a slot fails to start with `Overloaded`, naming
//! the limit, and its pool keeps the inputs for the instances it has. Making the pool costs
//! ~2.6 ms at the default size, nearly all of it one guard page per fiber stack: a cost every
//! host pays once when it is made.
//!
//! Epoch interruption keeps a guest that computes for a long time from holding a runtime
//! thread: every [`EPOCH_TICK`] a running guest yields to the async executor, so other
//! containers' inputs, and the host's timers, go on. The tick bounds how long the host's other
//! work may wait behind a computing guest: at 10 ms, four guests computing on 2 cores made a
//! 10 ms sleep take 70 ms; at 2 ms, ~20 ms. The ticker thread holds only a weak reference to
//! the engine.

use crate::LoadError;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often a running guest yields to the executor (and is charged for its CPU budget, and
/// checked against its deadline).
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(2);

/// The largest linear memory a pool slot holds: all wasm32 can address. A function's
/// `memory` option limits its containers below that.
const MAX_MEMORY: usize = 4 << 30;

/// The configuration of an engine with slots for `max_instances` component instances.
pub(crate) fn config(max_instances: u32) -> Config {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(max_instances)));
    config
}

/// An engine made from `config`, with its epoch ticker running.
pub(crate) fn new(config: &Config) -> Result<Engine, LoadError> {
    let engine = Engine::new(config).map_err(|error| LoadError::Engine(error.into()))?;
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
        .map_err(|error| LoadError::Engine(error.into()))?;
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
