//! The store's secrets table: a secret's name to its values' stored form.

use crate::storage::error::StorageError;
use crate::storage::secrets::{SecretListing, SecretValues};
use crate::storage::store::Store;
use crate::storage::store::tables::SECRETS;
use redb::ReadableTable;

impl Store {
    /// Keeps `values` as the secret `name`; an existing one is replaced only if `overwrite`,
    /// else `invalid`.
    pub(crate) async fn create_secret(
        &self,
        name: &str,
        values: SecretValues,
        overwrite: bool,
    ) -> Result<(), StorageError> {
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
    pub(crate) fn secret(&self, name: &str) -> Result<SecretValues, StorageError> {
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
    pub(crate) fn secrets(&self) -> Result<Vec<SecretListing>, StorageError> {
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
    pub(crate) async fn delete_secret(&self, name: &str) -> Result<bool, StorageError> {
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
        let store = Store::in_memory(StorageSettings::default()).unwrap();
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
