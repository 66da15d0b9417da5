//! Loading components: compile (or take from the compile cache), check the contract, ask what
//! they hold; and building guest crates given as source. Every check of a component happens
//! here, once, so that a broken file fails at load naming the file, never inside a call.

pub(crate) mod cache;
pub(crate) mod component;
mod file;
pub(crate) mod programs;
pub(crate) mod snapshot;
pub mod source;

pub use cache::{CompileCache, untrusted};
pub use component::{MAX_COMPONENT_BYTES, read_component};
