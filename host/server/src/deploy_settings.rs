//! What an operator sets for a deployed app beside its components: the hosts its outgoing
//! HTTP requests may reach, environment variables and host directories granted to its
//! containers (as `wasmtime serve --env`/`--dir` grant them), and overrides of its functions'
//! options (its wasi:http handler's under `incoming-handler`).
//!
//! Invariants: these are part of a deployment, kept in the manifest with its components, so a
//! restart loads the app exactly as it was deployed; a setting that does not apply (a bad
//! host, an unknown option or function, a value out of range, a directory that is missing)
//! fails the deploy, never a later restore alone. A directory is granted only when it lies
//! under one of the server's grantable directories, checked on this machine each time the
//! app is loaded (deploy, restart, a deployment from another host of the cluster): without
//! that, whoever may deploy would read and write every file the server's user can.

use crate::ServerError;
use fnhost::{AppBuilder, FunctionOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Settings of one deployed app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploySettings {
    /// The hosts its containers' outgoing HTTP requests may reach (`HOST` or `HOST:PORT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_http: Vec<String>,
    /// Environment variables set in every container of the app (`--env KEY=VALUE`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Host directories granted to every container of the app (`--dir`, `--dir-ro`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<DirSetting>,
    /// Option overrides by function, then by option, as `--option FUNCTION.OPTION=VALUE`
    /// gives them (`{"incoming-handler": {"timeout": "5s"}}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, BTreeMap<String, String>>,
}

/// A host directory granted to an app's containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirSetting {
    /// The directory on the server's machine.
    pub host: PathBuf,
    /// Where the containers see it.
    pub guest: String,
    /// Whether the containers may only read it.
    #[serde(default)]
    pub read_only: bool,
}

impl DeploySettings {
    /// `builder` with these settings applied, for the app `app`, its directories checked to
    /// lie under one of `grantable` (the server's grantable directories).
    pub(crate) fn apply(
        &self,
        app: &str,
        mut builder: AppBuilder,
        grantable: &[PathBuf],
    ) -> Result<AppBuilder, ServerError> {
        for dir in &self.dirs {
            // The path checked is the one granted: no link swapped in between is followed.
            let resolved = grantable_path(app, &dir.host, grantable)?;
            builder = builder.dir(resolved, &dir.guest, dir.read_only);
        }
        for (key, value) in &self.env {
            check_variable(app, key, value)?;
            builder = builder.env(key, value);
        }
        for grant in &self.allow_http {
            builder = builder
                .allow_http(grant)
                .map_err(|source| ServerError::Load {
                    app: app.to_owned(),
                    source,
                })?;
        }
        for (function, options) in &self.options {
            let mut overrides = FunctionOptions::default();
            for (option, value) in options {
                overrides
                    .set(option, value)
                    .map_err(|reason| ServerError::BadOption {
                        app: app.to_owned(),
                        option: format!("{function}.{option}"),
                        reason,
                    })?;
            }
            builder = builder.options(function, overrides);
        }
        Ok(builder)
    }
}

/// `dir` with its links resolved, refused unless it lies under one of `grantable` (resolved
/// too).
fn grantable_path(app: &str, dir: &Path, grantable: &[PathBuf]) -> Result<PathBuf, ServerError> {
    let refused = |reason: String| ServerError::BadGrant {
        app: app.to_owned(),
        grant: format!("--dir {}", dir.display()),
        reason,
    };
    let resolved = dir
        .canonicalize()
        .map_err(|error| refused(format!("cannot resolve it: {error}")))?;
    let under = grantable.iter().any(|root| {
        root.canonicalize()
            .is_ok_and(|root| resolved.starts_with(root))
    });
    if !under {
        return Err(refused(
            "it is not under a directory this server grants (`fnhost serve --grantable-dir`)"
                .to_owned(),
        ));
    }
    Ok(resolved)
}

/// Refuses a variable a guest's C library would misread: a name empty or holding `=`, or a
/// NUL byte anywhere.
fn check_variable(app: &str, key: &str, value: &str) -> Result<(), ServerError> {
    let reason = if key.is_empty() || key.contains('=') {
        "its name must be non-empty and hold no `=`"
    } else if key.contains('\0') || value.contains('\0') {
        "it holds a NUL byte"
    } else {
        return Ok(());
    };
    Err(ServerError::BadGrant {
        app: app.to_owned(),
        grant: format!("--env {}", key.escape_debug()),
        reason: reason.to_owned(),
    })
}
