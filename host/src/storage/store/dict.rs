//! The store's dicts: canonical JSON keys to JSON values, in the `dict_entries` table. Keys
//! and sizes are checked by the handle ([`crate::Dict`]) before they reach here.
//!
//! Reads run on the calling task; changes go through the writer. An entry carries the time it
//! was last read or written: a read of an entry whose time is older than a seventh of the
//! entry's time to live writes the time again (in the background, so a read never waits on the
//! disk), and an entry past its time to live reads as absent until the sweeper removes it.

use crate::storage::error::StorageError;
use crate::storage::limits::MAX_PAGE;
use crate::storage::store::tables::ObjectKind;
use crate::storage::store::tables::{
    self, COUNTS, ENTRIES, entry_row, id_end, now_ms, split_entry,
};
use crate::storage::store::{Object, Store};
use redb::{ReadableTable, WriteTransaction};

/// A key, value pair, each as JSON.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A dict of the store, by id. Cheap to clone.
#[derive(Clone)]
pub(crate) struct StoreDict {
    object: Object,
}

impl StoreDict {
    pub(crate) fn new(object: Object) -> StoreDict {
        StoreDict { object }
    }

    /// Its id (`di-` and 32 hexadecimal digits).
    pub(crate) fn id(&self) -> &str {
        &self.object.id
    }

    /// Its name; `None` for an ephemeral dict.
    pub(crate) fn name(&self) -> Option<&str> {
        self.object.name.as_deref()
    }

    /// The value of `key`; `None` when absent.
    pub(crate) fn get(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>, StorageError> {
        let txn = self.object.store.read()?;
        let entries = txn.open_table(ENTRIES)?;
        let Some(row) = entries.get((&*self.object.id, key.as_slice()))? else {
            return Ok(None);
        };
        let (accessed, value) = split_entry(row.value());
        if !self.live(accessed, now_ms()) {
            return Ok(None);
        }
        let value = value.to_vec();
        drop(row);
        self.touch(accessed, key);
        Ok(Some(value))
    }

    /// Sets `key` to `value`; with `skip_if_exists`, only when `key` is absent, atomically.
    /// Whether it wrote.
    pub(crate) async fn put(
        &self,
        key: Vec<u8>,
        value: Vec<u8>,
        skip_if_exists: bool,
    ) -> Result<bool, StorageError> {
        self.modify(key, move |current| {
            Ok(match current {
                Some(_) if skip_if_exists => (None, false),
                _ => (Some(value), true),
            })
        })
        .await
    }

    /// Reads `key`'s value and, in the same write transaction, sets the value `change` gives
    /// (`None`: leaves the entry as it is); returns what `change` returns. Atomic: no other
    /// change to the dict comes between the read and the write. What `wasi:keyvalue`'s
    /// `increment` and compare-and-swap are made of.
    pub(crate) async fn modify<T: Send + 'static>(
        &self,
        key: Vec<u8>,
        change: impl FnOnce(Option<&[u8]>) -> Result<(Option<Vec<u8>>, T), StorageError>
        + Send
        + 'static,
    ) -> Result<T, StorageError> {
        let (id, ttl) = (self.object.id.clone(), self.ttl_ms());
        let missing = self.missing();
        self.object
            .store
            .writer()
            .write(move |txn, _| {
                if !tables::exists(txn, &id)? {
                    return Ok(Err(missing));
                }
                let now = now_ms();
                let mut entries = txn.open_table(ENTRIES)?;
                let old = entries
                    .get((&*id, key.as_slice()))?
                    .map(|row| row.value().to_vec());
                let live = old
                    .as_deref()
                    .map(split_entry)
                    .and_then(|(accessed, value)| {
                        (accessed.saturating_add(ttl) > now).then_some(value)
                    });
                let (new, outcome) = match change(live) {
                    Ok(changed) => changed,
                    Err(refused) => return Ok(Err(refused)),
                };
                let Some(new) = new else {
                    return Ok(Ok(outcome));
                };
                entries.insert((&*id, key.as_slice()), entry_row(now, &new).as_slice())?;
                drop(entries);
                if old.is_none() {
                    tables::add_count(txn, &id, 1)?;
                }
                Ok(Ok(outcome))
            })
            .await
    }

