//! Write fnhost functions in Rust.
//!
//! An app is a `cdylib` crate built for `wasm32-wasip2`. Mark its functions with
//! [`#[function]`](function) (on `fn` or `async fn`) and its local entrypoints with
//! [`#[local_entrypoint]`](local_entrypoint), then name them all once in [`app!`]:
//!
//! ```ignore
//! use fnhost_guest::{Error, app, function, local_entrypoint};
//!
//! #[function]
//! fn blocking_function() -> u32 {
//!     42
//! }
//!
//! #[function]
//! async fn async_function() -> Result<u32, Error> {
//!     let x = blocking_function.remote_aio(()).await?;
//!     Ok(x * 10)
//! }
//!
//! #[local_entrypoint]
//! fn blocking_main() -> Result<(), Error> {
//!     println!("{}", async_function.remote(())?); // => 420
//!     Ok(())
//! }
//!
//! app!(blocking_function, async_function, blocking_main);
//! ```
//!
//! `#[function]` turns `fn name(..)` into a value `name` that dereferences to a
//! [`Function`]: `name.remote(args)` blocks until the result is back, `name.remote_aio(args)` is
//! its async twin, `name.spawn(args)` starts a call in the background, and `name.map(inputs)`
//! fans out. `name.local(..)` runs the body right here, in the caller's own instance.
//!
//! # Arguments
//! A call takes one argument value: `()` for none, the value itself for one parameter, a tuple
//! for several (`describe_sum.remote((2, 3, "total".to_string()))`). On the wire the arguments
//! are a JSON array, made by one rule that needs no knowledge of the callee's parameters:
//! - a Rust tuple is the list of arguments: `(2, 3, "total")` is `[2,3,"total"]`, `()` is `[]`;
//! - any other value is the single argument: `"pear"` is `["pear"]`, `vec![1, 2]` is `[[1,2]]`.
//!
//! "A tuple" is what the value's `Serialize` says at its top level (`serialize_tuple`, or
//! `serialize_unit` for `()`); serde writes fixed-size arrays as tuples, so `[1, 2]` is two
//! arguments too.
//!
//! The one ambiguity is a function whose single parameter is itself a tuple (or a fixed-size
//! array). Its `#[function]` handle knows its parameters and gets it right:
//! `pair_sum.remote((1, 2))` for `fn pair_sum(pair: (u32, u32))` sends `[[1,2]]`. A
//! [`Function::from_name`] handle cannot tell, so pass the argument list as a one-element
//! tuple: `Function::<((u32, u32),), u32>::from_name("pair_sum").remote(((1, 2),))`.
//!
//! # Blocking and async
//! Every call blocks or awaits only what it should: a blocking call (`remote`, `get`, `map`,
//! [`sleep`]) holds the caller's whole instance until it returns, exactly as a blocking call
//! holds an asyncio event loop; an async call (`remote_aio`, `get_aio`, `map_aio`,
//! [`sleep_aio`]) lets the instance's other inputs run meanwhile. Prefer the async calls inside
//! `async fn` bodies.
//!
//! # Classes
//! A class (Modal's `@app.cls`) is a type whose fields are its parameters (those marked
//! `#[serde(skip)]` are the instance's state) and an `impl` block marked
//! [`#[class]`](class) with its hooks and methods. Each set of parameter values gets
//! containers of its own; each container builds one instance and runs its `#[enter]` hooks
//! before its first input (`#[enter(snap = true)]` ones once, before a snapshot every
//! container starts from), and its `#[exit]` hooks when it retires:
//!
//! ```ignore
//! use fnhost_guest::{Parameters, app, class};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Serialize, Deserialize, Parameters)]
//! pub struct Model {
//!     pub size: u64,
//!     #[serde(skip)]
//!     weights: Vec<u64>,
//! }
//!
//! #[class(max_containers = 4)]
//! impl Model {
//!     #[enter(snap = true)]
//!     fn load(&mut self) {
//!         self.weights = (0..self.size).collect();
//!     }
//!
//!     #[method]
//!     fn predict(&self, x: u64) -> u64 {
//!         self.weights[(x % self.size) as usize]
//!     }
//! }
//!
//! // Elsewhere: Model { size: 3, ..Default::default() }.handle().predict.remote(2)?
//! app!(; classes: Model);
//! ```
//!
//! # Generators
//! A `#[function]` returning `impl Iterator<Item = T>` (or `impl Stream<Item = T>`, for an
//! async one) is a generator: callers read its items as they come with
//! [`Function::remote_gen`] (or `remote_gen_aio`), through a small buffer the generator
//! cannot outrun; dropping the reader cancels it.
//!
//! # Web endpoints
//! `#[function(web)]` also serves a function over HTTP: `fnhost serve` answers it at
//! `/web/{app}/{name}`, taking its arguments by parameter name from the request and
//! answering with its JSON result. `web(method = "POST", label = "price", requires_auth =
//! true)` picks the method, the path segment and whether a request must carry the server's
//! token. A body that returns a [`web::Response`] sets the status, headers and raw body itself:
//!
//! ```ignore
//! use fnhost_guest::{app, function, web::Response};
//!
//! #[function(web(method = "POST"))]
//! fn create(name: String) -> Response {
//!     Response::text(201, format!("created {name}"))
//! }
//!
//! app!(create);
//! ```

