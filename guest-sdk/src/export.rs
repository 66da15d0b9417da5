//! The component's side of the contract: describe the functions it holds, run one by name.
//!
//! `#[function]` and `#[local_entrypoint]` give each item a constant [`Entry`]; [`app!`] gathers
//! them into one table and exports it. Lookups are a linear scan of that table: apps hold a
//! handful of functions, and the scan is cheaper than building a map at every instantiation.
//!
//! A panic aborts the instance, so no `Result` can carry it out; instead a panic hook hands the
//! message to the host (`report-panic`) just before the trap, and the host attaches it to the
//! trap it reports.

use crate::bindings::exports::fnhost::runtime::guest::Guest;
use crate::bindings::fnhost::runtime::host;
use crate::bindings::fnhost::runtime::types::{
    AppInfo, Batching, BodyKind, CallError, FunctionConfig, FunctionInfo, WebEndpoint,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::Once;

/// Whether an entry is a function (callable by any caller) or a local entrypoint (run by
/// `fnhost run`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Function,
    Entrypoint,
}

/// What running an entry gives: the encoded output, or why there is none.
pub type Outcome = Result<Vec<u8>, CallError>;

/// A running async body.
pub type AsyncOutcome = Pin<Box<dyn Future<Output = Outcome>>>;

/// The body of an entry, behind the payload codec.
pub enum Runner {
    Blocking(fn(Vec<u8>) -> Outcome),
    Async(fn(Vec<u8>) -> AsyncOutcome),
}

/// One function or entrypoint of the component.
pub struct Entry {
    pub name: &'static str,
    pub role: Role,
    pub params: &'static [&'static str],
    /// The parameters' types as the author wrote them, without spaces (`Vec<u32>`).
    pub param_types: &'static [&'static str],
    pub config: FunctionConfig,
    /// Set for `#[function(web)]`.
    pub web: Option<Endpoint>,
    /// Set for `#[function(batched(..))]`.
    pub batch: Option<Batching>,
    pub runner: Runner,
}

/// How a function is also served as a web endpoint: the `web-endpoint` record, in a form a
/// constant can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Upper case: `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The path segment under `/web/{app}/`; the function's name when `None`.
    pub label: Option<&'static str>,
    /// Whether a request must carry the server's token.
    pub requires_auth: bool,
}

/// Implemented by what `#[function]` and `#[local_entrypoint]` make of an item.
pub trait Registered {
    const ENTRY: Entry;
}

/// Implemented by the type [`app!`](crate::app) declares: the table of the component's entries.
pub trait App {
    const ENTRIES: &'static [Entry];
}

impl<T: App> Guest for T {
    fn describe() -> AppInfo {
        install_panic_hook();
        let infos = |role| {
            T::ENTRIES
                .iter()
                .filter(|entry| entry.role == role)
                .map(Entry::info)
                .collect()
        };
        AppInfo {
            functions: infos(Role::Function),
            entrypoints: infos(Role::Entrypoint),
        }
    }

    fn run(function: String, args: Vec<u8>) -> Outcome {
        install_panic_hook();
        match &find::<T>(&function)?.runner {
            Runner::Blocking(run) => run(args),
            Runner::Async(_) => Err(wrong_entry(&function, "async", "run-async")),
        }
    }

    async fn run_async(function: String, args: Vec<u8>) -> Outcome {
        install_panic_hook();
        match &find::<T>(&function)?.runner {
            Runner::Async(run) => run(args).await,
            Runner::Blocking(_) => Err(wrong_entry(&function, "blocking", "run")),
        }
    }
}

impl Entry {
    fn info(&self) -> FunctionInfo {
        FunctionInfo {
            name: self.name.to_owned(),
            kind: match self.runner {
                Runner::Blocking(_) => BodyKind::Blocking,
                Runner::Async(_) => BodyKind::Async,
            },
            params: owned(self.params),
            param_types: owned(self.param_types),
            config: self.config,
            web: self.web.map(|endpoint| WebEndpoint {
                method: endpoint.method.to_owned(),
                label: endpoint.label.map(str::to_owned),
                requires_auth: endpoint.requires_auth,
            }),
            batch: self.batch,
        }
    }
}

fn owned(strings: &[&str]) -> Vec<String> {
    strings.iter().map(|string| (*string).to_owned()).collect()
}

fn find<T: App>(name: &str) -> Result<&'static Entry, CallError> {
    T::ENTRIES
        .iter()
        .find(|entry| entry.name == name)
        .ok_or_else(|| CallError::NotFound(format!("this component has no function `{name}`")))
}

fn wrong_entry(function: &str, kind: &str, entry: &str) -> CallError {
    CallError::BadArguments(format!(
        "`{function}` has a {kind} body: the host must run it through `{entry}`"
    ))
}

/// Decodes the JSON array of arguments into the tuple of a function's `arity` parameters. An
/// array shorter than that is read with `null` for the parameters left out at its end (a
/// caller that names its arguments, or a web request, may leave out trailing `Option`s).
pub fn decode_args<T: DeserializeOwned>(
    function: &str,
    arity: usize,
    args: &[u8],
) -> Result<T, CallError> {
    let bad = |error: serde_json::Error| CallError::BadArguments(format!("`{function}`: {error}"));
    serde_json::from_slice(args).or_else(|error| {
        match serde_json::from_slice::<Vec<serde_json::Value>>(args) {
            Ok(mut values) if values.len() < arity => {
                values.resize(arity, serde_json::Value::Null);
                serde_json::from_value(serde_json::Value::Array(values)).map_err(bad)
            }
            _ => Err(bad(error)),
        }
    })
}

/// Encodes what a body returned: its value, or for a `Result` body that fails, a user error
/// carrying the error's message.
pub fn encode_output<T: Serialize, E: Display>(output: Result<T, E>) -> Outcome {
    let value = output.map_err(|error| CallError::User(error.to_string()))?;
    serde_json::to_vec(&value)
        .map_err(|error| CallError::User(format!("cannot encode the result: {error}")))
}

/// Replaces std's panic hook: the message goes to the host (`report-panic`) and to stderr.
///
/// The hook prints the panic itself, as `panicked at {location}:` and the message on the next
/// lines, rather than chaining to std's default hook, which starts with an empty line (each
/// stderr line is forwarded with the container's prefix, so that line would show as a bare
/// prefix) and names a thread and `RUST_BACKTRACE`, which mean nothing in a component.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            host::report_panic(&message);
            // One write of whole lines; if stderr is gone, the host has the message already.
            let _ = std::io::stderr().write_all(format!("{message}\n").as_bytes());
        }));
    });
}

/// Exports the component's functions and entrypoints: name every `#[function]` and
/// `#[local_entrypoint]` of the crate once, in its root.
///
/// ```ignore
/// fnhost_guest::app!(blocking_function, async_function, blocking_main);
/// ```
#[macro_export]
macro_rules! app {
    ($($item:path),* $(,)?) => {
        #[doc(hidden)]
        struct __FnhostApp;

        impl $crate::__private::App for __FnhostApp {
            const ENTRIES: &'static [$crate::__private::Entry] =
                &[$(<$item as $crate::__private::Registered>::ENTRY),*];
        }

        $crate::bindings::__export_fnhost_app!(__FnhostApp);
    };
}
