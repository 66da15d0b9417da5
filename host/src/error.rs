//! The library's error types: [`Error`] for calls, [`LoadError`] for loading an app.
//!
//! [`Error`] mirrors the contract's `call-error` one to one (plus [`Error::Payload`] for what the
//! host-side caller itself could not encode or decode), so an error crosses any number of
//! guest and host hops without changing kind; [`Error::kind`] gives the kind alone.
//! [`LoadError`] keeps what caused it as its `source`, so a caller sees the whole chain.

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
    /// The function's body returned an error; this is its message (a Python body's carries
    /// its traceback after [`TRACEBACK_MARK`]).
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

/// What separates a Python body's `Type: message` from the traceback its [`Error::User`]
/// carries, as the contract's `call-error.user` says.
pub const TRACEBACK_MARK: &str = "\n\nRemote traceback:\n";

impl Error {
    /// The error without the traceback a user error may carry: for a terminal whose log
    /// already showed it.
    pub fn without_traceback(self) -> Error {
        match self {
            Error::User(message) => match message.split_once(TRACEBACK_MARK) {
                Some((summary, _)) => Error::User(summary.to_owned()),
                None => Error::User(message),
            },
            other => other,
        }
    }

    /// What kind of failure this is, for callers that map kinds (to HTTP statuses, to exit
    /// codes, to retry decisions) rather than parse messages.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::BadArguments(_) => ErrorKind::BadArguments,
            Error::User(_) => ErrorKind::User,
            Error::Trapped(_) => ErrorKind::Trapped,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Cancelled(_) => ErrorKind::Cancelled,
            Error::Overloaded(_) => ErrorKind::Overloaded,
            Error::TooDeep(_) => ErrorKind::TooDeep,
            Error::Payload(_) => ErrorKind::Payload,
        }
    }

    /// The message, without the kind's prefix.
    pub fn message(&self) -> &str {
        match self {
            Error::NotFound(message)
            | Error::BadArguments(message)
            | Error::User(message)
            | Error::Trapped(message)
            | Error::Timeout(message)
            | Error::Cancelled(message)
            | Error::Overloaded(message)
            | Error::TooDeep(message)
            | Error::Payload(message) => message,
        }
    }

    /// The error of `kind` with `message`: what [`Error::kind`] and [`Error::message`] took
    /// apart (to save it, or send it over a wire), put together again.
    pub fn from_kind(kind: ErrorKind, message: String) -> Error {
        match kind {
            ErrorKind::NotFound => Error::NotFound(message),
            ErrorKind::BadArguments => Error::BadArguments(message),
            ErrorKind::User => Error::User(message),
            ErrorKind::Trapped => Error::Trapped(message),
            ErrorKind::Timeout => Error::Timeout(message),
            ErrorKind::Cancelled => Error::Cancelled(message),
            ErrorKind::Overloaded => Error::Overloaded(message),
            ErrorKind::TooDeep => Error::TooDeep(message),
            ErrorKind::Payload => Error::Payload(message),
        }
    }
}

/// The kind of an [`Error`], without its message. Its text form (`not-found`, ...) is the
/// contract's name for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// No function of that name.
    NotFound,
    /// The arguments did not fit.
    BadArguments,
    /// The body returned an error.
    User,
    /// The container trapped.
    Trapped,
    /// The call ran past its timeout.
    Timeout,
    /// The call was cancelled.
    Cancelled,
    /// The host refused the call for want of capacity.
    Overloaded,
    /// The call would nest too deep.
    TooDeep,
    /// The caller could not encode or decode a payload.
    Payload,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::NotFound,
        ErrorKind::BadArguments,
        ErrorKind::User,
        ErrorKind::Trapped,
        ErrorKind::Timeout,
        ErrorKind::Cancelled,
        ErrorKind::Overloaded,
        ErrorKind::TooDeep,
        ErrorKind::Payload,
    ];

    /// The kind named `name` (as [`ErrorKind::as_str`] spells it).
    pub fn parse(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The kind's name, as the contract spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not-found",
            ErrorKind::BadArguments => "bad-arguments",
            ErrorKind::User => "user",
            ErrorKind::Trapped => "trapped",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::TooDeep => "too-deep",
            ErrorKind::Payload => "payload",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cause of a [`LoadError`] from a library below (wasmtime, the OS).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A cause the host states itself, as a sentence.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Reason(pub(crate) String);

/// `reason` as a [`Cause`].
pub(crate) fn reason(reason: impl Into<String>) -> Cause {
    Box::new(Reason(reason.into()))
}

/// Why an app could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The component file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bytes are not a WebAssembly component wasmtime can compile.
    #[error("{path} is not a valid WebAssembly component")]
    Compile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (what the compiler said).
        source: Cause,
    },
    /// The component implements neither the `fnhost:runtime/app` world nor a wasi:http
    /// handler (or implements one of them wrongly).
    #[error("{path} is not an fnhost app")]
    NotAnApp {
        /// The file.
        path: PathBuf,
        /// What is missing or mismatched.
        source: Cause,
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
    #[error("cannot grant {path}")]
    Grant {
        /// The host directory.
        path: PathBuf,
        /// What the OS said.
        source: Cause,
    },
    /// An outgoing HTTP grant is not an exact `HOST` or `HOST:PORT`.
    #[error("cannot allow HTTP to `{grant}`: {reason}")]
    HttpGrant {
        /// The grant as given.
        grant: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The containers a function keeps warm (`min_containers`) could not start.
    #[error("cannot start the minimum containers of `{function}`")]
    Start {
        /// The function.
        function: String,
        /// Why.
        source: Error,
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
    #[error("cannot set up the wasm engine")]
    Engine(#[source] Cause),
}

#[cfg(test)]
mod tests {
    use super::{Error, TRACEBACK_MARK};

    #[test]
    fn only_a_user_error_loses_its_traceback() {
        let raised = format!("ValueError: boom{TRACEBACK_MARK}Traceback (most recent call last):");
        assert_eq!(
            Error::User(raised).without_traceback(),
            Error::User("ValueError: boom".into())
        );
        let plain = Error::User("odd number 5".into());
        assert_eq!(plain.clone().without_traceback(), plain);
        let trapped = Error::Trapped(format!("x{TRACEBACK_MARK}y"));
        assert_eq!(trapped.clone().without_traceback(), trapped);
    }
}
