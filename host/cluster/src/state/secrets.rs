//! The cluster's secrets: one key-value bucket (`fnhost-secrets`, a secret's name base64url to
//! its values' stored form), and on each host a copy in memory that a watch of the bucket keeps
//! current, so a container starting reads its secrets without waiting on the network.
//!
//! Invariant: values go from the bucket to the copy and from the copy into containers'
//! environments, nowhere else; a listing reads names and keys. A secret written on this host is
//! in its copy when the write returns; on the others, as soon as the watch brings it.

use crate::names::{self, SECRETS};
use crate::state::unavailable;
use async_nats::jetstream::{self, kv};
use fnhost::{SecretListing, SecretValues, StorageError};
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

/// The bucket and this host's copy of it.
pub(crate) struct Secrets {
    kv: kv::Store,
    copy: Arc<RwLock<BTreeMap<String, SecretValues>>>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Secrets {
    /// Opens (or makes) the bucket and starts keeping the copy, filled before this returns.
    pub(crate) async fn open(jetstream: &jetstream::Context) -> Result<Secrets, String> {
        let kv = jetstream
            .create_or_update_key_value(kv::Config {
                bucket: SECRETS.into(),
                description: "fnhost: secrets (values readable by whoever reads this bucket)"
                    .into(),
                history: 1,
                ..Default::default()
            })
            .await
            .map_err(|error| error.to_string())?;
        let mut watch = kv.watch_all().await.map_err(|error| error.to_string())?;
        let copy = Arc::new(RwLock::new(BTreeMap::new()));
        // The watch starts with the last value of every key; the copy is ready once it has
        // them all (none at all when the status says the bucket is empty).
        let held = kv
            .status()
            .await
            .map_err(|error| error.to_string())?
            .values();
        let mut seen = 0;
        while seen < held {
            match watch.next().await {
                Some(Ok(entry)) => {
                    apply(&copy, &entry);
                    seen += 1;
                    if entry.delta == 0 {
                        break;
                    }
                }
                Some(Err(error)) => return Err(error.to_string()),
                None => break,
            }
        }
        let kept = Arc::clone(&copy);
        let watcher = tokio::spawn(async move {
            while let Some(entry) = watch.next().await {
                match entry {
                    Ok(entry) => apply(&kept, &entry),
                    Err(error) => tracing::warn!(%error, "watching the cluster's secrets"),
                }
            }
        });
        Ok(Secrets { kv, copy, watcher })
    }

    /// The secret `name`, from this host's copy.
    pub(crate) fn get(&self, name: &str) -> Result<SecretValues, StorageError> {
        let copy = self.copy.read().unwrap_or_else(PoisonError::into_inner);
        copy.get(name).cloned().ok_or_else(|| {
            let shown: String = name.chars().take(64).collect();
            StorageError::NotFound(format!(
                "no secret named `{shown}` (create it with `fnhost secret create {shown} KEY=VALUE`)"
            ))
        })
    }

    pub(crate) async fn create(
        &self,
        name: &str,
        values: SecretValues,
        overwrite: bool,
    ) -> Result<(), StorageError> {
        let key = names::token(name.as_bytes());
        let row = values.encode().into();
        if overwrite {
            let put = self.kv.put(key, row).await;
            put.map_err(unavailable("keeping a secret"))?;
        } else {
            match self.kv.create(key, row).await {
                Ok(_) => {}
                Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => {
                    return Err(StorageError::Invalid(format!(
                        "a secret named `{name}` exists (replace it with --force)"
                    )));
                }
                Err(error) => return Err(unavailable("keeping a secret")(error)),
            }
        }
        let mut copy = self.copy.write().unwrap_or_else(PoisonError::into_inner);
        copy.insert(name.to_owned(), values);
        Ok(())
    }

    pub(crate) async fn list(&self) -> Result<Vec<SecretListing>, StorageError> {
        let keys = self.kv.keys().await;
        let keys: Vec<String> = keys
            .map_err(unavailable("listing secrets"))?
            .try_collect()
            .await
            .map_err(unavailable("listing secrets"))?;
        let mut listed = Vec::new();
        for key in keys {
            let Some(name) = names::untoken(&key).and_then(|name| String::from_utf8(name).ok())
            else {
                continue;
            };
            let row = self.kv.get(key).await;
            let Some(row) = row.map_err(unavailable("listing secrets"))? else {
                continue;
            };
            let keys = SecretValues::decode(&row)?
                .keys()
                .map(str::to_owned)
                .collect();
            listed.push(SecretListing { name, keys });
        }
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    pub(crate) async fn delete(&self, name: &str) -> Result<bool, StorageError> {
        let key = names::token(name.as_bytes());
        let held = self.kv.get(key.as_str()).await;
        if held.map_err(unavailable("removing a secret"))?.is_none() {
            return Ok(false);
        }
        let deleted = self.kv.delete(key).await;
        deleted.map_err(unavailable("removing a secret"))?;
        let mut copy = self.copy.write().unwrap_or_else(PoisonError::into_inner);
        copy.remove(name);
        Ok(true)
    }
}

impl Drop for Secrets {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Applies one change of the bucket to the copy (a damaged row is left out, and said).
fn apply(copy: &RwLock<BTreeMap<String, SecretValues>>, entry: &kv::Entry) {
    let Some(name) = names::untoken(&entry.key).and_then(|name| String::from_utf8(name).ok())
    else {
        return;
    };
    let mut copy = copy.write().unwrap_or_else(PoisonError::into_inner);
    match entry.operation {
        kv::Operation::Put => match SecretValues::decode(&entry.value) {
            Ok(values) => {
                copy.insert(name, values);
            }
            Err(_) => tracing::warn!(secret = %name, "a secret's stored values are damaged"),
        },
        kv::Operation::Delete | kv::Operation::Purge => {
            copy.remove(&name);
        }
    }
}
