//! How a host reaches the NATS server and proves who it is: the URL (credentials in it allowed),
//! a credentials file, an NKey seed, a token or password read from a file, and TLS (a CA, a
//! client certificate).
//!
//! Invariant: no credential leaves this module but towards the NATS client: the URL is shown
//! only redacted ([`NatsUrl`]'s `Display` and `Debug`), secrets read from files never enter an
//! error or a log line (errors name the file and what is wrong, never its contents), and the
//! settings hold paths, not secrets, so they can be printed. Without this, `fnhost serve
//! --cluster nats://host:secret@...` would print the password in its "joined the cluster" line
//! and in every error about the server being away.

use crate::error::ClusterError;
use async_nats::{Client, ConnectOptions};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The NATS server's URL, which may carry credentials (`nats://user:password@host:4222`,
/// `nats://token@host`, percent-encoded): shown redacted; the credentials are taken out and
/// given to the client as such.
#[derive(Clone, PartialEq, Eq)]
pub struct NatsUrl(String);

impl NatsUrl {
    /// The URL `url` (`nats://`, `tls://`, or a bare `host:port`).
    pub fn new(url: impl Into<String>) -> NatsUrl {
        NatsUrl(url.into())
    }

    /// The URL with whatever comes before `@` in its authority replaced by `***`.
    pub fn redacted(&self) -> String {
        let (scheme, rest) = match self.0.split_once("://") {
            Some((scheme, rest)) => (Some(scheme), rest),
            None => (None, self.0.as_str()),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let authority = match authority.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => authority.to_owned(),
        };
        match scheme {
            Some(scheme) => format!("{scheme}://{authority}{path}"),
            None => format!("{authority}{path}"),
        }
    }

    /// Whether the URL asks for TLS (`tls://`).
    fn is_tls(&self) -> bool {
        self.0.starts_with("tls://")
    }

    /// The server's address without credentials, and the credentials the URL carried
    /// (percent-decoded): async-nats reads none from the URL itself.
    fn split(&self) -> Result<(String, Option<UrlCredentials>), String> {
        let with_scheme = if self.0.contains("://") {
            self.0.clone()
        } else {
            format!("nats://{}", self.0)
        };
        let mut url =
            url::Url::parse(&with_scheme).map_err(|error| format!("not a server URL: {error}"))?;
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| "the URL's credentials are not UTF-8 once decoded".to_owned())
        };
        let user = decode(url.username())?;
        let credentials = match url.password() {
            Some(password) => Some(UrlCredentials::Password {
                user,
                password: decode(password)?,
            }),
            None if user.is_empty() => None,
            None => Some(UrlCredentials::Token(user)),
        };
        // Neither fails for a URL with a host, which every server URL has.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok((url.into(), credentials))
    }
}

/// What a server URL carries before its `@`: `user:password`, or a token alone.
enum UrlCredentials {
    Token(String),
    Password { user: String, password: String },
}

impl fmt::Display for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NatsUrl({})", self.redacted())
    }
}

/// How a host proves who it is, beside what the URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatsCredentials {
    /// A credentials file (a user JWT and its NKey seed, as `nsc` writes it).
    CredsFile(PathBuf),
    /// A file holding an NKey seed (`SU...`).
    NkeyFile(PathBuf),
    /// A file holding a token.
    TokenFile(PathBuf),
    /// A user name, and a file holding its password.
    Password {
        /// The user.
        user: String,
        /// The file holding the password.
        file: PathBuf,
    },
}

/// Where a host connects and how: the URL, credentials, TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConnection {
    /// The server's URL.
    pub url: NatsUrl,
    /// Credentials beside the URL's, if any.
    pub credentials: Option<NatsCredentials>,
    /// A PEM file of the certificate authorities to trust for the server's certificate
    /// (default: the system's); implies TLS.
    pub ca: Option<PathBuf>,
    /// A client certificate and its key (PEM files), for servers that verify clients; implies
    /// TLS.
    pub client_certificate: Option<(PathBuf, PathBuf)>,
}

impl NatsConnection {
    /// A connection to `url` with its own credentials only, TLS as its scheme says.
    pub fn new(url: impl Into<String>) -> NatsConnection {
        NatsConnection {
            url: NatsUrl::new(url),
            credentials: None,
            ca: None,
            client_certificate: None,
        }
    }

    /// Connects with `options` (naming and tuning the connection), adding the credentials and
    /// TLS settings; fails within `timeout` when the server cannot be reached or refuses them.
    pub(crate) async fn connect(
        &self,
        options: ConnectOptions,
        timeout: Duration,
    ) -> Result<Client, ClusterError> {
        let (address, in_url) = self
            .url
            .split()
            .map_err(|reason| self.connect_error(reason))?;
        let options = self
            .secure(options.connection_timeout(timeout), in_url)
            .await?;
        options
            .connect(address.as_str())
            .await
            .map_err(|error| self.connect_error(error.to_string()))
    }

    fn connect_error(&self, reason: String) -> ClusterError {
        ClusterError::Connect {
            url: self.url.redacted(),
            reason,
        }
    }

