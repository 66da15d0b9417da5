//! fnhost: a WebAssembly function host.
//!
//! An app is one or several WebAssembly components (built for `wasm32-wasip2` with the
//! `fnhost-guest` SDK) whose functions call each other by name. The host keeps a pool of
//! sandboxed containers per function — one wasmtime store and component instance each — and
//! runs inputs on them:
//!
//! - an async function with `max_inputs = N` runs up to N inputs interleaved on one instance;
//! - a blocking function runs each input on an instance of its own, in parallel;
//! - more load than that starts more containers, up to `max_containers`; then inputs queue;
//! - a trap throws its container away and the pool replaces it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let app = fnhost::App::load(["target/wasm32-wasip2/release/hello.wasm"]).await?;
//! let answer: u32 = app.function("async_function")?.remote(()).await?;
//! assert_eq!(answer, 420);
//! # Ok(())
//! # }
//! ```
//!
//! [`blocking`] holds the same API for callers without an async runtime.

mod app;
mod bindings;
pub mod blocking;
mod cache;
mod call;
mod chain;
mod component;
mod container;
mod cpu;
mod deadline;
mod engine;
mod error;
mod function;
mod imports;
mod output;
mod overrides;
mod payload;
mod pool;
mod sandbox;
mod settings;
pub mod source;

pub use app::{App, AppBuilder};
pub use cache::CompileCache;
pub use call::FunctionCall;
pub use chain::DEFAULT_MAX_CALL_DEPTH;
pub use error::{Error, LoadError};
pub use function::{
    BodyKind, CPU_MILLICORES, Function, FunctionConfig, FunctionInfo, MAX_MEMORY_MIB, MAX_RETRIES,
    MAX_RETRY_DELAY_MS, MAX_SCALEDOWN_WINDOW_SECS, MAX_TIMEOUT_SECS,
};
pub use overrides::{FunctionOptions, OPTION_NAMES, parse_override};
pub use payload::MAX_PAYLOAD;
pub use pool::PoolStats;
