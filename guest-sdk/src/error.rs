//! The one error type of every call a guest makes.

use crate::bindings::fnhost::runtime::storage::StorageError as WitStorageError;
use crate::bindings::fnhost::runtime::types::CallError;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No function of that name is part of the app.
    NotFound(String),
    /// The arguments did not fit the function's parameters.
    BadArguments(String),
    /// The function's body returned an error; this is its message.
    User(String),
    /// The container running the call trapped; the message names the cause (for a panic, the
    /// panic's message).
    Trapped(String),
    /// The call did not finish in time.
    Timeout(String),
    /// The call was cancelled before it finished.
    Cancelled(String),
    /// The function's queue is full: the call was refused at once.
    Overloaded(String),
    /// The call would nest deeper than the host's call depth limit; the message names the
    /// chain of calls.
    TooDeep(String),
    /// This caller could not encode the arguments or decode the result.
    Payload(String),
    /// An operation on a dict, queue or volume failed.
    Storage(StorageError),
}

/// Why an operation on a [`Dict`](crate::Dict), [`Queue`](crate::Queue) or
/// [`Volume`](crate::Volume) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// No dict, queue or volume of that name (opened without `create_if_missing`), or of that
    /// id.
    NotFound(String),
    /// A name, partition, key or argument the host does not take.
    Invalid(String),
    /// A key, value, item or request past its size limit.
    TooLarge(String),
    /// A queue partition holds its most items (Modal's `queue.Full`), or a volume more than
    /// its quota.
    Full(String),
    /// The host's store cannot serve now: nothing changed.
    Unavailable(String),
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageError::NotFound(message) => write!(f, "not found: {message}"),
            StorageError::Invalid(message) => write!(f, "invalid: {message}"),
            StorageError::TooLarge(message) => write!(f, "too large: {message}"),
            StorageError::Full(message) => write!(f, "full: {message}"),
            StorageError::Unavailable(message) => write!(f, "storage unavailable: {message}"),
        }
    }
}

impl From<WitStorageError> for Error {
    fn from(error: WitStorageError) -> Self {
        Error::Storage(match error {
            WitStorageError::NotFound(message) => StorageError::NotFound(message),
            WitStorageError::Invalid(message) => StorageError::Invalid(message),
            WitStorageError::TooLarge(message) => StorageError::TooLarge(message),
            WitStorageError::Full(message) => StorageError::Full(message),
            WitStorageError::Unavailable(message) => StorageError::Unavailable(message),
        })
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotFound(message) => write!(f, "not found: {message}"),
            Error::BadArguments(message) => write!(f, "bad arguments: {message}"),
            Error::User(message) => f.write_str(message),
            Error::Trapped(message) => write!(f, "trapped: {message}"),
            Error::Timeout(message) => write!(f, "timed out: {message}"),
            Error::Cancelled(message) => write!(f, "cancelled: {message}"),
            Error::Overloaded(message) => write!(f, "overloaded: {message}"),
            Error::TooDeep(message) => write!(f, "too deep: {message}"),
            Error::Payload(message) => write!(f, "payload: {message}"),
            Error::Storage(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

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
            CallError::Payload(message) => Error::Payload(message),
        }
    }
}