    /// `options` with the credentials (the URL's, `in_url`, or the connection's) and TLS
    /// settings.
    async fn secure(
        &self,
        mut options: ConnectOptions,
        in_url: Option<UrlCredentials>,
    ) -> Result<ConnectOptions, ClusterError> {
        options = match (&self.credentials, in_url) {
            (Some(_), Some(_)) => {
                return Err(self.connect_error(
                    "credentials are given both in the URL and beside it: give them once".into(),
                ));
            }
            (None, Some(UrlCredentials::Token(token))) => options.token(token),
            (None, Some(UrlCredentials::Password { user, password })) => {
                options.user_and_password(user, password)
            }
            (None, None) => options,
            (Some(credentials), None) => credentials.apply(options)?,
        };
        for path in self.ca.iter().chain(
            self.client_certificate
                .iter()
                .flat_map(|(certificate, key)| [certificate, key]),
        ) {
            check_readable(path)?;
        }
        if let Some(ca) = &self.ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let Some((certificate, key)) = &self.client_certificate {
            options = options.add_client_certificate(certificate.clone(), key.clone());
        }
        let tls = self.url.is_tls() || self.ca.is_some() || self.client_certificate.is_some();
        Ok(options.require_tls(tls))
    }
}

impl NatsCredentials {
    /// `options` signing in with these credentials, read from their files now.
    fn apply(&self, options: ConnectOptions) -> Result<ConnectOptions, ClusterError> {
        Ok(match self {
            NatsCredentials::CredsFile(path) => {
                let creds = std::fs::read_to_string(path)
                    .map_err(|error| credential_error(path, &error))?;
                options
                    .credentials(&creds)
                    .map_err(|error| credential_error(path, &error))?
            }
            NatsCredentials::NkeyFile(path) => options.nkey(read_secret(path)?),
            NatsCredentials::TokenFile(path) => options.token(read_secret(path)?),
            NatsCredentials::Password { user, file } => {
                options.user_and_password(user.clone(), read_secret(file)?)
            }
        })
    }
}

impl From<String> for NatsConnection {
    fn from(url: String) -> NatsConnection {
        NatsConnection::new(url)
    }
}

impl From<&str> for NatsConnection {
    fn from(url: &str) -> NatsConnection {
        NatsConnection::new(url)
    }
}

/// The secret in the file at `path`, its surrounding whitespace (a final newline) removed.
fn read_secret(path: &Path) -> Result<String, ClusterError> {
    let text = std::fs::read_to_string(path).map_err(|error| credential_error(path, &error))?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(ClusterError::Credentials {
            path: path.to_owned(),
            reason: "the file is empty".into(),
        });
    }
    Ok(secret.to_owned())
}

/// Fails with the reason a file of the connection cannot be read (the client reads it later,
/// and would say less).
fn check_readable(path: &Path) -> Result<(), ClusterError> {
    std::fs::File::open(path)
        .map(drop)
        .map_err(|error| credential_error(path, &error))
}

/// A file of the connection that could not be used: its path and the reason (the system's, or
/// the parser's, which names what is missing), never its contents.
fn credential_error(path: &Path, error: &std::io::Error) -> ClusterError {
    ClusterError::Credentials {
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_credentials() {
        let shown = |url: &str| NatsUrl::new(url).to_string();
        assert_eq!(shown("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(
            shown("nats://host:s3cret@10.0.0.1:4222"),
            "nats://***@10.0.0.1:4222"
        );
        assert_eq!(shown("tls://t0ken@nats.example"), "tls://***@nats.example");
        assert_eq!(shown("u:p@w@host:4222/x?y"), "***@host:4222/x?y");
        assert_eq!(shown("host:4222"), "host:4222");
        let debug = format!("{:?}", NatsUrl::new("nats://a:b@c"));
        assert!(!debug.contains("a:b"), "{debug}");
    }

    #[test]
    fn urls_give_their_credentials_apart_from_the_address() {
        let split = |url: &str| NatsUrl::new(url).split().unwrap();
        let (address, credentials) = split("nats://127.0.0.1:4222");
        assert_eq!(address, "nats://127.0.0.1:4222");
        assert!(credentials.is_none());
        let (address, credentials) = split("tls://us%40er:p%3Ass%20w@nats.example:4222");
        assert_eq!(address, "tls://nats.example:4222");
        assert!(matches!(
            credentials,
            Some(UrlCredentials::Password { user, password })
                if user == "us@er" && password == "p:ss w"
        ));
        let (address, credentials) = split("t0k!en@10.0.0.1:4222");
        assert_eq!(address, "nats://10.0.0.1:4222");
        assert!(matches!(credentials, Some(UrlCredentials::Token(token)) if token == "t0k!en"));
        let Err(error) = NatsUrl::new("nats://se:cret@[bad").split() else {
            panic!("a URL without a host parsed");
        };
        assert!(!error.contains("cret"), "{error}");
    }

    proptest::proptest! {
        /// Any text given as a URL parses or fails with a message, never a panic; a password
        /// in it is never shown.
        #[test]
        fn any_url_splits_and_hides_its_password(
            text in ".{0,80}",
            user in "[a-z]{1,8}",
            password in "[A-Za-z0-9]{12,20}",
            host in "[a-z]{1,10}",
        ) {
            let _ = NatsUrl::new(text.as_str()).split();
            let url = NatsUrl::new(format!("nats://{user}:{password}@{host}:4222"));
            proptest::prop_assert!(!url.to_string().contains(&password));
            if let Err(message) = url.split() {
                proptest::prop_assert!(!message.contains(&password));
            }
        }
    }

    #[test]
    fn secrets_are_read_trimmed_and_never_echoed() {
        let dir = std::env::temp_dir().join(format!("fnhost-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "t0k en!\n").unwrap();
        assert_eq!(read_secret(&file).unwrap(), "t0k en!");
        std::fs::write(&file, "\n").unwrap();
        let empty = read_secret(&file).unwrap_err().to_string();
        assert!(empty.contains("empty"), "{empty}");
        let missing = read_secret(&dir.join("missing")).unwrap_err().to_string();
        assert!(
            missing.contains("missing") && missing.contains("No such file"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
