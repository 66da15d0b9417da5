//! A dict on JetStream: one key-value bucket per dict (`fnhost-dict-<hex>`), its name in the
//! bucket's description, each key base64url of its canonical JSON.
//!
//! Atomicity comes from the server: `put(skip_if_exists)` is KV's `create` (one of racing
//! creates wins), `modify` and `pop` write with the revision they read (`update`,
//! `delete_expect_revision`) and read again when another writer came between.
//!
//! Differences from the host's store, each documented in docs/storage.md: an entry lives
//! `dict_entry_ttl` after its last *write* (the bucket's `max_age`; a read does not renew it);
//! `update` writes entry by entry, not all or none; `len` and `entries` read every key (a
//! consumer over the bucket), so they cost in proportion to the dict; a key's JSON is at most
//! [`MAX_KEY_BYTES`] (it travels in a subject) and a value at most the server's `max_payload`.

use crate::names;
use crate::state::{StateInner, described_stream, unavailable};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use fnhost::StorageError;
use fnhost::remote::{Change, RemoteDict, RemoteFuture};
use futures::{StreamExt, TryStreamExt};

/// The largest key of a dict on a cluster, in bytes of its JSON: it travels base64url-encoded
/// in a subject, which the server takes up to its control line (4 KiB).
pub const MAX_KEY_BYTES: usize = 1024;

/// Reads of one entry a `modify` or `pop` makes before it gives up on a key other writers
/// keep changing.
const MAX_ATTEMPTS: usize = 1000;

/// What the description of a dict's bucket starts with; its name follows.
const DESCRIBED: &str = "fnhost dict: ";

/// A dict kept in a bucket.
pub(crate) struct KvDict {
    kv: kv::Store,
    id: String,
    name: Option<String>,
    /// Whether this handle made it as an ephemeral dict: its drop removes the bucket.
    owned: bool,
    /// The largest value the server takes.
    max_value: usize,
    jetstream: jetstream::Context,
}

impl KvDict {
    /// Makes the bucket of a new dict `id`.
    pub(crate) async fn make(
        state: &StateInner,
        id: String,
        name: Option<&str>,
        owned: bool,
    ) -> Result<KvDict, StorageError> {
        let kv = state
            .jetstream
            .create_key_value(kv::Config {
                bucket: names::dict_bucket(&id),
                description: format!("{DESCRIBED}{}", name.unwrap_or("")),
                history: 1,
                max_age: state.entry_ttl(),
                ..Default::default()
            })
            .await
            .map_err(unavailable("making a dict's bucket"))?;
        Ok(KvDict::new(state, kv, id, name.map(str::to_owned), owned))
    }

    /// The dict `id`, if its bucket exists.
    pub(crate) async fn open(state: &StateInner, id: &str) -> Result<Option<KvDict>, StorageError> {
        let bucket = names::dict_bucket(id);
        let found = described_stream(&state.jetstream, format!("KV_{bucket}"), DESCRIBED).await?;
        let Some((_, name)) = found else {
            return Ok(None);
        };
        let kv = state
            .jetstream
            .get_key_value(bucket)
            .await
            .map_err(unavailable("opening a dict"))?;
        Ok(Some(KvDict::new(state, kv, id.to_owned(), name, false)))
    }

    fn new(
        state: &StateInner,
        kv: kv::Store,
        id: String,
        name: Option<String>,
        owned: bool,
    ) -> KvDict {
        KvDict {
            kv,
            id,
            name,
            owned,
            max_value: state.client.server_info().max_payload.saturating_sub(1024),
            jetstream: state.jetstream.clone(),
        }
    }

