//! The host side of `wasi:keyvalue@0.2.0-draft2` (`wit/keyvalue/`): a component written for
//! Spin's or wasmCloud's key-value reads and writes fnhost's dicts, with no fnhost SDK.
//!
//! A bucket is the dict of the same name (made when missing), shared with every app of the
//! host; keys and values are kept as `values` says, so Python and Rust functions read what a
//! key-value component wrote and the other way round. Every operation runs with the calling
//! store suspended, never past the earliest deadline of the container's inputs, as the
//! contract's blocking storage imports do. `increment` and `swap` are single read-and-write
//! transactions of the store's writer (`Dict::modify`), so racing callers never lose an
//! update; `set-many` is all or none, `get-many` and `delete-many` one key at a time (the
//! proposal promises no atomicity for them).

mod values;

use crate::container::state::ContainerState;
use crate::runtime::bindings::keyvalue::Cas;
use crate::runtime::bindings::keyvalue::wasi::keyvalue::{atomics, batch, store};
use crate::storage::{Dict, StorageError};
use std::future::Future;
use wasmtime::component::Resource;

/// What a key-value import returns: a trap, or the operation's own outcome.
type Kv<T> = wasmtime::Result<Result<T, store::Error>>;

/// How many keys one `list-keys` page holds.
const KEYS_PAGE: u32 = 1000;

fn kv_error(error: StorageError) -> store::Error {
    store::Error::Other(error.to_string())
}

impl ContainerState {
    /// Runs `op` on the dict behind `bucket`, the store suspended meanwhile.
    async fn on_bucket<T, F, Fut>(&mut self, bucket: &Resource<Dict>, op: F) -> Kv<T>
    where
        F: FnOnce(Dict) -> Fut,
        Fut: Future<Output = Result<T, StorageError>>,
    {
        let dict = self.table.get(bucket)?.clone();
        Ok(self.bound(op(dict)).await?.map_err(kv_error))
    }
}

impl store::Host for ContainerState {
    async fn open(&mut self, identifier: String) -> Kv<Resource<Dict>> {
        let storage = match self.storage() {
            Ok(storage) => storage,
            Err(error) => return Ok(Err(kv_error(error))),
        };
        match self
            .bound(async move { storage.dict(&identifier, true).await })
            .await?
        {
            Ok(dict) => Ok(Ok(self.table.push(dict)?)),
            Err(StorageError::Invalid(_) | StorageError::NotFound(_)) => {
                Ok(Err(store::Error::NoSuchStore))
            }
            Err(error) => Ok(Err(kv_error(error))),
        }
    }
}

impl store::HostBucket for ContainerState {
    async fn get(&mut self, bucket: Resource<Dict>, key: String) -> Kv<Option<Vec<u8>>> {
        self.on_bucket(&bucket, |dict| async move {
            let found = dict.get(&values::key_json(&key)).await?;
            Ok(found.as_deref().map(values::value_bytes))
        })
        .await
    }

    async fn set(&mut self, bucket: Resource<Dict>, key: String, value: Vec<u8>) -> Kv<()> {
        self.on_bucket(&bucket, |dict| async move {
            let value = values::value_json(&value);
            dict.put(&values::key_json(&key), value, false)
                .await
                .map(drop)
        })
        .await
    }

    async fn delete(&mut self, bucket: Resource<Dict>, key: String) -> Kv<()> {
        self.on_bucket(&bucket, |dict| async move {
            dict.pop(&values::key_json(&key)).await.map(drop)
        })
        .await
    }

    async fn exists(&mut self, bucket: Resource<Dict>, key: String) -> Kv<bool> {
        self.on_bucket(&bucket, |dict| async move {
            dict.contains(&values::key_json(&key)).await
        })
        .await
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Dict>,
        cursor: Option<String>,
    ) -> Kv<store::KeyResponse> {
        self.on_bucket(&bucket, |dict| async move {
            let page = dict
                .entries(cursor.as_deref().map(str::as_bytes), KEYS_PAGE)
                .await?;
            // The cursor is the last key's JSON: where the next page starts, after it.
            let cursor = (page.len() == KEYS_PAGE as usize)
                .then(|| page.last())
                .flatten()
                .map(|(key, _)| String::from_utf8_lossy(key).into_owned());
            let keys = page.iter().map(|(key, _)| values::key_text(key)).collect();
            Ok(store::KeyResponse { keys, cursor })
        })
        .await
    }

