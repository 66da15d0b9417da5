//! A container's secret environment variables (a sandbox's too): what its function's
//! `secrets` name, read from the host's store as the container starts (so a secret replaced since the app loaded reaches
//! the containers started after), and the inline ones as the app wrote them.
//!
//! Invariant: the values go into the container's environment and nowhere else; an error names
//! the secret, never a value.

use crate::Error;
use crate::info::SecretSource;
use crate::storage::LazyStorage;
use crate::storage::StorageError;

/// The variables `secrets` give a container (or a sandbox's processes) whose host keeps its
/// secrets in `storage`, in their order (a later secret's key wins).
pub(crate) fn secret_env(
    storage: Option<&LazyStorage>,
    secrets: &[SecretSource],
) -> Result<Vec<(String, String)>, Error> {
    let mut env = Vec::new();
    for source in secrets {
        match source {
            SecretSource::Named(name) => {
                let storage = storage
                    .ok_or_else(|| Error::NotFound(format!("secret `{name}`: no store here")))?;
                let values = storage.get().and_then(|store| store.secret(name));
                let values = values.map_err(|error| unreadable(name, error))?;
                env.extend(
                    values
                        .vars()
                        .map(|(key, value)| (key.to_owned(), value.to_owned())),
                );
            }
            SecretSource::Inline(values) => {
                env.extend(
                    values
                        .vars()
                        .map(|(key, value)| (key.to_owned(), value.to_owned())),
                );
            }
        }
    }
    Ok(env)
}

/// Why the secret `name` could not be read, as a call error.
fn unreadable(name: &str, error: StorageError) -> Error {
    match error {
        StorageError::NotFound(message) => Error::NotFound(message),
        other => Error::Overloaded(format!("cannot read secret `{name}`: {other}")),
    }
}
