//! Typed views of a dict and a queue for Rust programs that embed the host: keys, values and
//! items as serde types, encoded as JSON as the SDKs encode them, so a view reads what a Rust
//! or Python function wrote (a pickled Python value fails naming its Python type). The guest
//! SDK's `Dict<K, V>` and `Queue<T>`, and `fnhost_client`'s, have the same methods; the
//! blocking twins are in `api::blocking`.

use crate::storage::dict::Dict;
use crate::storage::error::StorageError;
use crate::storage::limits::MAX_PAGE;
use crate::storage::queue::Queue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::time::Duration;

/// What a typed dict is typed by, without owning keys or values.
type Entry<K, V> = fn(K, V) -> (K, V);

/// A dict of keys `K` to values `V`: [`Dict::typed`]. Cheap to clone.
pub struct TypedDict<K, V> {
    dict: Dict,
    types: PhantomData<Entry<K, V>>,
}

impl<K, V> Clone for TypedDict<K, V> {
    fn clone(&self) -> Self {
        TypedDict {
            dict: self.dict.clone(),
            types: PhantomData,
        }
    }
}

impl Dict {
    /// This dict with keys `K` and values `V`.
    pub fn typed<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned>(
        &self,
    ) -> TypedDict<K, V> {
        TypedDict {
            dict: self.clone(),
            types: PhantomData,
        }
    }
}

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> TypedDict<K, V> {
    /// The dict itself, on JSON bytes.
    pub fn untyped(&self) -> &Dict {
        &self.dict
    }

    /// The value of `key`; `None` when absent.
    pub async fn get(&self, key: &K) -> Result<Option<V>, StorageError> {
        let value = self.dict.get(&encode("a key", key)?).await?;
        value.map(|value| decode("a value", &value)).transpose()
    }

    /// Sets `key` to `value`.
    pub async fn put(&self, key: &K, value: &V) -> Result<(), StorageError> {
        let (key, value) = (encode("a key", key)?, encode("a value", value)?);
        self.dict.put(&key, value, false).await.map(drop)
    }

    /// Sets `key` to `value` only when `key` is absent, atomically; whether it wrote.
    pub async fn put_if_absent(&self, key: &K, value: &V) -> Result<bool, StorageError> {
        let (key, value) = (encode("a key", key)?, encode("a value", value)?);
        self.dict.put(&key, value, true).await
    }

    /// Whether `key` is present.
    pub async fn contains(&self, key: &K) -> Result<bool, StorageError> {
        self.dict.contains(&encode("a key", key)?).await
    }

    /// Removes `key` and returns its value; `None` when absent.
    pub async fn pop(&self, key: &K) -> Result<Option<V>, StorageError> {
        let value = self.dict.pop(&encode("a key", key)?).await?;
        value.map(|value| decode("a value", &value)).transpose()
    }

    /// How many entries it holds.
    pub async fn len(&self) -> Result<u64, StorageError> {
        self.dict.len().await
    }

    /// Whether it holds no entry.
    pub async fn is_empty(&self) -> Result<bool, StorageError> {
        self.dict.is_empty().await
    }

    /// Removes every entry.
    pub async fn clear(&self) -> Result<(), StorageError> {
        self.dict.clear().await
    }

    /// Every entry, in key order (of the keys' JSON).
    pub async fn items(&self) -> Result<Vec<(K, V)>, StorageError> {
        let mut items = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.dict.entries(after.as_deref(), MAX_PAGE).await?;
            let full = page.len() == MAX_PAGE as usize;
            after = page.last().map(|(key, _)| key.clone());
            for (key, value) in page {
                items.push((decode("a key", &key)?, decode("a value", &value)?));
            }
            if !full {
                return Ok(items);
            }
        }
    }
}

/// A queue of items `T`: [`Queue::typed`]. Cheap to clone.
pub struct TypedQueue<T> {
    queue: Queue,
    types: PhantomData<fn(T) -> T>,
}

impl<T> Clone for TypedQueue<T> {
    fn clone(&self) -> Self {
        TypedQueue {
            queue: self.queue.clone(),
            types: PhantomData,
        }
    }
}

impl Queue {
    /// This queue with items `T`.
    pub fn typed<T: Serialize + DeserializeOwned>(&self) -> TypedQueue<T> {
        TypedQueue {
            queue: self.clone(),
            types: PhantomData,
        }
    }
}

/// How long a put's partition lives after it (Modal's default, the longest).
const PARTITION_TTL_SECS: u32 = 24 * 60 * 60;

impl<T: Serialize + DeserializeOwned> TypedQueue<T> {
    /// The queue itself, on JSON bytes.
    pub fn untyped(&self) -> &Queue {
        &self.queue
    }

    /// Appends `item` to the default partition, waiting for room at most `timeout` (`None`: as
    /// long as it takes).
    pub async fn put(&self, item: &T, timeout: Option<Duration>) -> Result<(), StorageError> {
        self.put_many(std::slice::from_ref(item), None, timeout)
            .await
    }

    /// Appends `items` to `partition` (the default one when `None`), all or none on one host,
    /// waiting for room at most `timeout`.
    pub async fn put_many(
        &self,
        items: &[T],
        partition: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<(), StorageError> {
        let items = items
            .iter()
            .map(|item| encode("an item", item))
            .collect::<Result<Vec<_>, _>>()?;
        self.queue
            .put(items, partition, PARTITION_TTL_SECS, timeout)
            .await
    }

    /// Removes and returns the oldest item of the default partition, waiting for one at most
    /// `timeout`: `None` when none came.
    pub async fn get(&self, timeout: Option<Duration>) -> Result<Option<T>, StorageError> {
        Ok(self.get_many(1, None, timeout).await?.pop())
    }

    /// Removes and returns up to `n` items of `partition`, oldest first, waiting for the first
    /// at most `timeout`: empty when none came.
    pub async fn get_many(
        &self,
        n: u32,
        partition: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<Vec<T>, StorageError> {
        let items = self.queue.get(n, partition, timeout).await?;
        items.iter().map(|item| decode("an item", item)).collect()
    }

    /// How many items `partition` holds (the default one when `None`).
    pub async fn len(&self, partition: Option<&str>) -> Result<u64, StorageError> {
        self.queue.len(partition, false).await
    }
}

fn encode(what: &str, value: &impl Serialize) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value)
        .map_err(|error| StorageError::Invalid(format!("cannot encode {what}: {error}")))
}

fn decode<T: DeserializeOwned>(what: &str, payload: &[u8]) -> Result<T, StorageError> {
    fnhost_wire::payload::decode(what, payload).map_err(StorageError::Invalid)
}
