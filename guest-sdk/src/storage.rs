//! Dicts and queues the host keeps between calls: Modal's `Dict` and `Queue`, typed.
//!
//! A [`Dict<K, V>`] or [`Queue<T>`] is a handle to an object of the host's store: a named one
//! is shared by every app on the host (Python ones included: keys and values are JSON, as call
//! arguments are) and outlives restarts; an ephemeral one is removed when the handle that made
//! it is dropped. Every operation has a blocking form, which holds the calling instance, and an
//! `_aio` twin, which holds only the calling task. Opening (`from_name`, `ephemeral`,
//! `from_id`) is blocking only: it is one short step.
//!
//! ```ignore
//! use fnhost_guest::{Dict, Error, function};
//!
//! #[function]
//! fn claim(job: u64, worker: String) -> Result<bool, Error> {
//!     let owners = Dict::<u64, String>::from_name("owners", true)?;
//!     // Of racing workers, exactly one claims the job.
//!     owners.put_if_absent(&job, &worker)
//! }
//! ```

use crate::Error;
use crate::bindings::fnhost::runtime::storage;
use crate::decode::decode;
use crate::time::nanos;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::time::Duration;

/// How many entries or items one page of `keys`, `items` or `iterate` reads.
const PAGE: u32 = 100;

/// How long a queue partition lives after its last put unless a put says otherwise (Modal's
/// default, and the most the host takes).
pub const DEFAULT_PARTITION_TTL: Duration = Duration::from_secs(24 * 60 * 60);

fn encode<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|error| Error::Payload(format!("cannot encode {what}: {error}")))
}

/// What a dict's handle is typed by, without owning keys or values.
type Entry<K, V> = fn(K, V) -> (K, V);

