//! Deployed apps: listing them ([`AppSummary`]), deploying components, undeploying.
//!
//! Invariant: a deploy uploads every component under its SHA-256 (computed here; the server
//! checks it) before it names them in `PUT /v1/apps/{name}`, so the server never sees an app
//! whose components it lacks; components are read whole, one at a time.

use crate::client::Client;
use crate::error::ClientError;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt;

/// A deployed app, as the server describes it (`GET /v1/apps/{app}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppSummary {
    /// The app's name.
    pub name: String,
    /// Its version: 1 for the first deploy under this name, one more for each next.
    pub version: u64,
    /// The SHA-256 of each of its components, hexadecimal.
    pub components: Vec<String>,
    /// When this version was deployed (RFC 3339).
    pub deployed_at: String,
    /// Its functions.
    pub functions: Vec<FunctionSummary>,
    /// Its classes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassSummary>,
    /// Its wasi:http handler's options and counters, when it has one (served under
    /// `/web/{app}/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_handler: Option<serde_json::Value>,
}

/// How a function is served as a web endpoint, at `/web/{app}/{label}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebEndpoint {
    /// The HTTP method it answers.
    pub method: String,
    /// Its path segment under `/web/{app}/`.
    pub label: String,
    /// Whether a request must carry the server's token.
    pub requires_auth: bool,
    /// How a request reaches the function: `arguments` (its query and JSON body) or
    /// `request` (the request whole, for every method and every path under the label).
    pub form: String,
}

/// One class of a deployed app (Modal's `@app.cls`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassSummary {
    /// The class's name.
    pub name: String,
    /// `blocking` or `async`: how its methods are written.
    pub kind: String,
    /// Its parameters' names.
    pub params: Vec<String>,
    /// Each parameter's default (JSON), `None` for one callers must give.
    pub param_defaults: Vec<Option<serde_json::Value>>,
    /// Its methods (`CLASS.METHOD`).
    pub methods: Vec<FunctionSummary>,
    /// Whether an `enter` hook runs before a snapshot.
    pub snap: bool,
    /// Its effective options, by name, shared by its methods.
    pub options: serde_json::Value,
}

/// One function of a deployed app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionSummary {
    /// The function's name.
    pub name: String,
    /// `blocking` or `async`.
    pub kind: String,
    /// Its parameters' names.
    pub params: Vec<String>,
    /// How it is served as a web endpoint, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebEndpoint>,
    /// How its inputs are batched, when it is batched: `{"max_batch_size", "wait_ms"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<serde_json::Value>,
    /// Its effective options, by name.
    pub options: serde_json::Value,
    /// Its pool's live counters, when the server gave them.
    #[serde(default)]
    pub stats: Option<serde_json::Value>,
    /// When it runs by itself (`every 5s`, `cron 0 9 * * 1-5 (UTC)`), when it is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// When its schedule fires next (RFC 3339), when it is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<String>,
}

/// The body of `GET /v1/apps`.
#[derive(Deserialize)]
struct AppList {
    apps: Vec<AppSummary>,
}

/// The body of `PUT /v1/apps/{app}`.
#[derive(Serialize)]
struct Deployment<'a> {
    components: &'a [String],
    #[serde(flatten)]
    settings: &'a DeploySettings,
}

/// What an app is deployed with beside its components (`PUT /v1/apps/{app}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploySettings {
    /// The hosts its outgoing HTTP requests may reach (`HOST` or `HOST:PORT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_http: Vec<String>,
    /// Environment variables set in every container of the app.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Directories of the server's machine granted to every container of the app (each
    /// under one of the server's grantable directories).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<DirSetting>,
    /// Option overrides by function, then option (`{"incoming-handler": {"timeout": "5s"}}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, BTreeMap<String, String>>,
}

/// A directory of the server's machine granted to an app's containers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirSetting {
    /// The directory on the server's machine.
    pub host: PathBuf,
    /// Where the containers see it.
    pub guest: String,
    /// Whether the containers may only read it.
    #[serde(default)]
    pub read_only: bool,
}

