//! What the app knows of a function, and the handle callers use: `remote`, `spawn`, `map`.
//!
//! Arguments travel as a JSON array (pass a tuple: `()`, `(x,)`, `(x, y)`); results as the JSON
//! value of what the body returned.

use crate::app::AppShared;
use crate::call::{FunctionCall, PendingCall, wait};
use crate::pool::{Pool, PoolStats};
use crate::{Error, LoadError, bindings};
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// Containers kept running even when idle, started when the app loads.
    pub min_containers: u32,
    /// How long, in seconds, a container beyond `min_containers` may stay idle.
    pub scaledown_window_secs: u32,
    /// How long one input may run, in seconds.
    pub timeout_secs: u32,
    /// The most linear memory one container may grow to, in MiB.
    pub memory_mib: u32,
    /// How many times a failed input runs again.
    pub retries: u32,
    /// The delay before the first retry, in milliseconds; each next one doubles, up to
    /// [`MAX_RETRY_DELAY_MS`].
    pub retry_delay_ms: u32,
}

/// The longest `scaledown_window` a function may declare, in seconds: 20 minutes, as Modal
/// allows; the shortest is 2 s.
pub const MAX_SCALEDOWN_WINDOW_SECS: u32 = 1200;

/// The longest `timeout` a function may declare: a day, as Modal allows.
pub const MAX_TIMEOUT_SECS: u32 = 86_400;

/// The largest `memory` a function may declare, in MiB: all wasm32 can address.
pub const MAX_MEMORY_MIB: u32 = 4096;

/// The most `retries` a function may declare, as Modal allows.
pub const MAX_RETRIES: u32 = 10;

/// The longest delay between retries, in milliseconds: a minute, as Modal allows.
pub const MAX_RETRY_DELAY_MS: u32 = 60_000;

impl FunctionConfig {
    /// How long a container beyond `min_containers` may stay idle.
    pub fn scaledown_window(&self) -> Duration {
        Duration::from_secs(u64::from(self.scaledown_window_secs))
    }

    /// How long one input may run.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.timeout_secs))
    }

    /// The most linear memory one container may grow to, in bytes.
    pub fn memory_bytes(&self) -> usize {
        (self.memory_mib as usize) << 20
    }

    /// The delay before retry number `retry` (1 for the first): the initial delay, doubled
    /// for each retry before it, at most a minute.
    pub fn retry_delay(&self, retry: u32) -> Duration {
        let doubled = u64::from(self.retry_delay_ms) << retry.saturating_sub(1).min(16);
        Duration::from_millis(doubled.min(u64::from(MAX_RETRY_DELAY_MS)))
    }

    /// The first option out of its range: its name and what is wrong.
    fn invalid(&self) -> Option<(&'static str, String)> {
        if self.min_containers > self.max_containers {
            return Some((
                "min_containers",
                format!(
                    "is {}; it must be at most max_containers ({})",
                    self.min_containers, self.max_containers
                ),
            ));
        }
        let ranges = [
            ("max_inputs", self.max_inputs, 1, u32::MAX, ""),
            ("max_containers", self.max_containers, 1, u32::MAX, ""),
            (
                "scaledown_window",
                self.scaledown_window_secs,
                2,
                MAX_SCALEDOWN_WINDOW_SECS,
                " s",
            ),
            ("timeout", self.timeout_secs, 1, MAX_TIMEOUT_SECS, " s"),
            ("retries", self.retries, 0, MAX_RETRIES, ""),
            (
                "retry_delay",
                self.retry_delay_ms,
                0,
                MAX_RETRY_DELAY_MS,
                " ms",
            ),
            ("memory", self.memory_mib, 1, MAX_MEMORY_MIB, " MiB"),
        ];
        ranges
            .into_iter()
            .find(|(_, value, min, max, _)| !(min..=max).contains(&value))
            .map(|(option, value, min, max, unit)| {
                (
                    option,
                    format!("is {value}{unit}; it must be from {min} to {max}{unit}"),
                )
            })
    }
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
    /// What the component says of a function, its options checked.
    pub(crate) fn checked(
        info: bindings::FunctionInfo,
        component: PathBuf,
    ) -> Result<Self, LoadError> {
        let info = Self::new(info, component);
        match info.config.invalid() {
            Some((option, reason)) => Err(LoadError::InvalidOption {
                path: info.component,
                function: info.name,
                option,
                reason,
            }),
            None => Ok(info),
        }
    }

    fn new(info: bindings::FunctionInfo, component: PathBuf) -> Self {
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
                min_containers: info.config.min_containers,
                scaledown_window_secs: info.config.scaledown_window_secs,
                timeout_secs: info.config.timeout_secs,
                memory_mib: info.config.memory_mib,
                retries: info.config.retries,
                retry_delay_ms: info.config.retry_delay_ms,
            },
            component,
        }
    }

    pub(crate) fn is_async(&self) -> bool {
        self.kind == BodyKind::Async
    }
}

/// What governs one call: how long each attempt may run and how many retries it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
}

impl FunctionConfig {
    /// The policy of calls that override nothing.
    pub(crate) fn policy(&self) -> Policy {
        Policy {
            timeout: self.timeout(),
            retries: self.retries,
        }
    }
}

