//! Deployments shared by the cluster: components in a JetStream object store (named by their
//! SHA-256), and each app's deployment record in a key-value bucket, keyed by the app's name.
//!
//! A record is the server's (its JSON, with a `version` field the cluster counts): a deploy on
//! any host writes version N+1 over version N with a compare-and-set on the key's revision, so
//! two hosts deploying one app at once get two versions, never one lost. Every host watches the
//! bucket from its last value per key, so a host joining later is handed every app deployed,
//! and applies each change (see [`Change`]); an undeploy deletes the key.
//!
//! Invariant: a component is stored before the record naming it, so a host that hears a
//! record always finds its components.

use crate::error::ClusterError;
use crate::names::{APPS, COMPONENTS};
use async_nats::jetstream::kv::{self, Operation, UpdateErrorKind};
use async_nats::jetstream::object_store::{self, InfoErrorKind};
use async_nats::jetstream::stream::StorageType;
use futures::StreamExt;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

/// How long the watch waits before it is made again after it ended.
const REWATCH_DELAY: Duration = Duration::from_millis(500);

/// A change of the cluster's deployments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `app` is deployed as `record` (the server's JSON, with its `version`).
    Deployed {
        /// The app's name.
        app: String,
        /// Its deployment record.
        record: Vec<u8>,
    },
    /// `app` was undeployed.
    Removed {
        /// The app's name.
        app: String,
    },
}

/// The components and the deployment records.
pub(crate) struct Deployments {
    pub(crate) apps: kv::Store,
    pub(crate) components: object_store::ObjectStore,
}

impl Deployments {
    /// Stores component `id` (its SHA-256, checked by the caller) unless it is stored.
    pub(crate) async fn put_component(&self, id: &str, bytes: &[u8]) -> Result<(), ClusterError> {
        match self.components.info(id).await {
            Ok(_) => return Ok(()),
            Err(error) if error.kind() == InfoErrorKind::NotFound => {}
            Err(error) => {
                return Err(ClusterError::jetstream(format!("look up component {id}"))(
                    error.to_string(),
                ));
            }
        }
        let mut reader = bytes;
        self.components
            .put(id, &mut reader)
            .await
            .map(drop)
            .map_err(|error| {
                ClusterError::jetstream(format!("store component {id}"))(error.to_string())
            })
    }

    /// The bytes of component `id`.
    pub(crate) async fn component(&self, id: &str) -> Result<Vec<u8>, ClusterError> {
        let fetch = |error: String| ClusterError::jetstream(format!("fetch component {id}"))(error);
        let mut object = self
            .components
            .get(id)
            .await
            .map_err(|error| fetch(error.to_string()))?;
        // Never more than the host would load: what the store holds is not trusted to be small.
        let mut bytes = Vec::new();
        (&mut object)
            .take(fnhost::MAX_COMPONENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| fetch(error.to_string()))?;
        if bytes.len() as u64 > fnhost::MAX_COMPONENT_BYTES {
            return Err(fetch(format!(
                "larger than a component may be ({} bytes)",
                fnhost::MAX_COMPONENT_BYTES
            )));
        }
        Ok(bytes)
    }

    /// Writes the next version of `app`'s record, made by `record` from its number; returns
    /// the number.
    pub(crate) async fn publish(
        &self,
        app: &str,
        record: impl Fn(u64) -> Vec<u8>,
    ) -> Result<u64, ClusterError> {
        let failed = |error: String| ClusterError::jetstream(format!("deploy `{app}`"))(error);
        loop {
            let current = self
                .apps
                .entry(app)
                .await
                .map_err(|error| failed(error.to_string()))?;
            let (version, revision) = match &current {
                Some(entry) if entry.operation == Operation::Put => {
                    (version_of(&entry.value).saturating_add(1), entry.revision)
                }
                // Deleted (or purged) keys are written over at their revision.
                Some(entry) => (1, entry.revision),
                None => (1, 0),
            };
            let written = self
                .apps
                .update(app, record(version).into(), revision)
                .await;
            match written {
                Ok(_) => return Ok(version),
                // Another host deployed meanwhile: count from its version.
                Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => continue,
                Err(error) => return Err(failed(error.to_string())),
            }
        }
    }

    /// Removes `app`'s record: every host undeploys it.
    pub(crate) async fn remove(&self, app: &str) -> Result<(), ClusterError> {
        self.apps.delete(app).await.map_err(|error| {
            ClusterError::jetstream(format!("undeploy `{app}`"))(error.to_string())
        })
    }

    /// Hands every record (the last of each app first, then each change) to `changes`, for as
    /// long as the receiver is there; the watch is made again whenever it ends.
    pub(crate) async fn watch(&self, changes: mpsc::UnboundedSender<Change>) {
        loop {
            match self.apps.watch_with_history(">").await {
                Ok(mut entries) => {
                    while let Some(entry) = entries.next().await {
                        let change = match entry {
                            Ok(entry) if entry.operation == Operation::Put => Change::Deployed {
                                app: entry.key,
                                record: entry.value.to_vec(),
                            },
                            Ok(entry) => Change::Removed { app: entry.key },
                            Err(error) => {
                                tracing::debug!(%error, "the watch of deployments failed");
                                break;
                            }
                        };
                        if changes.send(change).is_err() {
                            return;
                        }
                    }
                }
                Err(error) => tracing::debug!(%error, "cannot watch deployments"),
            }
            if changes.is_closed() {
                return;
            }
            tokio::time::sleep(REWATCH_DELAY).await;
        }
    }
}

/// The `version` of a record; 0 when it has none.
fn version_of(record: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(record)
        .ok()
        .and_then(|value| value.get("version")?.as_u64())
        .unwrap_or(0)
}

/// The bucket of records: a few versions of each kept, on disk.
pub(crate) fn apps_config() -> kv::Config {
    kv::Config {
        bucket: APPS.into(),
        description: "fnhost: deployed apps, by name".into(),
        history: 5,
        storage: StorageType::File,
        ..Default::default()
    }
}

/// The object store of components, on disk.
pub(crate) fn components_config() -> object_store::Config {
    object_store::Config {
        bucket: COMPONENTS.into(),
        description: Some("fnhost: components, by SHA-256".into()),
        storage: StorageType::File,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_a_version_counts_as_none() {
        assert_eq!(version_of(br#"{"version": 7, "components": []}"#), 7);
        assert_eq!(version_of(b"{}"), 0);
        assert_eq!(version_of(b"not json"), 0);
    }
}