    /// The KV key of a canonical JSON key.
    fn key(&self, key: &[u8]) -> Result<String, StorageError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(StorageError::TooLarge(format!(
                "a key of {} bytes; a cluster's dict keys are at most {MAX_KEY_BYTES} bytes of JSON",
                key.len()
            )));
        }
        Ok(names::token(key))
    }

    fn check_value(&self, value: &[u8]) -> Result<(), StorageError> {
        if value.len() > self.max_value {
            return Err(StorageError::TooLarge(format!(
                "a value of {} bytes; the cluster's NATS server takes at most {} (its max_payload)",
                value.len(),
                self.max_value
            )));
        }
        Ok(())
    }

    /// The entry of `key` when it holds a value.
    async fn live_entry(&self, key: &str) -> Result<Option<kv::Entry>, StorageError> {
        let entry = self.kv.entry(key).await;
        let entry = entry.map_err(unavailable("reading a dict entry"))?;
        Ok(entry.filter(|entry| entry.operation == kv::Operation::Put))
    }

    async fn get(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>, StorageError> {
        let key = self.key(&key)?;
        let value = self.kv.get(key).await;
        Ok(value
            .map_err(unavailable("reading a dict entry"))?
            .map(|value| value.to_vec()))
    }

    async fn put(
        &self,
        key: Vec<u8>,
        value: Vec<u8>,
        skip_if_exists: bool,
    ) -> Result<bool, StorageError> {
        let key = self.key(&key)?;
        self.check_value(&value)?;
        if !skip_if_exists {
            let put = self.kv.put(key, value.into()).await;
            put.map_err(unavailable("writing a dict entry"))?;
            return Ok(true);
        }
        match self.kv.create(key, value.into()).await {
            Ok(_) => Ok(true),
            Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(unavailable("writing a dict entry")(error)),
        }
    }

    async fn modify(&self, key: Vec<u8>, mut change: Change) -> Result<(), StorageError> {
        let key = self.key(&key)?;
        for _ in 0..MAX_ATTEMPTS {
            let entry = self.kv.entry(key.as_str()).await;
            let entry = entry.map_err(unavailable("reading a dict entry"))?;
            let live = entry
                .as_ref()
                .filter(|entry| entry.operation == kv::Operation::Put)
                .map(|entry| &entry.value[..]);
            let Some(new) = change(live)? else {
                return Ok(());
            };
            self.check_value(&new)?;
            if self.write_if_unchanged(&key, entry, new.into()).await? {
                return Ok(());
            }
        }
        Err(contended(MAX_ATTEMPTS))
    }

    /// Writes `new` to `key` if its last change is still `seen` (`None`: there was none);
    /// whether it wrote.
    async fn write_if_unchanged(
        &self,
        key: &str,
        seen: Option<kv::Entry>,
        new: Bytes,
    ) -> Result<bool, StorageError> {
        let written = match seen {
            Some(entry) => self
                .kv
                .update(key, new, entry.revision)
                .await
                .map(drop)
                .map_err(|error| {
                    (
                        error.kind() == kv::UpdateErrorKind::WrongLastRevision,
                        error.to_string(),
                    )
                }),
            None => self.kv.create(key, new).await.map(drop).map_err(|error| {
                (
                    error.kind() == kv::CreateErrorKind::AlreadyExists,
                    error.to_string(),
                )
            }),
        };
        match written {
            Ok(()) => Ok(true),
            Err((true, _)) => Ok(false),
            Err((false, error)) => Err(unavailable("writing a dict entry")(error)),
        }
    }

    async fn pop(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>, StorageError> {
        let key = self.key(&key)?;
        for _ in 0..MAX_ATTEMPTS {
            let Some(entry) = self.live_entry(&key).await? else {
                return Ok(None);
            };
            let deleted = self
                .kv
                .delete_expect_revision(key.as_str(), Some(entry.revision))
                .await;
            match deleted {
                Ok(()) => return Ok(Some(entry.value.to_vec())),
                Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {}
                Err(error) => return Err(unavailable("removing a dict entry")(error)),
            }
        }
        Err(contended(MAX_ATTEMPTS))
    }

    async fn update(&self, entries: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), StorageError> {
        let mut checked = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            self.check_value(&value)?;
            checked.push((self.key(&key)?, Bytes::from(value)));
        }
        futures::stream::iter(checked)
            .map(|(key, value)| async move { self.kv.put(key, value).await })
            .buffer_unordered(64)
            .try_collect::<Vec<_>>()
            .await
            .map_err(unavailable("writing dict entries"))?;
        Ok(())
    }

    /// Every key (as stored) that holds a value.
    async fn keys(&self) -> Result<Vec<String>, StorageError> {
        let keys = self.kv.keys().await;
        keys.map_err(unavailable("listing a dict's keys"))?
            .try_collect()
            .await
            .map_err(unavailable("listing a dict's keys"))
    }

    async fn clear(&self) -> Result<(), StorageError> {
        let purged = self.kv.stream.purge().await;
        purged.map_err(unavailable("clearing a dict"))?;
        Ok(())
    }

    async fn entries(
        &self,
        after: Option<Vec<u8>>,
        limit: u32,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        let mut keys: Vec<Vec<u8>> = self
            .keys()
            .await?
            .iter()
            .filter_map(|key| names::untoken(key))
            .filter(|key| after.as_ref().is_none_or(|after| key > after))
            .collect();
        keys.sort();
        keys.truncate(usize::try_from(limit.min(fnhost::MAX_PAGE)).unwrap_or(usize::MAX));
        let found: Vec<Option<(Vec<u8>, Vec<u8>)>> = futures::stream::iter(keys)
            .map(|key| async move {
                let value = self.kv.get(names::token(&key)).await?;
                Ok::<_, kv::EntryError>(value.map(|value| (key, value.to_vec())))
            })
            .buffered(64)
            .try_collect()
            .await
            .map_err(unavailable("reading a dict's entries"))?;
        Ok(found.into_iter().flatten().collect())
    }
}