/// Options of one call site that override the function's own, like Modal's `with_options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// How long each attempt may run (1 s to 24 h).
    pub timeout: Option<Duration>,
    /// How many times a failed call runs again (0 to 10).
    pub retries: Option<u32>,
}

/// A handle to one function of an [`App`](crate::App). Cheap to clone.
#[derive(Clone)]
pub struct Function {
    app: Arc<AppShared>,
    pool: Arc<Pool>,
    policy: Policy,
}

impl Function {
    pub(crate) fn new(app: Arc<AppShared>, pool: Arc<Pool>) -> Self {
        let policy = pool.info().config.policy();
        Function { app, pool, policy }
    }

    /// This function with `options` overriding its own for calls made through the handle
    /// returned; options out of range fail with [`Error::BadArguments`].
    pub fn with_options(&self, options: CallOptions) -> Result<Function, Error> {
        let mut policy = self.policy;
        if let Some(timeout) = options.timeout {
            let range = Duration::from_secs(1)..=Duration::from_secs(u64::from(MAX_TIMEOUT_SECS));
            if !range.contains(&timeout) {
                return Err(Error::BadArguments(format!(
                    "timeout {timeout:?}: it must be from 1 s to {MAX_TIMEOUT_SECS} s"
                )));
            }
            policy.timeout = timeout;
        }
        if let Some(retries) = options.retries {
            if retries > MAX_RETRIES {
                return Err(Error::BadArguments(format!(
                    "retries {retries}: it must be from 0 to {MAX_RETRIES}"
                )));
            }
            policy.retries = retries;
        }
        Ok(Function {
            policy,
            ..self.clone()
        })
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
        let submitted = self.app.submit_to(&self.pool, args, self.policy);
        wait(&self.info().name, Ok(submitted)).await
    }

    /// Starts the function in the background and returns a handle to its result at once.
    pub fn spawn<R: DeserializeOwned>(
        &self,
        args: impl Serialize,
    ) -> Result<FunctionCall<R>, Error> {
        let args = encode_args(&args)?;
        Ok(FunctionCall::new(PendingCall::waiting(
            &self.info().name,
            Ok(self.app.submit_to(&self.pool, args, self.policy)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_inputs: u32, max_containers: u32, timeout_secs: u32) -> FunctionConfig {
        FunctionConfig {
            max_inputs,
            max_containers,
            min_containers: 0,
            scaledown_window_secs: 60,
            timeout_secs,
            memory_mib: 512,
            retries: 0,
            retry_delay_ms: 1000,
        }
    }

    #[test]
    fn options_out_of_range_are_named() {
        assert_eq!(config(1, 1, 300).invalid(), None);
        assert_eq!(config(0, 1, 300).invalid().unwrap().0, "max_inputs");
        assert_eq!(config(1, 0, 300).invalid().unwrap().0, "max_containers");
        assert_eq!(config(1, 1, 0).invalid().unwrap().0, "timeout");
        assert_eq!(
            config(1, 1, MAX_TIMEOUT_SECS + 1).invalid().unwrap().0,
            "timeout"
        );
        assert_eq!(config(1, 1, MAX_TIMEOUT_SECS).invalid(), None);
        let scaling = |min_containers, scaledown_window_secs| FunctionConfig {
            min_containers,
            scaledown_window_secs,
            ..config(1, 2, 300)
        };
        assert_eq!(scaling(3, 60).invalid().unwrap().0, "min_containers");
        assert_eq!(scaling(2, 1).invalid().unwrap().0, "scaledown_window");
        assert_eq!(
            scaling(2, MAX_SCALEDOWN_WINDOW_SECS + 1)
                .invalid()
                .unwrap()
                .0,
            "scaledown_window"
        );
        assert_eq!(scaling(2, MAX_SCALEDOWN_WINDOW_SECS).invalid(), None);
        let memory = |memory_mib| FunctionConfig {
            memory_mib,
            ..config(1, 1, 300)
        };
        assert_eq!(memory(0).invalid().unwrap().0, "memory");
        assert_eq!(memory(MAX_MEMORY_MIB + 1).invalid().unwrap().0, "memory");
        assert_eq!(memory(MAX_MEMORY_MIB).invalid(), None);
        let retries = |retries, retry_delay_ms| FunctionConfig {
            retries,
            retry_delay_ms,
            ..config(1, 1, 300)
        };
        assert_eq!(retries(MAX_RETRIES + 1, 0).invalid().unwrap().0, "retries");
        assert_eq!(
            retries(1, MAX_RETRY_DELAY_MS + 1).invalid().unwrap().0,
            "retry_delay"
        );
        assert_eq!(retries(MAX_RETRIES, MAX_RETRY_DELAY_MS).invalid(), None);
    }

    #[test]
    fn retry_delays_double_up_to_a_minute() {
        let policy = FunctionConfig {
            retries: 10,
            retry_delay_ms: 1000,
            ..config(1, 1, 300)
        };
        let delays: Vec<u64> = (1..=8)
            .map(|retry| policy.retry_delay(retry).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
    }
}
