//! `manifest.json`: the deployed apps, by name, with their version and components.
//!
//! Invariant: what is read back is checked as a request would be (app names, component ids),
//! so a hand-edited manifest cannot make the server open a path outside its state.

use crate::DeploySettings;
use crate::ServerError;
use crate::state::MAX_STATE_FILE;
use crate::state::atomic;
use crate::state::components::check_id;
use crate::state::files::read_regular;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// The deployed apps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// The apps, by name.
    pub(crate) apps: BTreeMap<String, Deployment>,
}

/// One deployed app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Deployment {
    /// 1 at the first deploy, one more at each redeploy.
    pub(crate) version: u64,
    /// Its components' SHA-256s, in the order given.
    pub(crate) components: Vec<String>,
    /// When this version was deployed (RFC 3339).
    pub(crate) deployed_at: String,
    /// Its grants and option overrides.
    #[serde(flatten)]
    pub(crate) settings: DeploySettings,
}

impl Deployment {
    /// When this version was deployed (what a schedule's period counts from); now for a
    /// record whose time does not read.
    pub(crate) fn deployed_time(&self) -> SystemTime {
        humantime::parse_rfc3339(&self.deployed_at).unwrap_or_else(|_| SystemTime::now())
    }
}

impl Manifest {
    /// Reads the manifest at `path`; an empty one when there is none yet.
    pub(crate) fn read(path: &Path) -> Result<Manifest, ServerError> {
        let bytes =
            match read_regular(path, MAX_STATE_FILE).map_err(ServerError::io("read", path))? {
                Some(bytes) => bytes,
                None => return Ok(Manifest::default()),
            };
        let corrupt = |source| ServerError::Corrupt {
            path: path.to_owned(),
            source,
        };
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(corrupt)?;
        for (name, deployment) in &manifest.apps {
            let invalid = fnhost::check_app_name(name)
                .map_err(|error| error.message().to_owned())
                .and_then(|()| {
                    deployment
                        .components
                        .iter()
                        .try_for_each(|id| check_id(id).map_err(|error| error.to_string()))
                });
            if let Err(reason) = invalid {
                return Err(corrupt(serde::de::Error::custom(reason)));
            }
        }
        Ok(manifest)
    }

    /// Writes the manifest to `path`, atomically.
    pub(crate) fn write(&self, path: &Path) -> Result<(), ServerError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|source| ServerError::Corrupt {
            path: path.to_owned(),
            source,
        })?;
        bytes.push(b'\n');
        atomic::write(path, &bytes).map_err(ServerError::io("write", path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        Deployment {
            version: 3,
            components: vec!["a".repeat(64)],
            deployed_at: "2025-01-01T00:00:00Z".into(),
            settings: DeploySettings {
                allow_http: vec!["127.0.0.1:8080".into()],
                env: [("GREETING".to_owned(), "hi".to_owned())].into(),
                dirs: vec![crate::DirSetting {
                    host: "/srv/data".into(),
                    guest: "/data".into(),
                    read_only: true,
                }],
                options: [(
                    "f".to_owned(),
                    [("timeout".to_owned(), "5s".to_owned())].into(),
                )]
                .into(),
            },
        }
    }

    #[test]
    fn a_manifest_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        assert_eq!(Manifest::read(&path).unwrap(), Manifest::default());
        let mut manifest = Manifest::default();
        manifest.apps.insert("hello".into(), deployment());
        manifest.write(&path).unwrap();
        assert_eq!(Manifest::read(&path).unwrap(), manifest);
    }

    #[test]
    fn a_manifest_naming_paths_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        let mut manifest = Manifest::default();
        manifest.apps.insert("../etc".into(), deployment());
        manifest.write(&path).unwrap();
        assert!(matches!(
            Manifest::read(&path),
            Err(ServerError::Corrupt { .. })
        ));
        let mut manifest = Manifest::default();
        let mut bad = deployment();
        bad.components = vec!["../../etc/passwd".into()];
        manifest.apps.insert("ok".into(), bad);
        manifest.write(&path).unwrap();
        assert!(matches!(
            Manifest::read(&path),
            Err(ServerError::Corrupt { .. })
        ));
        std::fs::write(&path, b"{\"apps\": ").unwrap();
        assert!(matches!(
            Manifest::read(&path),
            Err(ServerError::Corrupt { .. })
        ));
    }
}