/// Entries as the contract passes them: each key and value as JSON.
type EncodedEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// A dict of the host: keys `K` to values `V`, each as JSON.
pub struct Dict<K, V> {
    handle: storage::Dict,
    types: PhantomData<Entry<K, V>>,
}

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> Dict<K, V> {
    /// The dict named `name`, made empty when missing if `create_if_missing`.
    pub fn from_name(name: &str, create_if_missing: bool) -> Result<Self, Error> {
        Ok(Self::wrap(storage::Dict::open(name, create_if_missing)?))
    }

    /// A new dict with no name, removed when this handle is dropped.
    pub fn ephemeral() -> Result<Self, Error> {
        Ok(Self::wrap(storage::Dict::ephemeral()?))
    }

    /// The dict whose id is `id` (from [`Dict::id`], in another function).
    pub fn from_id(id: &str) -> Result<Self, Error> {
        Ok(Self::wrap(storage::Dict::from_id(id)?))
    }

    fn wrap(handle: storage::Dict) -> Self {
        Dict {
            handle,
            types: PhantomData,
        }
    }

    /// Its id (`di-` and 32 hexadecimal digits): Modal's `object_id`.
    pub fn id(&self) -> String {
        self.handle.id()
    }

    /// Its name; `None` for an ephemeral dict.
    pub fn name(&self) -> Option<String> {
        self.handle.name()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &K) -> Result<Option<V>, Error> {
        let found = self.handle.get(&encode("the key", key)?)?;
        found.map(|value| decode("a value", &value)).transpose()
    }

    /// [`Dict::get`], holding only the calling task.
    pub async fn get_aio(&self, key: &K) -> Result<Option<V>, Error> {
        let found = self.handle.get_async(encode("the key", key)?).await?;
        found.map(|value| decode("a value", &value)).transpose()
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &K) -> Result<bool, Error> {
        Ok(self.handle.contains(&encode("the key", key)?)?)
    }

    /// [`Dict::contains`], holding only the calling task.
    pub async fn contains_aio(&self, key: &K) -> Result<bool, Error> {
        Ok(self.handle.contains_async(encode("the key", key)?).await?)
    }

    /// Sets `key` to `value`. Always true (Modal's `put` returns whether it wrote).
    pub fn put(&self, key: &K, value: &V) -> Result<bool, Error> {
        self.put_with(key, value, false)
    }

    /// Sets `key` to `value` only when `key` is absent, atomically: of racing puts, exactly one
    /// writes. Whether this one wrote (Modal's `put(..., skip_if_exists=True)`).
    pub fn put_if_absent(&self, key: &K, value: &V) -> Result<bool, Error> {
        self.put_with(key, value, true)
    }

    fn put_with(&self, key: &K, value: &V, skip_if_exists: bool) -> Result<bool, Error> {
        let (key, value) = (encode("the key", key)?, encode("the value", value)?);
        Ok(self.handle.put(&key, &value, skip_if_exists)?)
    }

    /// [`Dict::put`], holding only the calling task.
    pub async fn put_aio(&self, key: &K, value: &V) -> Result<bool, Error> {
        self.put_with_aio(key, value, false).await
    }

    /// [`Dict::put_if_absent`], holding only the calling task.
    pub async fn put_if_absent_aio(&self, key: &K, value: &V) -> Result<bool, Error> {
        self.put_with_aio(key, value, true).await
    }

    async fn put_with_aio(&self, key: &K, value: &V, skip_if_exists: bool) -> Result<bool, Error> {
        let (key, value) = (encode("the key", key)?, encode("the value", value)?);
        Ok(self.handle.put_async(key, value, skip_if_exists).await?)
    }

    /// Removes `key`, returning its value if it was present.
    pub fn pop(&self, key: &K) -> Result<Option<V>, Error> {
        let popped = self.handle.pop(&encode("the key", key)?)?;
        popped.map(|value| decode("a value", &value)).transpose()
    }

    /// [`Dict::pop`], holding only the calling task.
    pub async fn pop_aio(&self, key: &K) -> Result<Option<V>, Error> {
        let popped = self.handle.pop_async(encode("the key", key)?).await?;
        popped.map(|value| decode("a value", &value)).transpose()
    }

    /// Sets every entry of `entries`, all or none.
    pub fn update<'a>(&self, entries: impl IntoIterator<Item = (&'a K, &'a V)>) -> Result<(), Error>
    where
        K: 'a,
        V: 'a,
    {
        Ok(self.handle.update(&encode_entries(entries)?)?)
    }

    /// [`Dict::update`], holding only the calling task.
    pub async fn update_aio<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a K, &'a V)>,
    ) -> Result<(), Error>
    where
        K: 'a,
        V: 'a,
    {
        Ok(self.handle.update_async(encode_entries(entries)?).await?)
    }

    /// How many entries it holds.
    pub fn len(&self) -> Result<u64, Error> {
        Ok(self.handle.len()?)
    }

    /// [`Dict::len`], holding only the calling task.
    pub async fn len_aio(&self) -> Result<u64, Error> {
        Ok(self.handle.len_async().await?)
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len()? == 0)
    }

    /// Removes every entry.
    pub fn clear(&self) -> Result<(), Error> {
        Ok(self.handle.clear()?)
    }

    /// [`Dict::clear`], holding only the calling task.
    pub async fn clear_aio(&self) -> Result<(), Error> {
        Ok(self.handle.clear_async().await?)
    }

    /// Its entries in key order (of their JSON), read a page at a time.
    pub fn items(&self) -> impl Iterator<Item = Result<(K, V), Error>> + '_ {
        let mut after: Option<Vec<u8>> = None;
        let mut page = EncodedEntries::new().into_iter();
        let mut done = false;
        std::iter::from_fn(move || {
            loop {
                if let Some((key, value)) = page.next() {
                    let entry = decode_entry(&key, &value);
                    after = Some(key);
                    return Some(entry);
                }
                if done {
                    return None;
                }
                match self.handle.entries(after.as_deref(), PAGE) {
                    Ok(next) => {
                        done = next.len() < PAGE as usize;
                        page = next.into_iter();
                    }
                    Err(error) => {
                        done = true;
                        return Some(Err(error.into()));
                    }
                }
            }
        })
    }

    /// Its keys in order, read a page at a time.
    pub fn keys(&self) -> impl Iterator<Item = Result<K, Error>> + '_ {
        self.items().map(|entry| entry.map(|(key, _)| key))
    }

    /// Its values in key order, read a page at a time.
    pub fn values(&self) -> impl Iterator<Item = Result<V, Error>> + '_ {
        self.items().map(|entry| entry.map(|(_, value)| value))
    }

    /// Every entry, read with the calling task only: [`Dict::items`] collected.
    pub async fn items_aio(&self) -> Result<Vec<(K, V)>, Error> {
        let mut items = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.handle.entries_async(after.clone(), PAGE).await?;
            let last = page.len() < PAGE as usize;
            for (key, value) in page {
                items.push(decode_entry(&key, &value)?);
                after = Some(key);
            }
            if last {
                return Ok(items);
            }
        }
    }
}

