//! Why an operation on a dict, queue or volume failed: one case per `storage-error` of the
//! contract.

use thiserror::Error;

/// Why an operation on a dict, queue or volume failed. Every case carries a message for people; none
/// carries a value that was stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StorageError {
    /// No dict, queue or volume of that name (opened without `create_if_missing`), or of that
    /// id; no such file in a volume.
    #[error("not found: {0}")]
    NotFound(String),
    /// A name, partition, key or argument the host does not take.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A key, value, item or request past its size limit; the message names the limit.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A queue partition holds its most items, a queue its most partitions, or a volume more
    /// than its quota.
    #[error("full: {0}")]
    Full(String),
    /// The store cannot serve now (a full disk, a damaged file, the host stopping): nothing
    /// that was asked changed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// redb's errors, each a failure of the store: `unavailable`, with redb's message.
macro_rules! unavailable_from {
    ($($error:ty),*) => {$(
        impl From<$error> for StorageError {
            fn from(error: $error) -> Self {
                StorageError::Unavailable(error.to_string())
            }
        }
    )*};
}

unavailable_from!(
    redb::Error,
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError
);

/// A failure of the store itself (redb's), which aborts the transaction it happened in.
pub(crate) type Fatal = redb::Error;

/// What an operation applied in a write transaction gives: its own outcome, or a failure of the
/// store that aborts the whole batch.
pub(crate) type Applied<T> = Result<Result<T, StorageError>, Fatal>;