    /// Removes `key` and returns its value; `None` when absent.
    pub(crate) async fn pop(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>, StorageError> {
        let (id, ttl) = (self.object.id.clone(), self.ttl_ms());
        self.object
            .store
            .writer()
            .write(move |txn, _| {
                let removed = txn
                    .open_table(ENTRIES)?
                    .remove((&*id, key.as_slice()))?
                    .map(|row| row.value().to_vec());
                let Some(row) = removed else {
                    return Ok(Ok(None));
                };
                tables::add_count(txn, &id, -1)?;
                let (accessed, value) = split_entry(&row);
                let live = accessed.saturating_add(ttl) > now_ms();
                Ok(Ok(live.then(|| value.to_vec())))
            })
            .await
    }

    /// Sets every entry of `entries`, all or none.
    pub(crate) async fn update(&self, entries: Vec<Entry>) -> Result<(), StorageError> {
        let id = self.object.id.clone();
        let missing = self.missing();
        self.object
            .store
            .writer()
            .write(move |txn, _| {
                if !tables::exists(txn, &id)? {
                    return Ok(Err(missing));
                }
                insert_all(txn, &id, &entries)?;
                Ok(Ok(()))
            })
            .await
    }

    /// How many entries it holds (expired ones count until they are swept).
    pub(crate) fn len(&self) -> Result<u64, StorageError> {
        let txn = self.object.store.read()?;
        let counts = txn.open_table(COUNTS)?;
        Ok(counts
            .get(&*self.object.id)?
            .map_or(0, |count| count.value()))
    }

    /// Removes every entry.
    pub(crate) async fn clear(&self) -> Result<(), StorageError> {
        let id = self.object.id.clone();
        self.object
            .store
            .writer()
            .write(move |txn, _| {
                let end = id_end(&id);
                txn.open_table(ENTRIES)?
                    .retain_in((&*id, &[][..])..(end.as_str(), &[][..]), |_, _| false)?;
                txn.open_table(COUNTS)?.remove(&*id)?;
                Ok(Ok(()))
            })
            .await
    }

    /// Up to `limit` entries in key order, after `after` (excluded) when given.
    pub(crate) fn entries(
        &self,
        after: Option<Vec<u8>>,
        limit: u32,
    ) -> Result<Vec<Entry>, StorageError> {
        let limit = usize::try_from(limit.min(MAX_PAGE)).unwrap_or(usize::MAX);
        let (id, end, now) = (&*self.object.id, id_end(&self.object.id), now_ms());
        let txn = self.object.store.read()?;
        let table = txn.open_table(ENTRIES)?;
        let start = after.as_deref().unwrap_or(&[]);
        let mut page = Vec::new();
        for row in table.range((id, start)..(end.as_str(), &[][..]))? {
            let (key, row) = row?;
            let key = key.value().1;
            let (accessed, value) = split_entry(row.value());
            if after.as_deref() == Some(key) || !self.live(accessed, now) {
                continue;
            }
            page.push((key.to_vec(), value.to_vec()));
            if page.len() == limit {
                break;
            }
        }
        Ok(page)
    }

    /// Whether an entry last accessed at `accessed` is alive at `now`.
    fn live(&self, accessed: u64, now: u64) -> bool {
        accessed.saturating_add(self.ttl_ms()) > now
    }

    fn ttl_ms(&self) -> u64 {
        let ttl = self.object.store.settings().dict_entry_ttl.as_millis();
        u64::try_from(ttl).unwrap_or(u64::MAX)
    }

    /// Records a read of `key`, last accessed at `accessed`, when its time is getting old.
    fn touch(&self, accessed: u64, key: Vec<u8>) {
        let now = now_ms();
        if now.saturating_sub(accessed) < self.ttl_ms() / 7 {
            return;
        }
        let id = self.object.id.clone();
        self.object.store.writer().write_detached(move |txn, _| {
            let mut entries = txn.open_table(ENTRIES)?;
            let row = entries
                .get((&*id, key.as_slice()))?
                .map(|row| row.value().to_vec());
            if let Some(row) = row {
                let (_, value) = split_entry(&row);
                entries.insert((&*id, key.as_slice()), entry_row(now, value).as_slice())?;
            }
            Ok(Ok(()))
        });
    }

    fn missing(&self) -> StorageError {
        StorageError::NotFound(format!("the dict `{}` was removed", self.object.id))
    }
}

impl Store {
    /// The dict named `name`; made when missing if `create_if_missing`, else `not-found`.
    pub(crate) async fn dict(
        &self,
        name: &str,
        create_if_missing: bool,
    ) -> Result<StoreDict, StorageError> {
        let object = self
            .named(ObjectKind::Dict, name, create_if_missing)
            .await?;
        Ok(StoreDict::new(object))
    }

    /// A new dict with no name, removed when its last handle is dropped.
    pub(crate) async fn ephemeral_dict(&self) -> Result<StoreDict, StorageError> {
        Ok(StoreDict::new(self.ephemeral(ObjectKind::Dict).await?))
    }

    /// The dict whose id is `id`.
    pub(crate) fn dict_from_id(&self, id: &str) -> Result<StoreDict, StorageError> {
        Ok(StoreDict::new(self.by_id(ObjectKind::Dict, id)?))
    }
}

/// Sets each of `entries` (canonical keys) in dict `id`.
fn insert_all(txn: &WriteTransaction, id: &str, entries: &[Entry]) -> Result<(), redb::Error> {
    let now = now_ms();
    let mut added = 0;
    {
        let mut table = txn.open_table(ENTRIES)?;
        for (key, value) in entries {
            if table
                .insert((id, key.as_slice()), entry_row(now, value).as_slice())?
                .is_none()
            {
                added += 1;
            }
        }
    }
    tables::add_count(txn, id, added)
}