mod current;
mod decode;
mod error;
mod export;
mod function;
mod storage;
mod time;
mod volume;
pub mod web;

#[doc(hidden)]
pub mod bindings {
    //! Bindings to the `fnhost:runtime` contract, generated from `wit/`.
    wit_bindgen::generate!({
        path: "../wit",
        world: "fnhost:runtime/app",
        pub_export_macro: true,
        export_macro_name: "__export_fnhost_app",
        default_bindings_module: "::fnhost_guest::bindings",
        // `run` is declared `async` in WIT so that blocking bodies may wait, but is lifted
        // synchronously: a blocking body holds its instance until it returns.
        async: [
            "-export:fnhost:runtime/guest@0.11.0#run",
            "-export:fnhost:runtime/guest@0.11.0#run-gen",
        ],
    });
}

pub use current::{current_function_call_id, current_input_id};
pub use error::{Error, StorageError};
pub use fnhost_guest_macros::{Parameters, class, function, local_entrypoint};
pub use function::{CallOptions, Function, FunctionCall, Generated, Stats};
pub use storage::{DEFAULT_PARTITION_TTL, Dict, Queue, QueueOptions};
pub use time::{sleep, sleep_aio};
pub use volume::{Volume, VolumeEntry, VolumeEntryKind};

/// The parameters of a class: `#[derive(Parameters)]` on its type says which fields they are
/// (all but those marked `#[serde(skip)]`) for the host to check and list.
pub trait Parameters {
    /// The parameters' names, in order.
    const NAMES: &'static [&'static str];
    /// Their types as written, in order.
    const TYPES: &'static [&'static str];
    /// Their default values as JSON, in order: a field marked `#[serde(default)]` defaults
    /// to its type's `Default`; `None` for one every caller must give.
    fn defaults() -> Vec<Option<String>>;
}

#[doc(hidden)]
pub mod __private {
    //! What the macros expand to; not part of the public API.
    pub use crate::bindings::fnhost::runtime::host::ItemSink;
    pub use crate::bindings::fnhost::runtime::types::CallError;
    pub use crate::bindings::fnhost::runtime::types::{
        Batching, EnterPhase, FunctionConfig, Period,
    };
    pub use crate::export::{
        App, AsyncDone, AsyncOutcome, ClassEntry, Endpoint, Entry, HookResult, Outcome, Registered,
        RegisteredClass, Role, Runner, ScheduleSpec, decode_args, decode_params, encode_output,
        instance, keep_instance, runs_hook, send_items, send_stream, take_instance,
    };
    pub use crate::function::encode_args;
    pub use futures;
    pub use serde_json;
}
