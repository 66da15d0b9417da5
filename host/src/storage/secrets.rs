//! Secrets (Modal's `Secret`): named sets of environment variables, kept by the host's store or
//! a cluster's, which the functions that name them get in their containers.
//!
//! Invariant: a value leaves this module only as a container's environment variable. Listing
//! shows names and keys; [`SecretValues`] prints as its keys; errors name the secret and the
//! key, never a value. Without it, a value could reach a log line, an error or an API answer.

use crate::storage::error::StorageError;
use crate::storage::limits;
use std::collections::BTreeMap;
use std::fmt;

/// The most variables one secret holds.
pub const MAX_SECRET_KEYS: usize = 1000;
/// The most bytes of one secret's keys and values together.
pub const MAX_SECRET_BYTES: usize = 64 << 10;

/// A secret's variables: key to value. Its `Debug` shows the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(BTreeMap<String, String>);

impl SecretValues {
    /// The variables `entries`, checked: keys are environment variable names (non-empty, no
    /// `=` or NUL), values hold no NUL, within [`MAX_SECRET_KEYS`] and [`MAX_SECRET_BYTES`].
    pub fn new(entries: impl IntoIterator<Item = (String, String)>) -> Result<Self, StorageError> {
        let values: BTreeMap<String, String> = entries.into_iter().collect();
        if values.len() > MAX_SECRET_KEYS {
            return Err(StorageError::TooLarge(format!(
                "a secret of {} variables; the limit is {MAX_SECRET_KEYS}",
                values.len()
            )));
        }
        let bytes: usize = values
            .iter()
            .map(|(key, value)| key.len() + value.len())
            .sum();
        limits::check_size("a secret", bytes, MAX_SECRET_BYTES)?;
        for (key, value) in &values {
            if key.is_empty() || key.contains(['=', '\0']) {
                let shown: String = key.chars().take(64).collect();
                return Err(StorageError::Invalid(format!(
                    "`{shown}` is not an environment variable's name"
                )));
            }
            if value.contains('\0') {
                return Err(StorageError::Invalid(format!(
                    "the value of `{key}` holds a NUL byte"
                )));
            }
        }
        Ok(SecretValues(values))
    }

    /// Its keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Its variables, to set in a container's environment.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// The stored form (JSON), the same in every store.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("strings serialize")
    }

    /// The values whose stored form is `row`.
    pub fn decode(row: &[u8]) -> Result<Self, StorageError> {
        serde_json::from_slice(row)
            .map(SecretValues)
            .map_err(|_| StorageError::Unavailable("a secret's row is damaged".into()))
    }
}

impl fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.keys()).finish()
    }
}

/// A secret as listed: its name and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretListing {
    pub name: String,
    pub keys: Vec<String>,
}
