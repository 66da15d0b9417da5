//! The store's tables and what their rows hold.
//!
//! Every object (dict, queue or volume) has an id; its name, when it has one, maps to the id, and its
//! rows are keyed by the id first, so that removing an object is a range of each table.

use crate::storage::error::StorageError;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Object id → [`ObjectMeta`] (JSON).
pub(crate) const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
/// (kind, name) → object id.
pub(crate) const NAMES: TableDefinition<(&str, &str), &str> = TableDefinition::new("names");
/// (dict id, canonical key) → last access (8 bytes, ms since the epoch, big-endian) + value.
pub(crate) const ENTRIES: TableDefinition<(&str, &[u8]), &[u8]> =
    TableDefinition::new("dict_entries");
/// Object id → a dict's entries, or a queue's partitions.
pub(crate) const COUNTS: TableDefinition<&str, u64> = TableDefinition::new("counts");
/// (queue id, partition, number) → item.
pub(crate) const ITEMS: TableDefinition<(&str, &str, u64), &[u8]> =
    TableDefinition::new("queue_items");
/// (queue id, partition) → (next item's number, items, expiry in ms since the epoch).
pub(crate) const PARTITIONS: TableDefinition<(&str, &str), (u64, u64, u64)> =
    TableDefinition::new("queue_partitions");

/// What kind of object an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// A dict: keys to values.
    Dict,
    /// A queue: partitions of items.
    Queue,
    /// A volume: a directory tree, kept beside the store.
    Volume,
}

impl ObjectKind {
    /// The word for it, in messages and in the names table.
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Dict => "dict",
            ObjectKind::Queue => "queue",
            ObjectKind::Volume => "volume",
        }
    }

    /// What its ids start with (Modal's prefixes).
    pub fn prefix(self) -> &'static str {
        match self {
            ObjectKind::Dict => "di-",
            ObjectKind::Queue => "qu-",
            ObjectKind::Volume => "vo-",
        }
    }

    /// Whether `text` has the shape of this kind's ids: its prefix and 32 lower-case
    /// hexadecimal digits. No name has it (`check_name`), so a reference to an object may be
    /// its name or its id, as Modal's references are.
    pub fn is_id(self, text: &str) -> bool {
        text.strip_prefix(self.prefix()).is_some_and(|digits| {
            digits.len() == 32
                && digits
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
    }
}

/// An object's row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    pub(crate) kind: ObjectKind,
    pub(crate) name: Option<String>,
    /// Removed when the handle that made it is dropped, and at the store's next open.
    pub(crate) ephemeral: bool,
}

impl ObjectMeta {
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an object's row always serializes")
    }

    pub(crate) fn decode(row: &[u8]) -> Result<ObjectMeta, StorageError> {
        serde_json::from_slice(row).map_err(|error| {
            StorageError::Unavailable(format!("an object's row is damaged: {error}"))
        })
    }
}

/// The key just past every `(id, ...)` key: `id` followed by NUL sorts right after `id`.
pub(crate) fn id_end(id: &str) -> String {
    format!("{id}\0")
}

/// Now, in milliseconds since the epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// A dict entry's row: its last access, then its value.
pub(crate) fn entry_row(accessed_ms: u64, value: &[u8]) -> Vec<u8> {
    let mut row = Vec::with_capacity(8 + value.len());
    row.extend_from_slice(&accessed_ms.to_be_bytes());
    row.extend_from_slice(value);
    row
}

/// A dict entry's row split into its last access and its value.
pub(crate) fn split_entry(row: &[u8]) -> (u64, &[u8]) {
    match row.split_first_chunk::<8>() {
        Some((accessed, value)) => (u64::from_be_bytes(*accessed), value),
        None => (0, &[]),
    }
}

/// Secret name → its variables (a JSON object of strings).
pub(crate) const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");

/// Makes every table, so that readers never find one missing.
pub(crate) fn create_all(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(OBJECTS)?;
    txn.open_table(NAMES)?;
    txn.open_table(ENTRIES)?;
    txn.open_table(COUNTS)?;
    txn.open_table(ITEMS)?;
    txn.open_table(PARTITIONS)?;
    txn.open_table(SECRETS)?;
    Ok(())
}

/// Whether object `id` exists, inside a write transaction.
pub(crate) fn exists(txn: &WriteTransaction, id: &str) -> Result<bool, redb::Error> {
    Ok(txn.open_table(OBJECTS)?.get(id)?.is_some())
}

/// Adds `delta` to object `id`'s count.
pub(crate) fn add_count(txn: &WriteTransaction, id: &str, delta: i64) -> Result<(), redb::Error> {
    let mut counts = txn.open_table(COUNTS)?;
    let now = counts.get(id)?.map_or(0, |count| count.value());
    let next = now.saturating_add_signed(delta);
    if next == 0 {
        counts.remove(id)?;
    } else {
        counts.insert(id, next)?;
    }
    Ok(())
}

/// Removes object `id` and every row it has.
pub(crate) fn remove_object(txn: &WriteTransaction, id: &str) -> Result<(), redb::Error> {
    let end = id_end(id);
    let meta = txn
        .open_table(OBJECTS)?
        .remove(id)?
        .map(|row| row.value().to_vec());
    if let Some(Ok(meta)) = meta.as_deref().map(ObjectMeta::decode)
        && let Some(name) = &meta.name
    {
        txn.open_table(NAMES)?
            .remove((meta.kind.word(), name.as_str()))?;
    }
    txn.open_table(ENTRIES)?
        .retain_in((id, &[][..])..(end.as_str(), &[][..]), |_, _| false)?;
    txn.open_table(ITEMS)?
        .retain_in((id, "", 0)..(end.as_str(), "", 0), |_, _| false)?;
    txn.open_table(PARTITIONS)?
        .retain_in((id, "")..(end.as_str(), ""), |_, _| false)?;
    txn.open_table(COUNTS)?.remove(id)?;
    Ok(())
}

/// Removes every item of queue `id`'s `partition`, keeping its row.
pub(crate) fn clear_items(
    txn: &WriteTransaction,
    id: &str,
    partition: &str,
) -> Result<(), redb::Error> {
    txn.open_table(ITEMS)?
        .retain_in((id, partition, 0)..=(id, partition, u64::MAX), |_, _| false)?;
    Ok(())
}

/// Removes queue `id`'s `partition` and its items; whether it existed.
pub(crate) fn clear_partition(
    txn: &WriteTransaction,
    id: &str,
    partition: &str,
) -> Result<bool, redb::Error> {
    clear_items(txn, id, partition)?;
    let mut partitions = txn.open_table(PARTITIONS)?;
    let removed = partitions.remove((id, partition))?;
    Ok(removed.is_some())
}
