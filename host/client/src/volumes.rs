//! The server's volumes (`/v1/volumes`, docs/server.md): made, listed, filled, read and
//! removed from a remote program, the same volumes the server's functions mount (on a cluster,
//! what every host's functions see once committed: the server commits each write).
//!
//! Invariant: paths are sent as they are given; the server resolves them inside the volume and
//! refuses any that leaves it (`bad-request`), so the client checks none itself.

use crate::storage::decode;
use crate::{Client, ClientError};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;

/// A volume of the server. Cheap to clone; nothing is sent until a method is called.
#[derive(Clone)]
pub struct Volume {
    client: Client,
    name: String,
}

/// One entry of a volume's directory, as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VolumeEntry {
    /// Its path from the volume's root.
    pub path: String,
    /// `file`, `dir` or `symlink`.
    pub kind: String,
    /// A file's length in bytes (0 for the others).
    pub size: u64,
}

impl Client {
    /// The volume `name` of the server (made by [`Volume::create`]).
    pub fn volume(&self, name: &str) -> Volume {
        Volume {
            client: self.clone(),
            name: name.to_owned(),
        }
    }

    /// The names of the server's volumes.
    pub async fn volumes(&self) -> Result<Vec<String>, ClientError> {
        self.names("volumes").await
    }
}

impl Volume {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes it when missing: whether it was made now.
    pub async fn create(&self) -> Result<bool, ClientError> {
        let url = self.client.endpoint(&["v1", "volumes", &self.name]);
        let request = self.client.request(Method::PUT, url);
        let expected = [StatusCode::CREATED, StatusCode::OK];
        let response = self.client.send(request, &expected).await?;
        Ok(response.status() == StatusCode::CREATED)
    }

    /// Removes it and all its files (`not-found` when there is none).
    pub async fn delete(&self) -> Result<(), ClientError> {
        self.client.remove("volumes", &self.name).await
    }

    /// The entries of its directory `path` (`/` is its root).
    pub async fn list(&self, path: &str) -> Result<Vec<VolumeEntry>, ClientError> {
        let request = self.client.request(Method::GET, self.at("list", path));
        let response = self.client.send(request, &[StatusCode::OK]).await?;
        let listed: Value = self.client.json(response).await?;
        decode("the entries", listed["entries"].clone())
    }

    /// The bytes of its file `path`.
    pub async fn read(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let request = self.client.request(Method::GET, self.at("file", path));
        let response = self.client.send(request, &[StatusCode::OK]).await?;
        Ok(self.client.body(response).await?.to_vec())
    }

    /// Writes `bytes` as its file `path`, making the directories above it (`full`, nothing
    /// written, past its quota).
    pub async fn write(&self, path: &str, bytes: Vec<u8>) -> Result<(), ClientError> {
        let request = self
            .client
            .request(Method::PUT, self.at("file", path))
            .body(bytes);
        self.client
            .send(request, &[StatusCode::NO_CONTENT])
            .await
            .map(drop)
    }

    /// Removes its file `path`, or its directory `path` and all it holds when `recursive`.
    pub async fn remove(&self, path: &str, recursive: bool) -> Result<(), ClientError> {
        let mut url = self.at("file", path);
        if recursive {
            url.query_pairs_mut().append_pair("recursive", "true");
        }
        let request = self.client.request(Method::DELETE, url);
        self.client
            .send(request, &[StatusCode::NO_CONTENT])
            .await
            .map(drop)
    }

    /// `/v1/volumes/{name}/{what}?path=PATH`.
    fn at(&self, what: &str, path: &str) -> Url {
        let mut url = self.client.endpoint(&["v1", "volumes", &self.name, what]);
        url.query_pairs_mut().append_pair("path", path);
        url
    }
}
