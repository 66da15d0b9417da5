//! What the app knows of a function or local entrypoint: its name, how its body is written,
//! its parameters, its options and the component it lives in.

use crate::options::FunctionConfig;
use serde::Serialize;
use std::path::PathBuf;

/// How a function's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyKind {
    /// `fn`: one input per instance at a time.
    Blocking,
    /// `async fn`: up to `max_inputs` inputs interleave on one instance.
    Async,
}

/// A function or entrypoint of the app, as its component describes it, with its options
/// resolved (defaults filled, overrides applied, ranges checked).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionInfo {
    /// Its name, unique in the app.
    pub name: String,
    /// Blocking or async body.
    pub kind: BodyKind,
    /// Its parameters' names, in order.
    pub params: Vec<String>,
    /// Its options.
    pub config: FunctionConfig,
    /// The component it lives in.
    pub component: PathBuf,
}

impl FunctionInfo {
    pub(crate) fn is_async(&self) -> bool {
        self.kind == BodyKind::Async
    }
}
