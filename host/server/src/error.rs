//! What can go wrong in the server's library API: starting, deploying, stopping.
//!
//! Invariant: every variant names what it concerns (the address, the file, the app), and
//! keeps the error it comes from as its `source`; [`ServerError::chain`] prints the whole
//! chain, which is what an HTTP client is told.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server could not start, deploy, or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A non-loopback address without a token, and `insecure_no_auth` not set.
    #[error(
        "refusing to listen on {listen} without a token: anyone who can reach it could run \
         code; set a token, listen on a loopback address, or allow it explicitly \
         (insecure_no_auth)"
    )]
    Insecure {
        /// The address asked for.
        listen: SocketAddr,
    },
    /// A token that is the empty string.
    #[error("the token is empty")]
    EmptyToken,
    /// An app whose web endpoint requires the token, deployed on a server without one.
    #[error(
        "app `{app}`: the web endpoint `{function}` requires a token (requires_auth), and \
         the server has none: it would be served to anyone; start the server with a token"
    )]
    OpenEndpoint {
        /// The app.
        app: String,
        /// The endpoint's function.
        function: String,
    },
    /// An app token asked of a server without an operator token, where it would protect
    /// nothing.
    #[error(
        "the server has no token: every request may do everything, so an app token would          limit nobody; start it with a token (--token-file, FNHOST_TOKEN) first"
    )]
    NoOperatorToken,
    /// The address could not be bound.
    #[error("cannot listen on {listen}")]
    Bind {
        /// The address asked for.
        listen: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file or directory of the state could not be read or written.
    #[error("cannot {action} {path}")]
    Io {
        /// What was being done (`write`, `read`, `create`...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A state directory that another user owns or others may write.
    #[error("refusing the state directory {}: {problem}", dir.display())]
    UnsafeStateDir {
        /// The directory.
        dir: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A stored component whose bytes no longer match its name.
    #[error("the stored component {id} does not match its SHA-256 (changed on disk?)")]
    ComponentChanged {
        /// Its id.
        id: String,
    },
    /// A state file that is not what the server writes.
    #[error("{path} is not valid")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: serde_json::Error,
    },
    /// A component id that is not 64 lowercase hexadecimal digits.
    #[error("`{id}` is not a component id (a SHA-256: 64 lowercase hexadecimal digits)")]
    BadComponentId {
        /// What was given (its start).
        id: String,
    },
    /// A component that was not uploaded.
    #[error("no component {sha256} has been uploaded")]
    MissingComponent {
        /// Its id.
        sha256: String,
    },
    /// An app without components.
    #[error("an app needs at least one component")]
    NoComponents,
    /// The components did not load as an app.
    #[error("cannot load app `{app}`")]
    Load {
        /// The app.
        app: String,
        /// Why.
        source: fnhost::LoadError,
    },
    /// An option override of a deployment does not parse or is out of range.
    #[error("app `{app}`: option `{option}`: {reason}")]
    BadOption {
        /// The app.
        app: String,
        /// `FUNCTION.OPTION`.
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A directory or environment grant of a deployment is refused.
    #[error("app `{app}`: `{grant}`: {reason}")]
    BadGrant {
        /// The app.
        app: String,
        /// The grant, as the command line gives it (a variable's value left out).
        grant: String,
        /// Why it is refused.
        reason: String,
    },
    /// The host refused the name or the call (an app name that is not one, for instance).
    #[error(transparent)]
    Host(#[from] fnhost::Error),
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The cluster could not be joined, or could not do what a deploy asked.
    #[error(transparent)]
    Cluster(#[from] fnhost_cluster::ClusterError),
}

impl ServerError {
    /// The error and every cause below it, joined by `: `.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        // `Host` is transparent: its source is what it already printed.
        if matches!(self, ServerError::Host(_)) {
            cause = None;
        }
        while let Some(error) = cause {
            text.push_str(": ");
            text.push_str(&error.to_string());
            cause = error.source();
        }
        text
    }

    /// An I/O error on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ServerError::Io {
            action,
            path,
            source,
        }
    }
}
