//! The macros of `fnhost-guest`: `#[function]`, `#[local_entrypoint]`, `#[class]` and
//! `#[derive(Parameters)]`. This file holds their entry points; each concern has a module:
//! `options` reads an attribute's options, `signature` what a body's signature says,
//! `runner` the code that runs a body, `entry` the record `app!` exports, `function` and
//! `class` the expansions.
//!
//! `#[function]` and `#[local_entrypoint]` turn `fn name(..)` (or `async fn`) into a unit
//! struct `name` with:
//! - `name.local(..)`: the original body, run in the caller's own instance;
//! - an `Entry` (name, parameter names and types, the options the attribute wrote — the others
//!   are `None`, for the host to fill with its defaults —, the web endpoint if `web` was
//!   written, and a runner that decodes the JSON arguments, runs the body and encodes its
//!   output) that `fnhost_guest::app!` exports;
//! - for functions, a `Deref` to `fnhost_guest::Function<Args, Output>`, which gives `remote`,
//!   `remote_aio`, `spawn` and `map`.
//!
//! A body returning `Result<T, E>` (any type whose last path segment is `Result`) is fallible:
//! callers get `T`, and an `Err` reaches them as a user error carrying `E`'s `Display` message.

mod class;
mod entry;
mod function;
mod options;
mod runner;
mod signature;

use function::{Role, entrypoint_options, expand};
use options::{Options, function_options};
use proc_macro::TokenStream;
use syn::{ItemFn, parse_macro_input};

/// Makes a `fn` or `async fn` a function of the app, callable by name from anywhere in it.
///
/// Options (Modal's, with the same meaning), in these units:
/// - `max_inputs = N`: inputs one container runs at once;
/// - `target_inputs = N`: inputs the autoscaler aims to give one container before it starts
///   another (at most `max_inputs`);
/// - `max_containers = N`: containers the function may have at once;
/// - `min_containers = N`: containers kept running even when idle;
/// - `buffer_containers = N`: idle containers kept ready beyond the busy ones while inputs run;
/// - `scaledown_window = SECONDS`: how long a container beyond those may stay idle;
/// - `timeout = SECONDS`: how long one attempt may run;
/// - `memory = MIB`: the most linear memory one container may grow to;
/// - `cpu = CORES`: the CPU one container may use, a number (`0.25`, `2`; to a thousandth of a
///   core);
/// - `retries = N`, or `retries(max_retries = N, backoff_coefficient = F, initial_delay = MS,
///   max_delay = MS)`: how many times a failed input runs again, the first delay, what each
///   next delay is multiplied by, and the longest delay;
/// - `web`, or `web(method = "POST", label = "price", requires_auth = true)` with any of the
///   three: the function is also a web endpoint, which `fnhost serve` answers at
///   `/web/{app}/{label}`. `method` is one of GET, POST, PUT, PATCH, DELETE, in any case
///   (default GET); `label` is the path segment, lowercase ASCII letters, digits, `-` and `_`
///   (default: the function's name); `requires_auth` says whether a request must carry the
///   server's token (default `false`: public, as Modal's web endpoints are). The body may
///   return `fnhost_guest::web::Response` (or a `Result` of it) to set the status, headers and
///   body itself;
/// - `batched(max_batch_size = N, wait_ms = MS)` (Modal's `@batched`): every parameter is a
///   `Vec` and the body returns a `Vec` (or a `Result` of one) with one element per input;
///   callers call with one element per parameter and get one element back
///   (`embed.remote("text".to_string())`), and the host runs up to N queued inputs as one,
///   waiting at most MS milliseconds for more (N 1 to 1000, MS at most 600 000). `local` runs
///   the body as written, on lists.
/// - `schedule = period(days = 1, hours = 2)` (Modal's `Period`: `years`, `months`, `weeks`,
///   `days`, `hours`, `minutes`, `seconds`, the last a number) or `schedule = cron("0 9 * * 1-5",
///   timezone = "Europe/Paris")` (Modal's `Cron`; UTC without `timezone`): `fnhost serve` runs
///   the function by itself at those times. The function takes no parameters.
///
/// The component declares only the options written here; the host fills the others with its
/// defaults and checks every value when the app loads, naming the function and the option.
/// The defaults and ranges are the host's: see the option table in docs/functions.md, and
/// `fnhost list APP` for a component's effective options. This macro checks only that each
/// option is one it knows and that its value is a number of the right kind (a whole number
/// where one is expected, never negative); `web`'s method and label it checks in full.
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    let options = match function_options(attr.into()) {
        Ok(options) => options,
        Err(error) => return error.into_compile_error().into(),
    };
    let item = parse_macro_input!(item as ItemFn);
    expand(item, Role::Function, options)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Makes a `fn main()` or `async fn main()` (any name) a local entrypoint, run by
/// `fnhost run APP::name`. It takes no arguments and returns `()` or `Result<(), E>`; it
/// declares no options (the host gives it its defaults).
#[proc_macro_attribute]
pub fn local_entrypoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    if let Err(error) = entrypoint_options(attr.into()) {
        return error.into_compile_error().into();
    }
    let item = parse_macro_input!(item as ItemFn);
    expand(item, Role::Entrypoint, Options::default())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Makes an inherent `impl` block a class of the app (Modal's `@app.cls`), whose instances
/// live in containers. The type derives `serde::Serialize`, `serde::Deserialize` and
/// [`Parameters`](derive@Parameters): its fields are the class's parameters, except those
/// marked `#[serde(skip)]`, the instance's state (built by `enter`, `Default` until then).
///
/// The attribute takes a function's options (`max_inputs`, `timeout`, ...: see
/// [`function`](macro@function)), which every method shares; each distinct set of parameter
/// values gets a pool of its own. In the block:
/// - `#[enter]` marks a hook (`fn name(&mut self)`, or `async`, returning `()` or a
///   `Result<(), E>`) run once per container before its first input; `#[enter(snap = true)]`
///   one that runs before a snapshot of the container's memory is taken;
/// - `#[exit]` marks a hook run when a container retires;
/// - `#[method]` marks a method (`&self`, then its parameters), `#[method(batched(...))]` a
///   batched one. Every method is `fn`, or every one `async fn`.
///
/// Callers write `Model { size: 3, ..Default::default() }.handle().predict.remote(2)`; name
/// the class in `app!(...; classes: Model)`.
#[proc_macro_attribute]
pub fn class(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as syn::ItemImpl);
    class::expand(attr.into(), item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The parameters of a class: a struct's named fields, except those marked `#[serde(skip)]`.
#[proc_macro_derive(Parameters)]
pub fn parameters(item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as syn::DeriveInput);
    class::derive_parameters(item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
