//! The server's secrets (`/v1/secrets`, docs/server.md): kept from here, listed by name and
//! keys, removed. A value goes to the server and never comes back.

use crate::{Client, ClientError};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// A secret as the server lists it: its name and its keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SecretSummary {
    /// Its name.
    pub name: String,
    /// Its variables' names.
    pub keys: Vec<String>,
}

impl Client {
    /// Keeps `values` (variable to value) as the secret `name`; one of that name is replaced
    /// only if `overwrite`, else the server answers `bad-arguments`.
    pub async fn create_secret(
        &self,
        name: &str,
        values: &BTreeMap<String, String>,
        overwrite: bool,
    ) -> Result<(), ClientError> {
        let body = json!({"values": values, "overwrite": overwrite});
        let url = self.endpoint(&["v1", "secrets", name]);
        let request = self.request(Method::PUT, url).json(&body);
        self.send(request, &[StatusCode::NO_CONTENT])
            .await
            .map(drop)
    }

    /// Every secret's name and keys, by name.
    pub async fn secrets(&self) -> Result<Vec<SecretSummary>, ClientError> {
        #[derive(Deserialize)]
        struct Listed {
            secrets: Vec<SecretSummary>,
        }
        let request = self.request(Method::GET, self.endpoint(&["v1", "secrets"]));
        let response = self.send(request, &[StatusCode::OK]).await?;
        let listed: Listed = self.json(response).await?;
        Ok(listed.secrets)
    }

    /// Removes the secret `name` (`not-found` when there is none).
    pub async fn delete_secret(&self, name: &str) -> Result<(), ClientError> {
        let url = self.endpoint(&["v1", "secrets", name]);
        let request = self.request(Method::DELETE, url);
        self.send(request, &[StatusCode::NO_CONTENT])
            .await
            .map(drop)
    }
}
