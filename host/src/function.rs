//! What the app knows of a function, and the handle callers use: `remote`, `spawn`, `map`.
//!
//! Arguments travel as a JSON array (pass a tuple: `()`, `(x,)`, `(x, y)`); results as the JSON
//! value of what the body returned.

use crate::app::AppShared;
use crate::call::{FunctionCall, PendingCall, wait};
use crate::pool::{Pool, PoolStats};
use crate::{Error, bindings};
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::Arc;

/// How many calls one `map` keeps in flight at once; later inputs start as earlier ones finish.
const MAP_WINDOW: usize = 1000;

/// How a function's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyKind {
    /// `fn`: one input per instance at a time.
    Blocking,
    /// `async fn`: up to `max_inputs` inputs interleave on one instance.
    Async,
}

/// The options a function declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FunctionConfig {
    /// Inputs one container runs at once.
    pub max_inputs: u32,
    /// Containers the function may have at once.
    pub max_containers: u32,
}

/// A function or entrypoint of the app, as its component describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    pub(crate) fn new(info: bindings::FunctionInfo, component: PathBuf) -> Self {
        FunctionInfo {
            name: info.name,
            kind: match info.kind {
                bindings::BodyKind::Blocking => BodyKind::Blocking,
                bindings::BodyKind::Async => BodyKind::Async,
            },
            params: info.params,
            config: FunctionConfig {
                max_inputs: info.config.max_inputs,
                max_containers: info.config.max_containers,
            },
            component,
        }
    }

    pub(crate) fn is_async(&self) -> bool {
        self.kind == BodyKind::Async
    }
}

/// A handle to one function of an [`App`](crate::App). Cheap to clone.
#[derive(Clone)]
pub struct Function {
    app: Arc<AppShared>,
    pool: Arc<Pool>,
}

impl Function {
    pub(crate) fn new(app: Arc<AppShared>, pool: Arc<Pool>) -> Self {
        Function { app, pool }
    }

    /// What the function's component says of it.
    pub fn info(&self) -> &FunctionInfo {
        self.pool.info()
    }

    /// The counters of the function's pool of containers.
    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Starts containers until `count` serve (within `max_containers`) and waits until they do,
    /// so that the next inputs start without waiting for an instance; returns how many serve.
    pub async fn warm_up(&self, count: usize) -> Result<usize, Error> {
        self.pool.warm_up(count).await
    }

    /// Calls the function with `args` (a tuple) and waits for its result.
    pub async fn remote<R: DeserializeOwned>(&self, args: impl Serialize) -> Result<R, Error> {
        decode(&self.remote_raw(encode_args(&args)?).await?)
    }

    /// Calls the function with an encoded JSON array of arguments; returns the encoded result.
    pub async fn remote_raw(&self, args: Vec<u8>) -> Result<Vec<u8>, Error> {
        wait(&self.info().name, Ok(self.app.submit_to(&self.pool, args))).await
    }

    /// Starts the function in the background and returns a handle to its result at once.
    pub fn spawn<R: DeserializeOwned>(
        &self,
        args: impl Serialize,
    ) -> Result<FunctionCall<R>, Error> {
        let args = encode_args(&args)?;
        Ok(FunctionCall::new(PendingCall::waiting(
            &self.info().name,
            Ok(self.app.submit_to(&self.pool, args)),
        )))
    }

    /// Calls the function once per input, in parallel, and returns the results in input order;
    /// the first error (in that order) is returned instead.
    pub async fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, Error> {
        stream::iter(inputs)
            .map(|args| self.remote(args))
            .buffered(MAP_WINDOW)
            .try_collect()
            .await
    }

    /// Like [`Function::map`], but gives every input its own result, errors included.
    pub async fn map_results<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Vec<Result<R, Error>> {
        stream::iter(inputs)
            .map(|args| self.remote(args))
            .buffered(MAP_WINDOW)
            .collect()
            .await
    }
}

/// Encodes arguments as the JSON array a function expects; `()` is the empty array.
pub(crate) fn encode_args(args: &impl Serialize) -> Result<Vec<u8>, Error> {
    let encoded = serde_json::to_vec(args)
        .map_err(|error| Error::Payload(format!("cannot encode the arguments: {error}")))?;
    Ok(if encoded == b"null" {
        b"[]".to_vec()
    } else {
        encoded
    })
}

/// Decodes a result.
pub(crate) fn decode<R: DeserializeOwned>(payload: &[u8]) -> Result<R, Error> {
    serde_json::from_slice(payload)
        .map_err(|error| Error::Payload(format!("cannot decode the result: {error}")))
}
