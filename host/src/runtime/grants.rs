//! What a container may reach of the machine: WASI's defaults, plus what the operator grants.
//!
//! By default a container has no preopened directory (so no filesystem), no environment
//! variables and no network; it has WASI's clocks and random numbers, and its stdout and
//! stderr are forwarded. [`Grants`] add directories (read-write or read-only) and environment
//! variables, for every container of the app, its local entrypoint's included, and outgoing
//! HTTP requests (`wasi:http/outgoing-handler`) to exact hosts; [`OwnGrants`] add a function's
//! own secrets and volumes to its containers alone. Sockets are never granted.
//!
//! Invariant: an outgoing HTTP request leaves the host only when its host is granted to the
//! app ([`OutgoingHttp`]); any other fails inside the guest with wasi:http's
//! `HTTP-request-denied`, a value the guest can handle, not a trap. Without the check, a guest
//! could reach any host the machine reaches.

mod secrets;
mod volumes;

pub(crate) use secrets::secret_env;
pub(crate) use volumes::volume_dirs;

use crate::LoadError;
use crate::runtime::output::{GuestOutput, Origin, OutputSink, Stream};
use http_body_util::BodyExt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks, default_send_request};

/// How a container's outgoing HTTP requests are sent: only to the granted hosts.
pub(crate) struct OutgoingHttp {
    grants: HttpGrants,
}

impl OutgoingHttp {
    pub(crate) fn new(grants: HttpGrants) -> Self {
        OutgoingHttp { grants }
    }
}

/// What `send_request` returns: the response and the future of the request's own I/O.
type Sent = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for OutgoingHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        response_io: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        // The response's I/O errors are the default client's to report.
        drop(response_io);
        if !self.grants.allows(request.uri()) {
            tracing::debug!(uri = %request.uri(), "outgoing HTTP request denied");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = default_send_request(request, options).await?;
            let io: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send> = Box::new(io);
            Ok((response.map(BodyExt::boxed_unsync), io))
        })
    }
}

/// What the operator grants every container of an app beyond WASI's defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grants {
    dirs: Vec<DirGrant>,
    env: Vec<(String, String)>,
    http: Vec<HttpGrant>,
}

/// What one container is granted beyond its app's grants: its function's secrets and volumes.
#[derive(Debug, Default)]
pub(crate) struct OwnGrants {
    /// Environment variables set after the app's (its function's secrets).
    pub(crate) env: Vec<(String, String)>,
    /// Host directories mounted read-write at guest paths (its function's volumes).
    pub(crate) dirs: Vec<(PathBuf, String)>,
}

/// A host that outgoing HTTP requests may reach: exactly that name (no wildcard, no
/// subdomain), on `port` or, when `None`, on any port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpGrant {
    host: String,
    port: Option<u16>,
}

impl HttpGrant {
    /// Parses `HOST[:PORT]` (an IPv6 address in brackets), or says why not.
    pub(crate) fn parse(grant: &str) -> Result<HttpGrant, String> {
        let authority: http::uri::Authority = grant
            .parse()
            .map_err(|_| format!("`{grant}` is not HOST or HOST:PORT"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "`{grant}` holds credentials: give HOST or HOST:PORT"
            ));
        }
        let host = authority.host();
        if host.is_empty() || host.contains('*') {
            return Err(format!(
                "`{grant}` is not an exact host (wildcards are not allowed)"
            ));
        }
        Ok(HttpGrant {
            host: host.to_ascii_lowercase(),
            port: authority.port_u16(),
        })
    }

    /// Whether a request to `host` on `port` is allowed by this grant.
    fn allows(&self, host: &str, port: u16) -> bool {
        self.host.eq_ignore_ascii_case(host) && self.port.is_none_or(|granted| granted == port)
    }
}

/// The hosts outgoing HTTP requests may reach (none unless granted).
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpGrants(Arc<[HttpGrant]>);

impl HttpGrants {
    /// Whether a request to `uri` may be sent: its host is granted, on its port (the scheme's
    /// default when the URI gives none).
    pub(crate) fn allows(&self, uri: &http::Uri) -> bool {
        let Some(host) = uri.host() else {
            return false;
        };
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("http") => 80,
            _ => 443,
        });
        self.0.iter().any(|grant| grant.allows(host, port))
    }
}

#[derive(Debug, Clone)]
struct DirGrant {
    host: PathBuf,
    guest: String,
    perms: FsPerms,
}

