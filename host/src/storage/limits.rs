//! What a dict or queue takes: names, partitions, keys and sizes, each checked before anything
//! is written, so that a refused operation changes nothing. Modal's limits or stricter.
//!
//! Keys are made canonical here (parsed as JSON and written again: no spacing, object members
//! sorted), so that every SDK reaches the same entry with the same key, however its encoder
//! spaces or orders it. Without that, `{"a":1,"b":2}` from Rust and `{"b": 2, "a": 1}` from
//! Python would be two entries.

use crate::storage::error::StorageError;
use crate::storage::store::tables::ObjectKind;
use std::time::Duration;

/// The longest name of a dict or queue, in characters (Modal's).
pub const MAX_NAME: usize = 64;
/// The longest partition key, in characters (Modal's).
pub const MAX_PARTITION: usize = 64;
/// The largest key of a dict, in bytes of its JSON.
pub const MAX_KEY_BYTES: usize = 64 << 10;
/// The largest value of a dict, in bytes of its JSON: a call's payload limit, so that a value
/// read is always one a function can return.
pub const MAX_VALUE_BYTES: usize = 16 << 20;
/// The most entries one `update` sets.
pub const MAX_UPDATE_ENTRIES: usize = 10_000;
/// The largest item of a queue, in bytes of its JSON (Modal's: 1 MiB).
pub const MAX_ITEM_BYTES: usize = 1 << 20;
/// The most items one partition holds (Modal's).
pub const MAX_PARTITION_ITEMS: u64 = 5_000;
/// The most partitions one queue holds (Modal's).
pub const MAX_PARTITIONS: u64 = 100_000;
/// The longest a partition lives after its last put (Modal's default; also the most one may
/// ask for here).
pub const MAX_PARTITION_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The most entries or items one page returns.
pub const MAX_PAGE: u32 = 10_000;

/// Checks the name of a dict, queue, volume or secret: 1 to 64 of `A-Z a-z 0-9 . _ -`, not
/// shaped as an object's id (`di-` and 32 hexadecimal digits: [`ObjectKind::is_id`]).
pub(crate) fn check_name(name: &str) -> Result<(), StorageError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(allowed) {
        let shown: String = name.chars().take(MAX_NAME).collect();
        return Err(StorageError::Invalid(format!(
            "`{shown}` is not a name: 1 to {MAX_NAME} of A-Z a-z 0-9 . _ -"
        )));
    }
    let kinds = [ObjectKind::Dict, ObjectKind::Queue, ObjectKind::Volume];
    if kinds.iter().any(|kind| kind.is_id(name)) {
        return Err(StorageError::Invalid(format!(
            "`{name}` is not a name: it has the shape of an object's id"
        )));
    }
    Ok(())
}

/// The partition as stored: `""` for the default partition, else the key, 1 to 64 characters.
pub(crate) fn partition(partition: Option<&str>) -> Result<&str, StorageError> {
    match partition {
        None => Ok(""),
        Some(key) if !key.is_empty() && key.chars().count() <= MAX_PARTITION => Ok(key),
        Some(_) => Err(StorageError::Invalid(format!(
            "a partition key must be 1 to {MAX_PARTITION} characters"
        ))),
    }
}

/// The canonical form of `key`: its JSON value written compactly with object members sorted.
pub(crate) fn canonical_key(key: &[u8]) -> Result<Vec<u8>, StorageError> {
    check_size("a key", key.len(), MAX_KEY_BYTES)?;
    let value: serde_json::Value = serde_json::from_slice(key)
        .map_err(|error| StorageError::Invalid(format!("a key is not JSON: {error}")))?;
    // serde_json's map is ordered by key: writing the value again sorts object members.
    Ok(serde_json::to_vec(&value).expect("a JSON value always serializes"))
}

/// Checks that `what` of `len` bytes is at most `max`.
pub(crate) fn check_size(what: &str, len: usize, max: usize) -> Result<(), StorageError> {
    if len > max {
        return Err(StorageError::TooLarge(format!(
            "{what} of {len} bytes; the limit is {max} bytes"
        )));
    }
    Ok(())
}

/// How long a partition lives after a put, from the `partition_ttl` asked for (1 s to 24 h).
pub(crate) fn partition_ttl(secs: u32) -> Result<Duration, StorageError> {
    let ttl = Duration::from_secs(secs.into());
    if secs == 0 || ttl > MAX_PARTITION_TTL {
        return Err(StorageError::Invalid(format!(
            "partition_ttl of {secs} s; it must be 1 to {} s",
            MAX_PARTITION_TTL.as_secs()
        )));
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_same_however_they_are_spaced_or_ordered() {
        let rust = canonical_key(br#"{"a":1,"b":[1,2]}"#).unwrap();
        let python = canonical_key(br#"{"b": [1, 2], "a": 1}"#).unwrap();
        assert_eq!(rust, python);
        assert_eq!(canonical_key(br#" "k" "#).unwrap(), br#""k""#);
        assert!(matches!(
            canonical_key(b"not json"),
            Err(StorageError::Invalid(_))
        ));
    }

    #[test]
    fn names_and_partitions_are_checked() {
        check_name("results.v2_a-b").unwrap();
        // Near an id's shape is a name; the shape itself is not.
        check_name("di-0123456789abcdef0123456789abcdeF").unwrap();
        check_name("qu-0123456789abcdef0123456789abcde").unwrap();
        let id = "qu-0123456789abcdef0123456789abcdef";
        for bad in ["", "a/b", "../x", "a b", &"x".repeat(65), id] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(partition(None).unwrap(), "");
        assert_eq!(partition(Some("p")).unwrap(), "p");
        assert!(partition(Some("")).is_err());
        assert!(partition(Some(&"é".repeat(65))).is_err());
        assert!(partition_ttl(0).is_err());
        assert!(partition_ttl(86_401).is_err());
    }
}
