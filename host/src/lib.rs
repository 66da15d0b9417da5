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
//! [`blocking`] holds the same API for callers without an async runtime. A [`Host`] carries
//! the operator's settings ([`HostSettings`]); `App::load` uses the process's default one.
//!
//! The modules form layers, each using only those listed before it (docs/architecture.md
//! draws the call path through them):
//! `error`, `options`, `info` → `dispatch` (the seam: requests, replies, call chains) →
//! `runtime` (engine, bindings, grants, output, sandboxes) → `container` → `load` → `pool` →
//! `api`.

mod api;
mod container;
mod dispatch;
mod error;
mod info;
#[cfg(test)]
mod layers;
mod load;
mod options;
mod pool;
mod retained;
mod runtime;
mod schedule;
mod storage;

pub use api::blocking;
pub use api::{
    App, AppBuilder, Class, DEFAULT_MAX_CALL_DEPTH, DEFAULT_MAX_HANDLES, DEFAULT_MAX_INSTANCES,
    DEFAULT_MAX_QUEUED, DEFAULT_MAX_RETAINED_BYTES, DEFAULT_MAX_RETAINED_CALLS, DEFAULT_RETENTION,
    Function, FunctionCall, Generated, HANDLER_NAME, Host, HostSettings, HttpBody, Instance,
    MAX_APP_NAME, PoolStats, check_app_name,
};
pub use dispatch::CallId;
pub use dispatch::items::GENERATOR_BUFFER;
pub use dispatch::offload::{ArrivedCall, OfferedCall, Offload};
pub use dispatch::payload::MAX_PAYLOAD;
pub use error::{Cause, Error, ErrorKind, LoadError, TRACEBACK_MARK};
pub use info::{
    Batching, BodyKind, ClassInfo, FunctionInfo, SecretSource, VolumeMount, WebEndpoint, WebForm,
    WebRequest,
};
pub use load::{CompileCache, MAX_COMPONENT_BYTES, read_component, source, untrusted};
pub use options::{
    DefaultValue, FunctionConfig, FunctionOptions, InvalidOption, OPTIONS, OptionSpec, Unit,
    markdown_table, option_names, option_spec, parse_override,
};
pub use pool::class::MAX_PARAMETER_SETS;
pub use retained::{ResultJournal, RetainedCall, RetainedStats};
pub use runtime::output::{OutputSink, StdioSink, Stream, prefixed};
pub use runtime::sandbox;
pub use schedule::{CronSchedule, InvalidSchedule, Period, Schedule};
pub use storage::remote;
pub use storage::{
    Dict, EntryKind, MAX_ITEM_BYTES, MAX_KEY_BYTES, MAX_PAGE, MAX_PARTITION_ITEMS,
    MAX_PARTITION_TTL, MAX_PARTITIONS, MAX_SECRET_BYTES, MAX_SECRET_KEYS, MAX_VALUE_BYTES,
    MAX_VOLUME_READ, ObjectKind, Queue, STORE_FILE, SecretListing, SecretValues, Storage,
    StorageError, StorageSettings, TypedDict, TypedQueue, Volume, VolumeEntry,
};
