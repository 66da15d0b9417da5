//! What an operator chooses for a server: where it listens, where it keeps its state, its
//! token, and how long it waits (for a call before answering with its id, for work in flight
//! before it stops).
//!
//! Invariant: a server never listens beyond the loopback interface without a token, unless
//! the operator said so ([`ServerSettings::insecure_no_auth`]); [`ServerSettings::check`]
//! refuses it before anything is bound.

use crate::ServerError;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The address a server listens on unless told otherwise.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT);

/// The port of [`DEFAULT_LISTEN`].
pub const DEFAULT_PORT: u16 = 7420;

/// How long `/call` waits for a result before answering `303` with the call's id.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(150);

/// How long a shutdown lets requests and calls in flight finish.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// The default of [`ServerSettings::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How a server runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// The address to listen on (default `127.0.0.1:7420`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// Where deployed apps, their components and retained results are kept (default
    /// [`ServerSettings::default_state_dir`]).
    pub state_dir: PathBuf,
    /// When set, every request but `GET /healthz` needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Allows listening on a non-loopback address without a token.
    pub insecure_no_auth: bool,
    /// How long `POST .../call` waits for the result before answering `303 See Other` with
    /// the call's id (default 150 s); the call goes on.
    pub sync_timeout: Duration,
    /// How long a shutdown lets requests and calls in flight finish before cancelling them
    /// (default 30 s).
    pub grace: Duration,
    /// How long a client may take to send a request's head, and how long a request's body
    /// may send nothing (default 30 s): past either the request is cut (`408`, `400`). A
    /// sandbox process's stdin, which a person may type into, has no such limit. Also how
    /// long a web request waits for its app's share (`max_web_requests_per_app`).
    pub request_timeout: Duration,
    /// The web requests (`/web/...`) one app may serve at once; one past it waits up to
    /// `request_timeout` for a place, then is refused `429 overloaded`.
    /// `None` (the default): half the host's container slots, so that one app's clients never
    /// hold every slot.
    pub max_web_requests_per_app: Option<usize>,
    /// The directories under which a deployment may grant its containers a host directory
    /// (`fnhost serve --grantable-dir`); none by default, so that whoever may deploy reaches
    /// no file of this machine the operator did not choose.
    pub grantable_dirs: Vec<PathBuf>,
    /// The cluster to join (`fnhost serve --cluster`), if any: deployments, spilled calls
    /// and spawned calls are then shared with its other hosts (docs/cluster.md).
    pub cluster: Option<fnhost_cluster::ClusterSettings>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: DEFAULT_LISTEN,
            state_dir: ServerSettings::default_state_dir(),
            token: None,
            insecure_no_auth: false,
            sync_timeout: DEFAULT_SYNC_TIMEOUT,
            grace: DEFAULT_GRACE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_web_requests_per_app: None,
            grantable_dirs: Vec::new(),
            cluster: None,
        }
    }
}

impl ServerSettings {
    /// The user's data directory's `fnhost` (`~/.local/share/fnhost` on Linux), or
    /// `./.fnhost-state` where the platform has none.
    pub fn default_state_dir() -> PathBuf {
        dirs::data_dir()
            .map(|dir| dir.join("fnhost"))
            .unwrap_or_else(|| PathBuf::from(".fnhost-state"))
    }

    /// Refuses what must not run: an empty token, or a non-loopback address without a token
    /// (unless [`ServerSettings::insecure_no_auth`]).
    pub fn check(&self) -> Result<(), ServerError> {
        if self.token.as_deref().is_some_and(str::is_empty) {
            return Err(ServerError::EmptyToken);
        }
        if self.token.is_none() && !self.listen.ip().is_loopback() && !self.insecure_no_auth {
            return Err(ServerError::Insecure {
                listen: self.listen,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_listens_without_a_token() {
        let open = |listen: &str, token: Option<&str>, insecure: bool| ServerSettings {
            listen: listen.parse().unwrap(),
            token: token.map(str::to_owned),
            insecure_no_auth: insecure,
            ..ServerSettings::default()
        };
        assert!(open("127.0.0.1:0", None, false).check().is_ok());
        assert!(open("[::1]:0", None, false).check().is_ok());
        assert!(matches!(
            open("0.0.0.0:7420", None, false).check(),
            Err(ServerError::Insecure { .. })
        ));
        assert!(open("0.0.0.0:7420", Some("s3cret"), false).check().is_ok());
        assert!(open("0.0.0.0:7420", None, true).check().is_ok());
        assert!(matches!(
            open("127.0.0.1:0", Some(""), false).check(),
            Err(ServerError::EmptyToken)
        ));
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let settings = ServerSettings::default();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:7420");
        assert_eq!(settings.sync_timeout, Duration::from_secs(150));
        assert_eq!(settings.grace, Duration::from_secs(30));
    }
}
