//! The library's error types: [`Error`] for calls, [`LoadError`] for loading an app.
//!
//! [`Error`] mirrors the contract's `call-error` one to one (plus [`Error::Payload`] for what the
//! host-side caller itself could not encode or decode), so an error crosses any number of
//! guest and host hops without changing kind.

use crate::bindings::CallError;
use std::path::PathBuf;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No function of that name is part of the app.
    #[error("not found: {0}")]
    NotFound(String),
    /// The arguments did not fit the function's parameters.
    #[error("bad arguments: {0}")]
    BadArguments(String),
    /// The function's body returned an error; this is its message.
    #[error("{0}")]
    User(String),
    /// The container running the call trapped; the message names the cause (for a panic, the
    /// panic's message).
    #[error("trapped: {0}")]
    Trapped(String),
    /// The call did not finish in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The call was cancelled before it finished.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// The function's queue is full: the call was refused at once.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// The call would nest deeper than the host's call depth limit; the message names the
    /// chain of calls.
    #[error("too deep: {0}")]
    TooDeep(String),
    /// This caller could not encode the arguments or decode the result.
    #[error("payload: {0}")]
    Payload(String),
}

impl From<CallError> for Error {
    fn from(error: CallError) -> Self {
        match error {
            CallError::NotFound(message) => Error::NotFound(message),
            CallError::BadArguments(message) => Error::BadArguments(message),
            CallError::User(message) => Error::User(message),
            CallError::Trapped(message) => Error::Trapped(message),
            CallError::Timeout(message) => Error::Timeout(message),
            CallError::Cancelled(message) => Error::Cancelled(message),
            CallError::Overloaded(message) => Error::Overloaded(message),
            CallError::TooDeep(message) => Error::TooDeep(message),
        }
    }
}

impl From<Error> for CallError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(message) => CallError::NotFound(message),
            Error::BadArguments(message) | Error::Payload(message) => {
                CallError::BadArguments(message)
            }
            Error::User(message) => CallError::User(message),
            Error::Trapped(message) => CallError::Trapped(message),
            Error::Timeout(message) => CallError::Timeout(message),
            Error::Cancelled(message) => CallError::Cancelled(message),
            Error::Overloaded(message) => CallError::Overloaded(message),
            Error::TooDeep(message) => CallError::TooDeep(message),
        }
    }
}

/// Why an app could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The component file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bytes are not a WebAssembly component wasmtime can compile.
    #[error("{path} is not a valid WebAssembly component: {reason}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// What the compiler said.
        reason: String,
    },
    /// The component does not implement the `fnhost:runtime/app` world.
    #[error("{path} is not an fnhost app: {reason}")]
    NotAnApp {
        /// The file.
        path: PathBuf,
        /// What is missing or mismatched.
        reason: String,
    },
    /// Two components of the app define the same function or entrypoint.
    #[error("`{name}` is defined by both {first} and {second}")]
    Duplicate {
        /// The function's name.
        name: String,
        /// The component loaded first.
        first: PathBuf,
        /// The component loaded second.
        second: PathBuf,
    },
    /// A function declares an option out of its range.
    #[error("{path}: function `{function}`: option `{option}` {reason}")]
    InvalidOption {
        /// The component.
        path: PathBuf,
        /// The function.
        function: String,
        /// The option.
        option: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// Options were overridden for a function the app does not have.
    #[error("options given for `{name}`, which is not a function of the app")]
    UnknownFunction {
        /// The name given.
        name: String,
    },
    /// A directory granted to containers cannot be opened.
    #[error("cannot grant {path}: {reason}")]
    Grant {
        /// The host directory.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The containers a function keeps warm (`min_containers`) could not start.
    #[error("cannot start the minimum containers of `{function}`: {reason}")]
    Start {
        /// The function.
        function: String,
        /// Why.
        reason: String,
    },
    /// Building a guest crate for `wasm32-wasip2` failed.
    #[error("cannot build {path}: {reason}")]
    Build {
        /// The crate directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The engine could not be configured.
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
}
