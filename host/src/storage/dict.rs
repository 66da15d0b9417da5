//! The dict handle (Modal's `Dict`): JSON keys to JSON values, in the host's store or a
//! cluster's.
//!
//! Invariant: every key and value is checked here, once, before either store sees it — keys made
//! canonical (`limits`), sizes and counts within their limits — so both stores take exactly
//! the same input and a refused operation changes nothing in either.

use crate::storage::error::StorageError;
use crate::storage::limits::{self, MAX_UPDATE_ENTRIES, MAX_VALUE_BYTES};
use crate::storage::remote::RemoteDict;
use crate::storage::store::dict::StoreDict;

use crate::storage::store::dict::Entry;
use std::sync::{Arc, Mutex, PoisonError};

/// A dict: a handle to it by id. Cheap to clone.
#[derive(Clone)]
pub struct Dict {
    backing: Backing,
}

#[derive(Clone)]
enum Backing {
    Store(StoreDict),
    Remote(Arc<dyn RemoteDict>),
}

impl Dict {
    pub(crate) fn in_store(dict: StoreDict) -> Dict {
        Dict {
            backing: Backing::Store(dict),
        }
    }

    pub(crate) fn remote(dict: Arc<dyn RemoteDict>) -> Dict {
        Dict {
            backing: Backing::Remote(dict),
        }
    }

    /// Its id (`di-` and 32 hexadecimal digits).
    pub fn id(&self) -> &str {
        match &self.backing {
            Backing::Store(dict) => dict.id(),
            Backing::Remote(dict) => dict.id(),
        }
    }

    /// Its name; `None` for an ephemeral dict.
    pub fn name(&self) -> Option<&str> {
        match &self.backing {
            Backing::Store(dict) => dict.name(),
            Backing::Remote(dict) => dict.name(),
        }
    }

    /// The value of `key`; `None` when absent.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let key = limits::canonical_key(key)?;
        match &self.backing {
            Backing::Store(dict) => dict.get(key),
            Backing::Remote(dict) => dict.get(key).await,
        }
    }

    /// Whether `key` is present.
    pub async fn contains(&self, key: &[u8]) -> Result<bool, StorageError> {
        Ok(self.get(key).await?.is_some())
    }

    /// Sets `key` to `value`; with `skip_if_exists`, only when `key` is absent, atomically.
    /// Whether it wrote.
    pub async fn put(
        &self,
        key: &[u8],
        value: Vec<u8>,
        skip_if_exists: bool,
    ) -> Result<bool, StorageError> {
        let key = limits::canonical_key(key)?;
        limits::check_size("a value", value.len(), MAX_VALUE_BYTES)?;
        match &self.backing {
            Backing::Store(dict) => dict.put(key, value, skip_if_exists).await,
            Backing::Remote(dict) => dict.put(key, value, skip_if_exists).await,
        }
    }

    /// Reads `key`'s value and sets the value `change` gives (`None`: leaves the entry as it
    /// is), with no other change to the entry between the read and the write; returns what
    /// `change` returns. `change` may run more than once (on a cluster, when another writer came
    /// between); what its last run returned counts. What `wasi:keyvalue`'s `increment` and
    /// compare-and-swap are made of.
    pub async fn modify<T: Send + 'static>(
        &self,
        key: &[u8],
        mut change: impl FnMut(Option<&[u8]>) -> Result<(Option<Vec<u8>>, T), StorageError>
        + Send
        + 'static,
    ) -> Result<T, StorageError> {
        let key = limits::canonical_key(key)?;
        let checked = move |current: Option<&[u8]>| {
            let (new, outcome) = change(current)?;
            if let Some(new) = &new {
                limits::check_size("a value", new.len(), MAX_VALUE_BYTES)?;
            }
            Ok((new, outcome))
        };
        match &self.backing {
            Backing::Store(dict) => dict.modify(key, checked).await,
            Backing::Remote(dict) => {
                let last = Arc::new(Mutex::new(None));
                let kept = Arc::clone(&last);
                let mut checked = checked;
                let change = move |current: Option<&[u8]>| {
                    let (new, outcome) = checked(current)?;
                    *kept.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
                    Ok(new)
                };
                dict.modify(key, Box::new(change)).await?;
                let outcome = last.lock().unwrap_or_else(PoisonError::into_inner).take();
                outcome.ok_or_else(|| {
                    StorageError::Unavailable("a dict change ended without running".into())
                })
            }
        }
    }

    /// Removes `key` and returns its value; `None` when absent.
    pub async fn pop(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let key = limits::canonical_key(key)?;
        match &self.backing {
            Backing::Store(dict) => dict.pop(key).await,
            Backing::Remote(dict) => dict.pop(key).await,
        }
    }

    /// Sets every entry of `entries` (all or none in the host's store).
    pub async fn update(&self, entries: Vec<Entry>) -> Result<(), StorageError> {
        if entries.len() > MAX_UPDATE_ENTRIES {
            return Err(StorageError::TooLarge(format!(
                "an update of {} entries; the limit is {MAX_UPDATE_ENTRIES}",
                entries.len()
            )));
        }
        let entries = entries
            .into_iter()
            .map(|(key, value)| {
                limits::check_size("a value", value.len(), MAX_VALUE_BYTES)?;
                Ok((limits::canonical_key(&key)?, value))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        match &self.backing {
            Backing::Store(dict) => dict.update(entries).await,
            Backing::Remote(dict) => dict.update(entries).await,
        }
    }

    /// How many entries it holds (in the host's store, expired ones count until they are
    /// swept).
    pub async fn len(&self) -> Result<u64, StorageError> {
        match &self.backing {
            Backing::Store(dict) => dict.len(),
            Backing::Remote(dict) => dict.count().await,
        }
    }

    /// Whether it holds no entry.
    pub async fn is_empty(&self) -> Result<bool, StorageError> {
        Ok(self.len().await? == 0)
    }

    /// Removes every entry.
    pub async fn clear(&self) -> Result<(), StorageError> {
        match &self.backing {
            Backing::Store(dict) => dict.clear().await,
            Backing::Remote(dict) => dict.clear().await,
        }
    }

    /// Up to `limit` entries in key order, after `after` (excluded) when given.
    pub async fn entries(
        &self,
        after: Option<&[u8]>,
        limit: u32,
    ) -> Result<Vec<Entry>, StorageError> {
        let after = after.map(limits::canonical_key).transpose()?;
        match &self.backing {
            Backing::Store(dict) => dict.entries(after, limit),
            Backing::Remote(dict) => dict.entries(after, limit).await,
        }
    }
}