impl Client {
    /// The apps deployed on the server, as it lists them.
    pub async fn apps(&self) -> Result<Vec<AppSummary>, ClientError> {
        let request = self.request(Method::GET, self.endpoint(&["v1", "apps"]));
        let response = self.send(request, &[StatusCode::OK]).await?;
        Ok(self.json::<AppList>(response).await?.apps)
    }

    /// The deployed app `name`, with its functions' live counters.
    pub async fn app(&self, name: &str) -> Result<AppSummary, ClientError> {
        let request = self.request(Method::GET, self.endpoint(&["v1", "apps", name]));
        let response = self.send(request, &[StatusCode::OK]).await?;
        self.json(response).await
    }

    /// Deploys the components at `components` (files: `.wasm` components) as the app `name`
    /// with `settings`: a new app, or the next version of one deployed, which takes new calls
    /// at once.
    pub async fn deploy(
        &self,
        name: &str,
        components: &[PathBuf],
        settings: &DeploySettings,
    ) -> Result<AppSummary, ClientError> {
        let mut digests = Vec::with_capacity(components.len());
        for path in components {
            let bytes = read_component(path)
                .await
                .map_err(|source| ClientError::Io {
                    what: format!("cannot read {}", path.display()),
                    source,
                })?;
            let digest = sha256(&bytes);
            let request = self
                .request(Method::PUT, self.endpoint(&["v1", "components", &digest]))
                .header(CONTENT_TYPE, "application/wasm")
                .body(bytes);
            self.send(request, &[StatusCode::CREATED, StatusCode::OK])
                .await?;
            digests.push(digest);
        }
        let request = self
            .request(Method::PUT, self.endpoint(&["v1", "apps", name]))
            .json(&Deployment {
                components: &digests,
                settings,
            });
        let response = self.send(request, &[StatusCode::OK]).await?;
        self.json(response).await
    }

    /// Undeploys the app `name`: it takes no more calls.
    pub async fn undeploy(&self, name: &str) -> Result<(), ClientError> {
        let request = self.request(Method::DELETE, self.endpoint(&["v1", "apps", name]));
        self.send(request, &[StatusCode::NO_CONTENT, StatusCode::OK])
            .await?;
        Ok(())
    }
}

/// The SHA-256 of `bytes`, in lowercase hexadecimal.
fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The largest component the server takes (its cap on `PUT /v1/components/{sha256}`).
const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// The bytes of the component at `path`: a regular file (or a link to one) of at most
/// [`MAX_COMPONENT_BYTES`]. A device or FIFO is refused before it is read (`/dev/zero` would
/// never end), and a file that grows past the cap while it is read fails at the cap.
async fn read_component(path: &Path) -> std::io::Result<Vec<u8>> {
    let too_large = || {
        std::io::Error::other(format!(
            "a component may take at most {} MiB",
            MAX_COMPONENT_BYTES >> 20
        ))
    };
    let metadata = tokio::fs::metadata(path).await?;
    if !metadata.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if metadata.len() > MAX_COMPONENT_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    tokio::fs::File::open(path)
        .await?
        .take(MAX_COMPONENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .await?;
    if bytes.len() as u64 > MAX_COMPONENT_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::{AppSummary, read_component, sha256};

    #[tokio::test]
    async fn a_device_is_not_read_as_a_component() {
        let error = read_component("/dev/zero".as_ref()).await.unwrap_err();
        assert_eq!(error.to_string(), "not a regular file");
    }

    #[test]
    fn digests_are_lowercase_hex() {
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_summary_reads_without_stats() {
        let summary: AppSummary = serde_json::from_value(serde_json::json!({
            "name": "hello", "version": 2, "components": ["ab"],
            "deployed_at": "2025-01-01T00:00:00Z",
            "functions": [{"name": "f", "kind": "async", "params": [], "options": {"timeout": 300}}],
        }))
        .unwrap();
        assert_eq!(summary.functions[0].stats, None);
        assert_eq!(summary.functions[0].options["timeout"], 300);
    }
}