impl Grants {
    /// Grants the host directory `host` as `guest` inside containers, read-write or read-only.
    pub(crate) fn dir(
        &mut self,
        host: impl Into<PathBuf>,
        guest: impl Into<String>,
        read_only: bool,
    ) {
        self.dirs.push(DirGrant {
            host: host.into(),
            guest: guest.into(),
            perms: if read_only {
                FsPerms::ReadOnly
            } else {
                FsPerms::ReadWrite
            },
        });
    }

    /// Sets the environment variable `key` to `value` inside containers.
    pub(crate) fn env(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.env.push((key.into(), value.into()));
    }

    /// Allows outgoing HTTP requests to `grant`.
    pub(crate) fn http(&mut self, grant: HttpGrant) {
        self.http.push(grant);
    }

    /// The hosts outgoing HTTP requests may reach.
    pub(crate) fn http_grants(&self) -> HttpGrants {
        HttpGrants(self.http.clone().into())
    }

    /// Fails when a granted directory cannot be opened, so that a bad grant is reported when
    /// the app loads rather than by every container start.
    pub(crate) fn check(&self) -> Result<(), LoadError> {
        self.dirs.iter().try_for_each(|grant| {
            WasiCtxBuilder::new()
                .preopened_dir(&grant.host, &grant.guest, grant.perms)
                .map(drop)
                .map_err(|error| LoadError::Grant {
                    path: grant.host.clone(),
                    source: error.into(),
                })
        })
    }

    /// The WASI context of a container whose output goes to `sink`, from `origin`, with its
    /// `own` grants after the app's.
    pub(crate) fn wasi(
        &self,
        sink: &Arc<dyn OutputSink>,
        origin: &Origin,
        own: &OwnGrants,
    ) -> WasiCtx {
        let output = |stream| GuestOutput::new(Arc::clone(sink), origin.clone(), stream);
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(output(Stream::Stdout))
            .stderr(output(Stream::Stderr));
        builder.envs(&self.env);
        // A container's own variables (its function's secrets) after the app's.
        builder.envs(&own.env);
        for (host, guest) in &own.dirs {
            // Made just before the container started; one removed since (its volume deleted)
            // is left out, as below.
            if let Err(error) = builder.preopened_dir(host, guest, FsPerms::ReadWrite) {
                tracing::warn!("cannot mount {}: {error}", host.display());
            }
        }
        for grant in &self.dirs {
            // Checked when the app loaded; a directory removed since then is left out (the
            // guest sees it missing) rather than failing the container.
            if let Err(error) = builder.preopened_dir(&grant.host, &grant.guest, grant.perms) {
                tracing::warn!("cannot grant {}: {error}", grant.host.display());
            }
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(list: &[&str]) -> HttpGrants {
        let mut grants = Grants::default();
        for grant in list {
            grants.http(HttpGrant::parse(grant).unwrap());
        }
        grants.http_grants()
    }

    fn allows(grants: &HttpGrants, uri: &str) -> bool {
        grants.allows(&uri.parse().unwrap())
    }

    #[test]
    fn only_exact_hosts_and_ports_are_reached() {
        let none = grants(&[]);
        assert!(!allows(&none, "http://example.com/"));
        let some = grants(&["example.com", "127.0.0.1:8080", "[::1]:9000"]);
        assert!(allows(&some, "https://example.com/a"));
        assert!(allows(&some, "http://EXAMPLE.com:81/"));
        assert!(!allows(&some, "https://api.example.com/"));
        assert!(!allows(&some, "https://example.com.evil.net/"));
        assert!(allows(&some, "http://127.0.0.1:8080/x"));
        assert!(!allows(&some, "http://127.0.0.1:8081/x"));
        assert!(!allows(&some, "http://127.0.0.1/x"));
        assert!(allows(&some, "http://[::1]:9000/"));
        assert!(!allows(&some, "/relative"));
    }

    #[test]
    fn grants_must_be_exact_hosts() {
        assert_eq!(
            HttpGrant::parse("Example.com:443").unwrap(),
            HttpGrant {
                host: "example.com".into(),
                port: Some(443)
            }
        );
        for bad in [
            "*.example.com",
            "",
            "http://example.com/",
            "user@host",
            "a b",
        ] {
            assert!(HttpGrant::parse(bad).is_err(), "{bad}");
        }
    }
}