fn decode_entry<K: DeserializeOwned, V: DeserializeOwned>(
    key: &[u8],
    value: &[u8],
) -> Result<(K, V), Error> {
    Ok((decode("a key", key)?, decode("a value", value)?))
}

fn encode_entries<'a, K: Serialize + 'a, V: Serialize + 'a>(
    entries: impl IntoIterator<Item = (&'a K, &'a V)>,
) -> Result<EncodedEntries, Error> {
    entries
        .into_iter()
        .map(|(key, value)| Ok((encode("a key", key)?, encode("a value", value)?)))
        .collect()
}

/// Where and how long a queue operation waits.
#[derive(Debug, Clone, Default)]
pub struct QueueOptions {
    /// The partition (1 to 64 characters); the default partition when `None`.
    pub partition: Option<String>,
    /// How long to wait for an item (a get) or for room (a put): `None` as long as it takes,
    /// `Some(Duration::ZERO)` not at all (Modal's `block=False`).
    pub timeout: Option<Duration>,
    /// How long the partition lives after this put; [`DEFAULT_PARTITION_TTL`] when `None`.
    pub partition_ttl: Option<Duration>,
}

impl QueueOptions {
    /// In `partition`, otherwise as `self`.
    pub fn partition(mut self, partition: &str) -> Self {
        self.partition = Some(partition.to_owned());
        self
    }

    /// Waiting at most `timeout`, otherwise as `self`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn ttl_secs(&self) -> u32 {
        let ttl = self
            .partition_ttl
            .unwrap_or(DEFAULT_PARTITION_TTL)
            .as_secs();
        u32::try_from(ttl).unwrap_or(u32::MAX)
    }
}

/// A queue of the host: partitions of items `T`, each first in, first out. Each item is
/// returned to exactly one getter.
pub struct Queue<T> {
    handle: storage::Queue,
    types: PhantomData<fn(T) -> T>,
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// The queue named `name`, made empty when missing if `create_if_missing`.
    pub fn from_name(name: &str, create_if_missing: bool) -> Result<Self, Error> {
        Ok(Self::wrap(storage::Queue::open(name, create_if_missing)?))
    }

    /// A new queue with no name, removed when this handle is dropped.
    pub fn ephemeral() -> Result<Self, Error> {
        Ok(Self::wrap(storage::Queue::ephemeral()?))
    }

    /// The queue whose id is `id` (from [`Queue::id`], in another function).
    pub fn from_id(id: &str) -> Result<Self, Error> {
        Ok(Self::wrap(storage::Queue::from_id(id)?))
    }

    fn wrap(handle: storage::Queue) -> Self {
        Queue {
            handle,
            types: PhantomData,
        }
    }

    /// Its id (`qu-` and 32 hexadecimal digits): Modal's `object_id`.
    pub fn id(&self) -> String {
        self.handle.id()
    }

    /// Its name; `None` for an ephemeral queue.
    pub fn name(&self) -> Option<String> {
        self.handle.name()
    }

    /// Appends `item` to the default partition, waiting for room as long as it takes.
    pub fn put(&self, item: &T) -> Result<(), Error> {
        self.put_many(std::slice::from_ref(item), &QueueOptions::default())
    }

    /// Appends `items`, all or none, as `options` say; a full partition past the timeout is
    /// [`StorageError::Full`](crate::StorageError::Full).
    pub fn put_many(&self, items: &[T], options: &QueueOptions) -> Result<(), Error> {
        let items = encode_items(items)?;
        let timeout = options.timeout.map(nanos);
        let partition = options.partition.as_deref();
        Ok(self
            .handle
            .put(&items, partition, options.ttl_secs(), timeout)?)
    }

