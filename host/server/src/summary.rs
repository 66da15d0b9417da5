//! What the API says of a deployed app (`APP` in docs/server.md): its version, components,
//! and functions with their options and live counters.
//!
//! Invariant: these types are the wire form, serde both ways, so a client can read back
//! exactly what the server wrote.

use fnhost::{App, BodyKind, FunctionInfo, PoolStats, WebEndpoint};
use serde::{Deserialize, Serialize};

/// A deployed app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSummary {
    /// Its name.
    pub name: String,
    /// 1 at the first deploy, one more at each redeploy.
    pub version: u64,
    /// Its components' SHA-256s (hex).
    pub components: Vec<String>,
    /// When this version was deployed (RFC 3339).
    pub deployed_at: String,
    /// Its functions, by name.
    pub functions: Vec<FunctionSummary>,
    /// Its wasi:http handler, served under `/web/{app}/`, when a component exports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_handler: Option<HandlerSummary>,
}

/// A deployed app's wasi:http handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandlerSummary {
    /// Every option with its value, as for a function.
    pub options: serde_json::Value,
    /// The counters of its pool of containers, now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<PoolStats>,
}

impl HandlerSummary {
    /// The handler of `app`, if it has one, with its counters now.
    pub(crate) fn of(app: &App) -> Option<HandlerSummary> {
        Some(HandlerSummary {
            options: serde_json::to_value(app.http_config()?).unwrap_or_default(),
            stats: app.http_stats(),
        })
    }
}

/// A function of a deployed app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSummary {
    /// Its name.
    pub name: String,
    /// `blocking` or `async`.
    pub kind: String,
    /// Its parameters' names, in order.
    pub params: Vec<String>,
    /// How it is served as a web endpoint, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebEndpoint>,
    /// How its inputs are batched, when it is batched: `{"max_batch_size", "wait_ms"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<serde_json::Value>,
    /// Every option with its value (the option table's names and units).
    pub options: serde_json::Value,
    /// The counters of its pool of containers, now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<PoolStats>,
}

impl FunctionSummary {
    /// The function `info` of `app`, with its counters now.
    pub(crate) fn of(app: &App, info: &FunctionInfo) -> FunctionSummary {
        FunctionSummary {
            name: info.name.clone(),
            kind: match info.kind {
                BodyKind::Blocking => "blocking",
                BodyKind::Async => "async",
            }
            .to_owned(),
            params: info.params.clone(),
            web: info.web.clone(),
            batch: info
                .batch
                .and_then(|batch| serde_json::to_value(batch).ok()),
            options: serde_json::to_value(info.config).unwrap_or_default(),
            stats: app
                .function(&info.name)
                .ok()
                .map(|function| function.stats()),
        }
    }
}