    async fn drop(&mut self, bucket: Resource<Dict>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for ContainerState {
    async fn increment(&mut self, bucket: Resource<Dict>, key: String, delta: i64) -> Kv<i64> {
        self.on_bucket(&bucket, |dict| async move {
            dict.modify(&values::key_json(&key), move |current| {
                let sum = values::integer(current)
                    .and_then(|now| {
                        now.checked_add(delta)
                            .ok_or_else(|| format!("{now} + {delta} overflows 64 bits"))
                    })
                    .map_err(|why| StorageError::Invalid(format!("cannot increment: {why}")))?;
                Ok((Some(sum.to_string().into_bytes()), sum))
            })
            .await
        })
        .await
    }

    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let Cas { dict, key, seen } = self.table.delete(cas)?;
        let new = values::value_json(&value);
        let swapping = dict.clone();
        let swapped = self
            .bound(async move {
                swapping
                    .modify(&key, move |current| match current == seen.as_deref() {
                        true => Ok((Some(new.clone()), Ok(()))),
                        false => Ok((None, Err(current.map(<[u8]>::to_vec)))),
                    })
                    .await
                    .map(|outcome| (key, outcome))
            })
            .await?;
        match swapped {
            Ok((_, Ok(()))) => Ok(Ok(())),
            Ok((key, Err(now))) => {
                let retry = self.table.push(Cas {
                    dict,
                    key,
                    seen: now,
                })?;
                Ok(Err(atomics::CasError::CasFailed(retry)))
            }
            Err(error) => Ok(Err(atomics::CasError::StoreError(kv_error(error)))),
        }
    }
}

impl atomics::HostCas for ContainerState {
    async fn new(&mut self, bucket: Resource<Dict>, key: String) -> Kv<Resource<Cas>> {
        let key = values::key_json(&key);
        let dict = self.table.get(&bucket)?.clone();
        let reading = dict.clone();
        let lookup = key.clone();
        match self
            .bound(async move { reading.get(&lookup).await })
            .await?
        {
            Ok(seen) => Ok(Ok(self.table.push(Cas { dict, key, seen })?)),
            Err(error) => Ok(Err(kv_error(error))),
        }
    }

    async fn current(&mut self, cas: Resource<Cas>) -> Kv<Option<Vec<u8>>> {
        let seen = &self.table.get(&cas)?.seen;
        Ok(Ok(seen.as_deref().map(values::value_bytes)))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for ContainerState {
    async fn get_many(
        &mut self,
        bucket: Resource<Dict>,
        keys: Vec<String>,
    ) -> Kv<Vec<Option<(String, Vec<u8>)>>> {
        self.on_bucket(&bucket, |dict| async move {
            let mut found = Vec::with_capacity(keys.len());
            for key in keys {
                let value = dict.get(&values::key_json(&key)).await?;
                found.push(value.map(|value| (key, values::value_bytes(&value))));
            }
            Ok(found)
        })
        .await
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Dict>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Kv<()> {
        self.on_bucket(&bucket, |dict| async move {
            let entries = key_values
                .iter()
                .map(|(key, value)| (values::key_json(key), values::value_json(value)))
                .collect();
            dict.update(entries).await
        })
        .await
    }

    async fn delete_many(&mut self, bucket: Resource<Dict>, keys: Vec<String>) -> Kv<()> {
        self.on_bucket(&bucket, |dict| async move {
            for key in keys {
                dict.pop(&values::key_json(&key)).await?;
            }
            Ok(())
        })
        .await
    }
}
