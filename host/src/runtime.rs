//! What every container runs on: the engine, the contract's bindings, the operator's grants,
//! and where guest output goes; and the sandboxes, whose processes run on the same engine.
//! Nothing here knows of pools, apps or calls.

pub(crate) mod bindings;
pub(crate) mod cpu;
pub(crate) mod engine;
pub(crate) mod grants;
pub(crate) mod memory;
pub(crate) mod occupancy;
pub(crate) mod output;
pub mod sandbox;
