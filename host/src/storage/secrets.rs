//! Secrets (Modal's `Secret`): named sets of environment variables in the store, which the
//! functions that name them get in their containers.
//!
//! Invariant: a value leaves this module only as a container's environment variable. Listing
//! shows names and keys; [`SecretValues`] prints as its keys; errors name the secret and the
//! key, never a value. Without it, a value could reach a log line, an error or an API answer.

use crate::storage::error::StorageError;
use crate::storage::limits;
use crate::storage::store::Storage;
use crate::storage::tables::SECRETS;
use redb::ReadableTable;
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

    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("strings serialize")
    }

    fn decode(row: &[u8]) -> Result<Self, StorageError> {
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

impl Storage {
    /// Keeps `values` as the secret `name`; an existing one is replaced only if `overwrite`,
    /// else `invalid`.
    pub async fn create_secret(
        &self,
        name: &str,
        values: SecretValues,
        overwrite: bool,
    ) -> Result<(), StorageError> {
        limits::check_name(name)?;
        let (name, row) = (name.to_owned(), values.encode());
        self.writer()
            .write(move |txn, _| {
                let mut secrets = txn.open_table(SECRETS)?;
                if !overwrite && secrets.get(name.as_str())?.is_some() {
                    return Ok(Err(StorageError::Invalid(format!(
                        "a secret named `{name}` exists (replace it with --force)"
                    ))));
                }
                secrets.insert(name.as_str(), row.as_slice())?;
                Ok(Ok(()))
            })
            .await
    }

    /// The variables of the secret `name`.
    pub fn secret(&self, name: &str) -> Result<SecretValues, StorageError> {
        let txn = self.read()?;
        let secrets = txn.open_table(SECRETS)?;
        let row = secrets.get(name)?.ok_or_else(|| {
            let shown: String = name.chars().take(64).collect();
            StorageError::NotFound(format!(
                "no secret named `{shown}` (create it with `fnhost secret create {shown} KEY=VALUE`)"
            ))
        })?;
        SecretValues::decode(row.value())
    }

    /// Every secret's name and keys, by name.
    pub fn secrets(&self) -> Result<Vec<SecretListing>, StorageError> {
        let txn = self.read()?;
        let secrets = txn.open_table(SECRETS)?;
        let mut listed = Vec::new();
        for row in secrets.iter()? {
            let (name, values) = row?;
            let keys = SecretValues::decode(values.value())?
                .keys()
                .map(str::to_owned)
                .collect();
            listed.push(SecretListing {
                name: name.value().to_owned(),
                keys,
            });
        }
        Ok(listed)
    }

    /// Removes the secret `name`; whether it existed.
    pub async fn delete_secret(&self, name: &str) -> Result<bool, StorageError> {
        let name = name.to_owned();
        self.writer()
            .write(move |txn, _| {
                let mut secrets = txn.open_table(SECRETS)?;
                Ok(Ok(secrets.remove(name.as_str())?.is_some()))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageSettings;

    fn values(pairs: &[(&str, &str)]) -> SecretValues {
        SecretValues::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    #[tokio::test]
    async fn a_secret_is_kept_listed_by_its_keys_and_removed() {
        let store = Storage::in_memory(StorageSettings::default()).unwrap();
        let secret = values(&[("API_KEY", "s3cr3t-value"), ("REGION", "eu")]);
        store
            .create_secret("api", secret.clone(), false)
            .await
            .unwrap();
        assert_eq!(store.secret("api").unwrap(), secret);
        let again = store
            .create_secret("api", secret.clone(), false)
            .await
            .unwrap_err();
        assert!(!again.to_string().contains("s3cr3t"), "{again}");
        store
            .create_secret("api", values(&[("API_KEY", "new")]), true)
            .await
            .unwrap();
        let listed = store.secrets().unwrap();
        assert_eq!(
            listed,
            [SecretListing {
                name: "api".into(),
                keys: vec!["API_KEY".into()]
            }]
        );
        assert_eq!(format!("{secret:?}"), r#"{"API_KEY", "REGION"}"#);
        assert!(store.delete_secret("api").await.unwrap());
        assert!(matches!(
            store.secret("api"),
            Err(StorageError::NotFound(_))
        ));
        for bad in [("", "v"), ("A=B", "v"), ("K", "a\0b")] {
            let refused = SecretValues::new([(bad.0.to_owned(), bad.1.to_owned())]);
            assert!(matches!(refused, Err(StorageError::Invalid(_))), "{bad:?}");
        }
    }
}
