//! The cluster's errors.

use std::time::Duration;

/// Why joining a cluster, or one of its operations, failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The NATS server could not be reached, or refused the host's credentials.
    #[error("cannot connect to the NATS server at {url}: {reason}")]
    Connect {
        /// The server's address, redacted (no credentials).
        url: String,
        /// What the client said.
        reason: String,
    },
    /// A file of the connection (credentials, certificates) that cannot be used.
    #[error("cannot use {}: {reason}", path.display())]
    Credentials {
        /// The file.
        path: std::path::PathBuf,
        /// Why (never the file's contents).
        reason: String,
    },
    /// A host name that cannot be one token of a subject.
    #[error("{0}")]
    HostName(String),
    /// A stream, consumer or bucket could not be made or opened.
    #[error("cannot set up JetStream's `{what}` (is the server started with -js?): {reason}")]
    Setup {
        /// Which one.
        what: &'static str,
        /// What the server said.
        reason: String,
    },
    /// An operation on JetStream failed.
    #[error("{what}: {reason}")]
    JetStream {
        /// What was tried.
        what: String,
        /// What the server or client said.
        reason: String,
    },
    /// The server did not answer in time.
    #[error("{what}: the NATS server did not answer within {within:?}")]
    TimedOut {
        /// What was tried.
        what: String,
        /// How long it was given.
        within: Duration,
    },
}

impl ClusterError {
    /// A JetStream failure of `what`, with the client's error.
    pub(crate) fn jetstream(what: impl Into<String>) -> impl FnOnce(String) -> ClusterError {
        move |reason| ClusterError::JetStream {
            what: what.into(),
            reason,
        }
    }
}