    /// [`Queue::put`], holding only the calling task.
    pub async fn put_aio(&self, item: &T) -> Result<(), Error> {
        self.put_many_aio(std::slice::from_ref(item), &QueueOptions::default())
            .await
    }

    /// [`Queue::put_many`], holding only the calling task.
    pub async fn put_many_aio(&self, items: &[T], options: &QueueOptions) -> Result<(), Error> {
        let items = encode_items(items)?;
        let timeout = options.timeout.map(nanos);
        let (partition, ttl) = (options.partition.clone(), options.ttl_secs());
        Ok(self
            .handle
            .put_async(items, partition, ttl, timeout)
            .await?)
    }

    /// Removes and returns the oldest item, waiting as `options` say: `None` when none came.
    pub fn get(&self, options: &QueueOptions) -> Result<Option<T>, Error> {
        Ok(self.get_many(1, options)?.pop())
    }

    /// Removes and returns up to `n` of the oldest items, waiting while there is none as
    /// `options` say: empty when none came.
    pub fn get_many(&self, n: u32, options: &QueueOptions) -> Result<Vec<T>, Error> {
        let timeout = options.timeout.map(nanos);
        let items = self.handle.get(n, options.partition.as_deref(), timeout)?;
        items.iter().map(|item| decode("an item", item)).collect()
    }

    /// [`Queue::get`], holding only the calling task.
    pub async fn get_aio(&self, options: &QueueOptions) -> Result<Option<T>, Error> {
        Ok(self.get_many_aio(1, options).await?.pop())
    }

    /// [`Queue::get_many`], holding only the calling task.
    pub async fn get_many_aio(&self, n: u32, options: &QueueOptions) -> Result<Vec<T>, Error> {
        let timeout = options.timeout.map(nanos);
        let items = self
            .handle
            .get_async(n, options.partition.clone(), timeout)
            .await?;
        items.iter().map(|item| decode("an item", item)).collect()
    }

    /// How many items `partition` holds (the default one when `None`).
    pub fn len(&self, partition: Option<&str>) -> Result<u64, Error> {
        Ok(self.handle.len(partition, false)?)
    }

    /// How many items every partition holds together.
    pub fn len_total(&self) -> Result<u64, Error> {
        Ok(self.handle.len(None, true)?)
    }

    /// [`Queue::len`], holding only the calling task.
    pub async fn len_aio(&self, partition: Option<&str>) -> Result<u64, Error> {
        Ok(self
            .handle
            .len_async(partition.map(str::to_owned), false)
            .await?)
    }

    /// Removes the items of `partition` (the default one when `None`).
    pub fn clear(&self, partition: Option<&str>) -> Result<(), Error> {
        Ok(self.handle.clear(partition, false)?)
    }

    /// Removes the items of every partition.
    pub fn clear_all(&self) -> Result<(), Error> {
        Ok(self.handle.clear(None, true)?)
    }

    /// The items of `partition` (the default one when `None`), oldest first, without removing
    /// them; after the last, waits up to `poll` for another before ending.
    pub fn iterate(
        &self,
        partition: Option<&str>,
        poll: Duration,
    ) -> impl Iterator<Item = Result<T, Error>> + '_ {
        let partition = partition.map(str::to_owned);
        let mut after = None;
        let mut page: std::vec::IntoIter<(u64, Vec<u8>)> = Vec::new().into_iter();
        let mut done = false;
        std::iter::from_fn(move || {
            loop {
                if let Some((number, item)) = page.next() {
                    after = Some(number);
                    return Some(decode("an item", &item));
                }
                if done {
                    return None;
                }
                match self
                    .handle
                    .items(partition.as_deref(), after, PAGE, nanos(poll))
                {
                    Ok(next) => {
                        done = next.is_empty();
                        page = next.into_iter();
                    }
                    Err(error) => {
                        done = true;
                        return Some(Err(error.into()));
                    }
                }
            }
        })
    }
}

fn encode_items<T: Serialize>(items: &[T]) -> Result<Vec<Vec<u8>>, Error> {
    items.iter().map(|item| encode("an item", item)).collect()
}
