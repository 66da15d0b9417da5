//! The blocking twins of the typed dicts and queues ([`crate::TypedDict`],
//! [`crate::TypedQueue`]), on the blocking app's runtime.

use crate::api::blocking::App;
use crate::storage::{StorageError, TypedDict, TypedQueue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

/// A dict of keys `K` to values `V`, for blocking callers. See [`crate::TypedDict`].
pub struct Dict<K, V> {
    dict: TypedDict<K, V>,
    runtime: Arc<Runtime>,
}

/// A queue of items `T`, for blocking callers. See [`crate::TypedQueue`].
pub struct Queue<T> {
    queue: TypedQueue<T>,
    runtime: Arc<Runtime>,
}

impl App {
    /// The dict `name` of the app's host (every app of the host shares it), made when missing
    /// if `create_if_missing`, else `not-found`.
    pub fn dict<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned>(
        &self,
        name: &str,
        create_if_missing: bool,
    ) -> Result<Dict<K, V>, StorageError> {
        let storage = self.app.host().storage()?;
        let dict = self
            .runtime
            .block_on(storage.dict(name, create_if_missing))?;
        Ok(Dict {
            dict: dict.typed(),
            runtime: Arc::clone(&self.runtime),
        })
    }

    /// The queue `name` of the app's host, made when missing if `create_if_missing`, else
    /// `not-found`.
    pub fn queue<T: Serialize + DeserializeOwned>(
        &self,
        name: &str,
        create_if_missing: bool,
    ) -> Result<Queue<T>, StorageError> {
        let storage = self.app.host().storage()?;
        let queue = self
            .runtime
            .block_on(storage.queue(name, create_if_missing))?;
        Ok(Queue {
            queue: queue.typed(),
            runtime: Arc::clone(&self.runtime),
        })
    }
}

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> Dict<K, V> {
    /// The value of `key`; `None` when absent.
    pub fn get(&self, key: &K) -> Result<Option<V>, StorageError> {
        self.runtime.block_on(self.dict.get(key))
    }

    /// Sets `key` to `value`.
    pub fn put(&self, key: &K, value: &V) -> Result<(), StorageError> {
        self.runtime.block_on(self.dict.put(key, value))
    }

    /// Sets `key` to `value` only when `key` is absent, atomically; whether it wrote.
    pub fn put_if_absent(&self, key: &K, value: &V) -> Result<bool, StorageError> {
        self.runtime.block_on(self.dict.put_if_absent(key, value))
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &K) -> Result<bool, StorageError> {
        self.runtime.block_on(self.dict.contains(key))
    }

    /// Removes `key` and returns its value; `None` when absent.
    pub fn pop(&self, key: &K) -> Result<Option<V>, StorageError> {
        self.runtime.block_on(self.dict.pop(key))
    }

    /// How many entries it holds.
    pub fn len(&self) -> Result<u64, StorageError> {
        self.runtime.block_on(self.dict.len())
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> Result<bool, StorageError> {
        self.runtime.block_on(self.dict.is_empty())
    }

    /// Removes every entry.
    pub fn clear(&self) -> Result<(), StorageError> {
        self.runtime.block_on(self.dict.clear())
    }

    /// Every entry, in key order (of the keys' JSON).
    pub fn items(&self) -> Result<Vec<(K, V)>, StorageError> {
        self.runtime.block_on(self.dict.items())
    }
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// Appends `item`, waiting for room at most `timeout` (`None`: as long as it takes).
    pub fn put(&self, item: &T, timeout: Option<Duration>) -> Result<(), StorageError> {
        self.runtime.block_on(self.queue.put(item, timeout))
    }

    /// Appends `items` to `partition` (the default one when `None`).
    pub fn put_many(
        &self,
        items: &[T],
        partition: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<(), StorageError> {
        self.runtime
            .block_on(self.queue.put_many(items, partition, timeout))
    }

    /// Removes and returns the oldest item, waiting for one at most `timeout`.
    pub fn get(&self, timeout: Option<Duration>) -> Result<Option<T>, StorageError> {
        self.runtime.block_on(self.queue.get(timeout))
    }

    /// Removes and returns up to `n` items of `partition`, waiting for the first at most
    /// `timeout`.
    pub fn get_many(
        &self,
        n: u32,
        partition: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<Vec<T>, StorageError> {
        self.runtime
            .block_on(self.queue.get_many(n, partition, timeout))
    }

    /// How many items `partition` holds (the default one when `None`).
    pub fn len(&self, partition: Option<&str>) -> Result<u64, StorageError> {
        self.runtime.block_on(self.queue.len(partition))
    }
}
