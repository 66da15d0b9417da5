//! What the app knows of a function, and the handle callers use: `remote`, `spawn`, `map`.
//!
//! Arguments travel as a JSON array (pass a tuple: `()`, `(x,)`, `(x, y)`); results as the JSON
//! value of what the body returned.

use crate::app::{AppShared, submit_to};
use crate::call::{FunctionCall, PendingCall, wait};
use crate::overrides::FunctionOptions;
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

/// The options a function declared (see the README for their meaning, defaults and ranges).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FunctionConfig {
    /// Inputs one container runs at once.
    pub max_inputs: u32,
    /// Inputs the autoscaler aims to give one container before it starts another.
    pub target_inputs: u32,
    /// Containers the function may have at once.
    pub max_containers: u32,
    /// Containers kept running even when idle, started when the app loads.
    pub min_containers: u32,
    /// Idle containers kept ready beyond the busy ones while the function has inputs running.
    pub buffer_containers: u32,
    /// How long, in seconds, a container beyond `min_containers` may stay idle.
    pub scaledown_window_secs: u32,
    /// How long one attempt may run, in seconds.
    pub timeout_secs: u32,
    /// The most linear memory one container may grow to, in MiB.
    pub memory_mib: u32,
    /// The CPU one container may use, in thousandths of a core; 0 for no limit.
    pub cpu_millicores: u32,
    /// How many times a failed input runs again.
    pub retries: u32,
    /// The delay before the first retry, in milliseconds.
    pub retry_delay_ms: u32,
    /// What each next retry delay is multiplied by.
    pub backoff_coefficient: f32,
    /// The longest delay between retries, in milliseconds.
    pub max_retry_delay_ms: u32,
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

/// The smallest and largest CPU budgets, in thousandths of a core (0 means no limit).
pub const CPU_MILLICORES: std::ops::RangeInclusive<u32> = 50..=64_000;

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

    /// The delay before retry number `retry` (1 for the first): the initial delay, multiplied
    /// by the backoff coefficient for each retry before it, at most the longest delay.
    pub fn retry_delay(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let delay =
            f64::from(self.retry_delay_ms) * f64::from(self.backoff_coefficient).powi(exponent);
        Duration::from_millis(delay.min(f64::from(self.max_retry_delay_ms)) as u64)
    }

    /// This configuration with `overrides` applied, checked: or the first option out of its
    /// range, and what is wrong with it.
    pub(crate) fn overridden(
        self,
        overrides: &FunctionOptions,
    ) -> Result<FunctionConfig, (&'static str, String)> {
        let config = overrides.apply(self)?;
        match config.invalid() {
            Some(invalid) => Err(invalid),
            None => Ok(config),
        }
    }

    /// The first option out of its range: its name and what is wrong.
    fn invalid(&self) -> Option<(&'static str, String)> {
        let ranges = [
            ("max_inputs", self.max_inputs, 1, u32::MAX, ""),
            ("target_inputs", self.target_inputs, 1, u32::MAX, ""),
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
                "initial_delay",
                self.retry_delay_ms,
                0,
                MAX_RETRY_DELAY_MS,
                " ms",
            ),
            (
                "max_delay",
                self.max_retry_delay_ms,
                1000,
                MAX_RETRY_DELAY_MS,
                " ms",
            ),
            ("memory", self.memory_mib, 1, MAX_MEMORY_MIB, " MiB"),
        ];
        let out_of_range = ranges
            .into_iter()
            .find(|(_, value, min, max, _)| !(min..=max).contains(&value))
            .map(|(option, value, min, max, unit)| {
                (
                    option,
                    format!("is {value}{unit}; it must be from {min} to {max}{unit}"),
                )
            });
        if out_of_range.is_some() {
            return out_of_range;
        }
        let at_most = |option, value: u32, limit_name, limit: u32| {
            (value > limit).then(|| {
                (
                    option,
                    format!("is {value}; it must be at most {limit_name} ({limit})"),
                )
            })
        };
        let checks = [
            at_most(
                "target_inputs",
                self.target_inputs,
                "max_inputs",
                self.max_inputs,
            ),
            at_most(
                "min_containers",
                self.min_containers,
                "max_containers",
                self.max_containers,
            ),
            at_most(
                "buffer_containers",
                self.buffer_containers,
                "max_containers",
                self.max_containers,
            ),
        ];
        if let Some(invalid) = checks.into_iter().flatten().next() {
            return Some(invalid);
        }
        if self.cpu_millicores != 0 && !CPU_MILLICORES.contains(&self.cpu_millicores) {
            return Some((
                "cpu",
                format!(
                    "is {} millicores; it must be 0 (no limit) or from {} to {}",
                    self.cpu_millicores,
                    CPU_MILLICORES.start(),
                    CPU_MILLICORES.end()
                ),
            ));
        }
        if !(1.0..=10.0).contains(&self.backoff_coefficient) {
            return Some((
                "backoff_coefficient",
                format!(
                    "is {}; it must be from 1.0 to 10.0",
                    self.backoff_coefficient
                ),
            ));
        }
        None
    }
}

