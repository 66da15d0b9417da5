//! Who a request is, from the token it carries: the server's tokens. The operator's token
//! (the server's settings) may do everything; an app token (made by the operator,
//! `POST /v1/tokens`) reaches only one app's functions and calls. App tokens are kept in `tokens.json` in the state directory, as
//! SHA-256 digests only: the token itself is shown once, when it is made.
//!
//! Invariants: a token is compared in constant time, as a digest (so neither its bytes nor
//! its length leak through timing), against every token known, whichever matches; a server
//! without an operator token treats every request as the operator's (it listens on loopback
//! only, `ServerSettings::check`) and makes no app tokens, which would protect nothing there.

use crate::ServerError;
use crate::state::MAX_STATE_FILE;
use crate::state::atomic;
use crate::state::components::hex;
use crate::state::files::read_regular;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// The operator: everything.
    Operator,
    /// A holder of a token for this app: its functions and its calls only.
    App(String),
}

impl Principal {
    /// The app a request is limited to, if any.
    pub(crate) fn app(&self) -> Option<&str> {
        match self {
            Principal::Operator => None,
            Principal::App(app) => Some(app),
        }
    }
}

/// An app token as kept: never the token, only its digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AppToken {
    /// `tk-` and 12 hex digits of the digest: what lists and revokes it.
    pub(crate) id: String,
    /// The app it is for.
    pub(crate) app: String,
    /// Milliseconds since the Unix epoch.
    pub(crate) created_ms: u64,
    /// The SHA-256 of the token, hex.
    digest: String,
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    tokens: Vec<AppToken>,
}

/// The server's tokens: the operator's and the app tokens.
pub(crate) struct Access {
    operator: Option<[u8; 32]>,
    apps: RwLock<Vec<(AppToken, [u8; 32])>>,
    path: PathBuf,
}

impl Access {
    /// The operator's `token` (if the server has one) and the app tokens kept at `path`.
    pub(crate) fn open(path: PathBuf, operator: Option<&str>) -> Result<Access, ServerError> {
        let file: File =
            match read_regular(&path, MAX_STATE_FILE).map_err(ServerError::io("read", &path))? {
                Some(bytes) => {
                    serde_json::from_slice(&bytes).map_err(|source| ServerError::Corrupt {
                        path: path.clone(),
                        source,
                    })?
                }
                None => File::default(),
            };
        let apps = file
            .tokens
            .into_iter()
            .filter_map(|token| {
                let digest = from_hex(&token.digest)?;
                Some((token, digest))
            })
            .collect();
        Ok(Access {
            operator: operator.map(|token| Sha256::digest(token.as_bytes()).into()),
            apps: RwLock::new(apps),
            path,
        })
    }

    /// Who the bearer of `given` is; `None` when the server has an operator token and `given`
    /// is no token it knows.
    pub(crate) fn principal(&self, given: Option<&[u8]>) -> Option<Principal> {
        let Some(operator) = &self.operator else {
            return Some(Principal::Operator);
        };
        let digest: [u8; 32] = Sha256::digest(given?).into();
        let mut found = None;
        if bool::from(digest.ct_eq(operator)) {
            found = Some(Principal::Operator);
        }
        for (token, known) in self
            .apps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            if bool::from(digest.ct_eq(known)) {
                found = found.or(Some(Principal::App(token.app.clone())));
            }
        }
        found
    }

    /// Makes a token for `app`: its record, and the token (shown once: only its digest is
    /// kept).
    pub(crate) fn create(&self, app: &str) -> Result<(AppToken, String), ServerError> {
        if self.operator.is_none() {
            return Err(ServerError::NoOperatorToken);
        }
        let token = format!(
            "fnhost_{:032x}{:032x}",
            rand::random::<u128>(),
            rand::random::<u128>()
        );
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let hex = hex(&digest);
        let record = AppToken {
            id: format!("tk-{}", &hex[..12]),
            app: app.to_owned(),
            created_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis().try_into().unwrap_or(u64::MAX)),
            digest: hex,
        };
        let mut apps = self.apps.write().unwrap_or_else(PoisonError::into_inner);
        apps.push((record.clone(), digest));
        if let Err(error) = self.save(&apps) {
            apps.pop();
            return Err(error);
        }
        Ok((record, token))
    }

    /// The app tokens, oldest first.
    pub(crate) fn list(&self) -> Vec<AppToken> {
        let apps = self.apps.read().unwrap_or_else(PoisonError::into_inner);
        apps.iter().map(|(token, _)| token.clone()).collect()
    }

    /// Revokes the token `id`: false when there is none.
    pub(crate) fn revoke(&self, id: &str) -> Result<bool, ServerError> {
        let mut apps = self.apps.write().unwrap_or_else(PoisonError::into_inner);
        let Some(index) = apps.iter().position(|(token, _)| token.id == id) else {
            return Ok(false);
        };
        let removed = apps.remove(index);
        if let Err(error) = self.save(&apps) {
            apps.insert(index, removed);
            return Err(error);
        }
        Ok(true)
    }

    fn save(&self, apps: &[(AppToken, [u8; 32])]) -> Result<(), ServerError> {
        let file = File {
            tokens: apps.iter().map(|(token, _)| token.clone()).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|source| ServerError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        atomic::write(&self.path, &bytes).map_err(ServerError::io("write", &self.path))
    }
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    let mut digest = [0; 32];
    if text.len() != 64 {
        return None;
    }
    for (index, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_say_who_their_bearer_is_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let operator = "ops token with spaces, ünïcode & symbols!";
        let tokens = Access::open(path.clone(), Some(operator)).unwrap();
        assert_eq!(
            tokens.principal(Some(operator.as_bytes())),
            Some(Principal::Operator)
        );
        assert_eq!(tokens.principal(None), None);
        assert_eq!(tokens.principal(Some(b"guess")), None);
        let (record, shop) = tokens.create("shop").unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains(&shop));
        let again = Access::open(path, Some(operator)).unwrap();
        assert_eq!(
            again.principal(Some(shop.as_bytes())),
            Some(Principal::App("shop".into()))
        );
        assert!(again.revoke(&record.id).unwrap());
        assert!(!again.revoke(&record.id).unwrap());
        assert_eq!(again.principal(Some(shop.as_bytes())), None);
    }

    #[test]
    fn without_an_operator_token_everyone_is_the_operator_and_no_app_token_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Access::open(dir.path().join("tokens.json"), None).unwrap();
        assert_eq!(tokens.principal(None), Some(Principal::Operator));
        assert!(tokens.create("shop").is_err());
    }
}