impl RemoteDict for KvDict {
    fn id(&self) -> &str {
        &self.id
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn get(&self, key: Vec<u8>) -> RemoteFuture<'_, Option<Vec<u8>>> {
        Box::pin(KvDict::get(self, key))
    }

    fn put(&self, key: Vec<u8>, value: Vec<u8>, skip_if_exists: bool) -> RemoteFuture<'_, bool> {
        Box::pin(KvDict::put(self, key, value, skip_if_exists))
    }

    fn modify(&self, key: Vec<u8>, change: Change) -> RemoteFuture<'_, ()> {
        Box::pin(KvDict::modify(self, key, change))
    }

    fn pop(&self, key: Vec<u8>) -> RemoteFuture<'_, Option<Vec<u8>>> {
        Box::pin(KvDict::pop(self, key))
    }

    fn update(&self, entries: Vec<(Vec<u8>, Vec<u8>)>) -> RemoteFuture<'_, ()> {
        Box::pin(KvDict::update(self, entries))
    }

    fn count(&self) -> RemoteFuture<'_, u64> {
        Box::pin(async move { Ok(self.keys().await?.len() as u64) })
    }

    fn clear(&self) -> RemoteFuture<'_, ()> {
        Box::pin(KvDict::clear(self))
    }

    fn entries(
        &self,
        after: Option<Vec<u8>>,
        limit: u32,
    ) -> RemoteFuture<'_, Vec<(Vec<u8>, Vec<u8>)>> {
        Box::pin(KvDict::entries(self, after, limit))
    }
}

impl Drop for KvDict {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let (jetstream, bucket) = (self.jetstream.clone(), names::dict_bucket(&self.id));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = jetstream.delete_key_value(&bucket).await {
                    tracing::warn!(%bucket, %error, "an ephemeral dict stays on the NATS server");
                }
            });
        }
    }
}

fn contended(attempts: usize) -> StorageError {
    StorageError::Unavailable(format!(
        "the entry changed under each of {attempts} attempts to change it: too many writers"
    ))
}
