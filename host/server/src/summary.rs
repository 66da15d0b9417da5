//! What the API says of a deployed app (`APP` in docs/server.md): its version, components,
//! and functions with their options and live counters.
//!
//! Invariant: these types are the wire form, serde both ways, so a client can read back
//! exactly what the server wrote.

use fnhost::{App, BodyKind, ClassInfo, FunctionInfo, PoolStats, WebEndpoint};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

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
    /// Its classes, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassSummary>,
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

/// A class of a deployed app (Modal's `@app.cls`): each set of parameter values has a pool
/// of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassSummary {
    /// Its name.
    pub name: String,
    /// `blocking` or `async`: how its methods are written.
    pub kind: String,
    /// Its parameters' names, in order.
    pub params: Vec<String>,
    /// Each parameter's default (JSON), `null` for one callers must give.
    pub param_defaults: Vec<Option<serde_json::Value>>,
    /// Its methods' names (`CLASS.METHOD`) and parameters.
    pub methods: Vec<FunctionSummary>,
    /// Whether an `enter` hook runs before a snapshot.
    pub snap: bool,
    /// Every option with its value, shared by its methods.
    pub options: serde_json::Value,
}

impl ClassSummary {
    /// The class `info`.
    pub(crate) fn of(app: &App, info: &ClassInfo, deployed: SystemTime) -> ClassSummary {
        ClassSummary {
            name: info.name.clone(),
            kind: kind_name(info.kind),
            params: info.params.clone(),
            param_defaults: info.param_defaults.clone(),
            methods: info
                .methods
                .iter()
                .map(|method| FunctionSummary::of(app, method, deployed))
                .collect(),
            snap: info.snap,
            options: serde_json::to_value(info.config).unwrap_or_default(),
        }
    }
}

fn kind_name(kind: BodyKind) -> String {
    match kind {
        BodyKind::Blocking => "blocking",
        BodyKind::Async => "async",
    }
    .to_owned()
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
    /// When it runs by itself (`every 5s`, `cron 0 9 * * 1-5 (UTC)`), when it is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// When its schedule fires next (RFC 3339), when it is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<String>,
}

impl FunctionSummary {
    /// The function `info` of `app` deployed at `deployed`, with its counters now.
    pub(crate) fn of(app: &App, info: &FunctionInfo, deployed: SystemTime) -> FunctionSummary {
        let next_run = info
            .schedule
            .as_ref()
            .and_then(|schedule| schedule.next_after(deployed, SystemTime::now()));
        FunctionSummary {
            name: info.name.clone(),
            kind: kind_name(info.kind),
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
            schedule: info.schedule.as_ref().map(ToString::to_string),
            next_run: next_run.map(|at| humantime::format_rfc3339_seconds(at).to_string()),
        }
    }
}