/// A function or entrypoint of the app, as its component describes it.
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
    /// What the component says of a function, with `overrides` applied and its options
    /// checked.
    pub(crate) fn checked(
        info: bindings::FunctionInfo,
        component: PathBuf,
        overrides: FunctionOptions,
    ) -> Result<Self, LoadError> {
        let mut info = Self::new(info, component);
        let checked = overrides
            .apply(info.config)
            .and_then(|config| match config.invalid() {
                Some(invalid) => Err(invalid),
                None => Ok(config),
            });
        match checked {
            Ok(config) => {
                info.config = config;
                Ok(info)
            }
            Err((option, reason)) => Err(LoadError::InvalidOption {
                path: info.component,
                function: info.name,
                option,
                reason,
            }),
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
                target_inputs: info.config.target_inputs,
                max_containers: info.config.max_containers,
                min_containers: info.config.min_containers,
                buffer_containers: info.config.buffer_containers,
                scaledown_window_secs: info.config.scaledown_window_secs,
                timeout_secs: info.config.timeout_secs,
                memory_mib: info.config.memory_mib,
                cpu_millicores: info.config.cpu_millicores,
                retries: info.config.retries,
                retry_delay_ms: info.config.retry_delay_ms,
                backoff_coefficient: info.config.backoff_coefficient,
                max_retry_delay_ms: info.config.max_retry_delay_ms,
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

impl Policy {
    /// This policy with a call site's `timeout` and `retries` overriding it, when they are in
    /// range.
    pub(crate) fn overridden(mut self, options: &FunctionOptions) -> Result<Policy, Error> {
        if let Some(timeout) = options.timeout {
            let range = Duration::from_secs(1)..=Duration::from_secs(u64::from(MAX_TIMEOUT_SECS));
            if !range.contains(&timeout) {
                return Err(Error::BadArguments(format!(
                    "timeout {timeout:?}: it must be from 1 s to {MAX_TIMEOUT_SECS} s"
                )));
            }
            self.timeout = timeout;
        }
        if let Some(retries) = options.retries {
            if retries > MAX_RETRIES {
                return Err(Error::BadArguments(format!(
                    "retries {retries}: it must be from 0 to {MAX_RETRIES}"
                )));
            }
            self.retries = retries;
        }
        Ok(self)
    }
}

/// A handle to one function of an [`App`](crate::App). Cheap to clone.
#[derive(Clone)]
pub struct Function {
    /// Keeps the app alive while the handle is (its containers hold it weakly).
    app: Arc<AppShared>,
    pool: Arc<Pool>,
    policy: Policy,
    /// Set when `pool` is this handle's own (from `with_options`): closes it with the handle's
    /// last clone.
    _own_pool: Option<Arc<OwnPool>>,
}

/// A pool made for one `with_options` handle; closed when the last clone of the handle goes
/// (its running inputs finish, its queued ones fail).
struct OwnPool(Arc<Pool>);

impl Drop for OwnPool {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Function {
    pub(crate) fn new(app: Arc<AppShared>, pool: Arc<Pool>) -> Self {
        let policy = pool.info().config.policy();
        Function {
            app,
            pool,
            policy,
            _own_pool: None,
        }
    }

    /// This function with `options` overriding its own for the calls made through the handle
    /// returned, like Modal's `with_options`. `timeout` and `retries` apply to each call; any
    /// other option shapes containers, so the handle gets a pool of its own, configured so,
    /// beside the function's (guest callers reach the function's). Options out of range fail
    /// with [`Error::BadArguments`] naming the option.
    pub fn with_options(&self, options: FunctionOptions) -> Result<Function, Error> {
        let policy = self.policy.overridden(&options)?;
        if !options.shapes_pool() {
            return Ok(Function {
                policy,
                ..self.clone()
            });
        }
        let config = self
            .info()
            .config
            .overridden(&options)
            .map_err(|(option, reason)| {
                Error::BadArguments(format!("option `{option}` {reason}"))
            })?;
        let pool = Arc::new(self.pool.reconfigured(config));
        pool.keep_minimum();
        Ok(Function {
            app: Arc::clone(&self.app),
            pool: Arc::clone(&pool),
            policy,
            _own_pool: Some(Arc::new(OwnPool(pool))),
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
        let submitted = submit_to(&self.pool, args, self.policy, None);
        wait(&self.info().name, submitted).await
    }

    /// Starts the function in the background and returns a handle to its result at once.
    pub fn spawn<R: DeserializeOwned>(
        &self,
        args: impl Serialize,
    ) -> Result<FunctionCall<R>, Error> {
        let args = encode_args(&args)?;
        Ok(FunctionCall::new(PendingCall::waiting(
            &self.info().name,
            submit_to(&self.pool, args, self.policy, None),
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
            target_inputs: max_inputs.max(1),
            max_containers,
            min_containers: 0,
            buffer_containers: 0,
            scaledown_window_secs: 60,
            timeout_secs,
            memory_mib: 512,
            cpu_millicores: 0,
            retries: 0,
            retry_delay_ms: 1000,
            backoff_coefficient: 2.0,
            max_retry_delay_ms: MAX_RETRY_DELAY_MS,
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
            "initial_delay"
        );
        assert_eq!(retries(MAX_RETRIES, MAX_RETRY_DELAY_MS).invalid(), None);
        let scaling = |target_inputs, buffer_containers, cpu_millicores| FunctionConfig {
            target_inputs,
            buffer_containers,
            cpu_millicores,
            ..config(4, 2, 300)
        };
        assert_eq!(scaling(4, 2, 0).invalid(), None);
        assert_eq!(scaling(5, 2, 0).invalid().unwrap().0, "target_inputs");
        assert_eq!(scaling(0, 2, 0).invalid().unwrap().0, "target_inputs");
        assert_eq!(scaling(4, 3, 0).invalid().unwrap().0, "buffer_containers");
        assert_eq!(scaling(4, 2, 49).invalid().unwrap().0, "cpu");
        assert_eq!(scaling(4, 2, 50).invalid(), None);
        assert_eq!(scaling(4, 2, 64_001).invalid().unwrap().0, "cpu");
        let backoff = |backoff_coefficient, max_retry_delay_ms| FunctionConfig {
            backoff_coefficient,
            max_retry_delay_ms,
            ..config(1, 1, 300)
        };
        assert_eq!(
            backoff(0.5, 1000).invalid().unwrap().0,
            "backoff_coefficient"
        );
        assert_eq!(
            backoff(10.5, 1000).invalid().unwrap().0,
            "backoff_coefficient"
        );
        assert_eq!(backoff(2.0, 999).invalid().unwrap().0, "max_delay");
    }

    #[test]
    fn overrides_replace_declared_options_and_are_checked_the_same_way() {
        let mut options = FunctionOptions::default();
        options.set("timeout", "5s").unwrap();
        options.set("cpu", "0.5").unwrap();
        options.set("max_containers", "7").unwrap();
        let applied = options.apply(config(1, 1, 300)).unwrap();
        assert_eq!(
            (
                applied.timeout_secs,
                applied.cpu_millicores,
                applied.max_containers
            ),
            (5, 500, 7)
        );
        assert!(options.set("timeout", "soon").is_err());
        assert!(
            options
                .set("colour", "blue")
                .unwrap_err()
                .contains("unknown option")
        );
        options.set("timeout", "1500ms").unwrap();
        assert_eq!(options.apply(config(1, 1, 300)).unwrap_err().0, "timeout");
    }

    #[test]
    fn retry_delays_grow_by_the_coefficient_up_to_the_longest_delay() {
        let policy = |backoff_coefficient, max_retry_delay_ms| FunctionConfig {
            retries: 10,
            retry_delay_ms: 1000,
            backoff_coefficient,
            max_retry_delay_ms,
            ..config(1, 1, 300)
        };
        let delays = |policy: FunctionConfig| -> Vec<u64> {
            (1..=8)
                .map(|retry| policy.retry_delay(retry).as_secs())
                .collect()
        };
        assert_eq!(
            delays(policy(2.0, MAX_RETRY_DELAY_MS)),
            [1, 2, 4, 8, 16, 32, 60, 60]
        );
        assert_eq!(delays(policy(3.0, 10_000)), [1, 3, 9, 10, 10, 10, 10, 10]);
        assert_eq!(delays(policy(1.0, 10_000)), [1; 8]);
    }
}
