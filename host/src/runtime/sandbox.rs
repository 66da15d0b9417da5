//! What a container may reach of the machine: WASI's defaults, plus what the operator grants.
//!
//! By default a container has no preopened directory (so no filesystem), no environment
//! variables and no network; it has WASI's clocks and random numbers, and its stdout and
//! stderr are forwarded. [`Grants`] add directories (read-write or read-only) and environment
//! variables, for every container of the app, its local entrypoint's included. Network access
//! is never granted.

use crate::LoadError;
use crate::runtime::output::{GuestOutput, Origin, OutputSink, Stream};
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

/// What the operator grants every container of an app beyond WASI's defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grants {
    dirs: Vec<DirGrant>,
    env: Vec<(String, String)>,
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

    /// The WASI context of a container whose output goes to `sink`, from `origin`.
    pub(crate) fn wasi(&self, sink: &Arc<dyn OutputSink>, origin: &Origin) -> WasiCtx {
        let output = |stream| GuestOutput::new(Arc::clone(sink), origin.clone(), stream);
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(output(Stream::Stdout))
            .stderr(output(Stream::Stderr));
        builder.envs(&self.env);
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
