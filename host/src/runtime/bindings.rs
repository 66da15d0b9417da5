//! Host-side bindings to the `fnhost:runtime` contract, generated from `wit/`.
//!
//! The blocking imports (`call`, `function-call.get`, `wait-finished`, `sleep`) are plain WIT functions the host
//! implements as Rust `async fn`s: to the guest they block, and to wasmtime they suspend the
//! calling store's fiber, so the instance waits while every other container goes on. The
//! `async func` imports are concurrent: only the calling guest task waits.
//!
//! The sandboxes interface's blocking imports (making a sandbox, starting, feeding, reading
//! and waiting for its processes) are async on the host too.
//!
//! The storage interface's blocking imports (every dict, queue and volume operation but `id`
//! and `name`) are async on the host for the same reason: they wait on the store's writer, or
//! for an item, with the calling store suspended.
//!
//! The contract's `call-error` converts to and from [`Error`] one to one here, its
//! `storage-error` to and from [`StorageError`], and its `function-config` (what an author
//! declared, or a call's `containers`) to [`FunctionOptions`]; its `secret-source`s and
//! `volume-mount`s (a function's, or a call's `with_options`) are checked here into the
//! host's (`secrets_of`, `volumes_of`).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "fnhost:runtime/app",
    imports: {
        "fnhost:runtime/host.call": async | trappable,
        "fnhost:runtime/host.spawn": store | trappable,
        "fnhost:runtime/host.call-gen": store | trappable,
        "fnhost:runtime/host.[method]function-call.get": async | trappable,
        "fnhost:runtime/host.sleep": async | trappable,
        "fnhost:runtime/host.wait-finished": async | trappable,
        "fnhost:runtime/host.[method]item-sink.send": async | trappable,
        "fnhost:runtime/host.[method]item-stream.next": async | trappable,
        "fnhost:runtime/storage.[static]dict.open": async | trappable,
        "fnhost:runtime/storage.[static]dict.ephemeral": async | trappable,
        "fnhost:runtime/storage.[static]dict.from-id": async | trappable,
        "fnhost:runtime/storage.[method]dict.get": async | trappable,
        "fnhost:runtime/storage.[method]dict.contains": async | trappable,
        "fnhost:runtime/storage.[method]dict.put": async | trappable,
        "fnhost:runtime/storage.[method]dict.pop": async | trappable,
        "fnhost:runtime/storage.[method]dict.update": async | trappable,
        "fnhost:runtime/storage.[method]dict.len": async | trappable,
        "fnhost:runtime/storage.[method]dict.clear": async | trappable,
        "fnhost:runtime/storage.[method]dict.entries": async | trappable,
        "fnhost:runtime/storage.[static]queue.open": async | trappable,
        "fnhost:runtime/storage.[static]queue.ephemeral": async | trappable,
        "fnhost:runtime/storage.[static]queue.from-id": async | trappable,
        "fnhost:runtime/storage.[method]queue.put": async | trappable,
        "fnhost:runtime/storage.[method]queue.get": async | trappable,
        "fnhost:runtime/storage.[method]queue.len": async | trappable,
        "fnhost:runtime/storage.[method]queue.clear": async | trappable,
        "fnhost:runtime/storage.[method]queue.items": async | trappable,
        "fnhost:runtime/storage.[static]volume.open": async | trappable,
        "fnhost:runtime/storage.[method]volume.commit": async | trappable,
        "fnhost:runtime/storage.[method]volume.reload": async | trappable,
        "fnhost:runtime/storage.[method]volume.listdir": async | trappable,
        "fnhost:runtime/storage.[method]volume.read-file": async | trappable,
        "fnhost:runtime/storage.[method]volume.remove-file": async | trappable,
        "fnhost:runtime/sandboxes.[static]sandbox.create": async | trappable,
        "fnhost:runtime/sandboxes.[method]sandbox.exec": async | trappable,
        "fnhost:runtime/sandboxes.[method]sandbox.wait": async | trappable,
        "fnhost:runtime/sandboxes.[method]sandbox.terminate": async | trappable,
        "fnhost:runtime/sandboxes.[method]process.write-stdin": async | trappable,
        "fnhost:runtime/sandboxes.[method]process.read": async | trappable,
        "fnhost:runtime/sandboxes.[method]process.wait": async | trappable,
        default: trappable,
    },
    with: {
        "fnhost:runtime/host.function-call": crate::retained::CallHandle,
        "fnhost:runtime/host.item-sink": crate::dispatch::items::ItemSink,
        "fnhost:runtime/host.item-stream": crate::dispatch::items::ItemStream,
        "fnhost:runtime/storage.dict": crate::storage::Dict,
        "fnhost:runtime/storage.queue": crate::storage::Queue,
        "fnhost:runtime/storage.volume": crate::storage::Volume,
        "fnhost:runtime/sandboxes.sandbox": crate::runtime::sandbox::Sandbox,
        "fnhost:runtime/sandboxes.process": crate::runtime::sandbox::Process,
    },
});

/// Host-side bindings to `wasi:keyvalue@0.2.0-draft2` (`wit/keyvalue/`), served over the dicts
/// (`container::keyvalue`). Every import is async on the host, as the storage interface's
/// blocking imports are: it waits on the store with the calling store suspended.
pub(crate) mod keyvalue {
    wasmtime::component::bindgen!({
        path: "../wit/keyvalue",
        world: "wasi:keyvalue/imports",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": crate::storage::Dict,
            "wasi:keyvalue/atomics.cas": Cas,
        },
    });

    /// A compare-and-swap: a key of a dict and the value it held when the `cas` was made.
    pub struct Cas {
        pub(crate) dict: crate::storage::Dict,
        /// The key, as the dict keeps it (JSON).
        pub(crate) key: Vec<u8>,
        /// The stored JSON of the value then; `None` when the key was absent.
        pub(crate) seen: Option<Vec<u8>>,
    }
}

pub(crate) use self::fnhost::runtime::types::{
    AppInfo, Batching, BodyKind, CallError, ClassInfo, EnterPhase, FunctionConfig, FunctionInfo,
    SecretSource as WitSecretSource, VolumeMount as WitVolumeMount,
};

use self::fnhost::runtime::storage::StorageError as WitStorageError;
use crate::info::{SecretSource, VolumeMount};
use crate::options::FunctionOptions;
use crate::storage::{SecretValues, StorageError, check_name};
use crate::{Error, LoadError};
use std::path::Path;
use std::time::Duration;

impl From<CallError> for Error {
    fn from(error: CallError) -> Self {
        match error {
            CallError::NotFound(message) => Error::NotFound(message),
            CallError::BadArguments(message) => Error::BadArguments(message),
            CallError::User(message) => Error::User(message),
            CallError::Trapped(message) => Error::Trapped(message),
            CallError::Timeout(message) => Error::Timeout(message),
            CallError::Cancelled(message) => Error::Cancelled(message),
            CallError::Overloaded(message) => Error::Overloaded(message),
            CallError::TooDeep(message) => Error::TooDeep(message),
            CallError::Payload(message) => Error::Payload(message),
        }
    }
}

impl From<Error> for CallError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(message) => CallError::NotFound(message),
            Error::BadArguments(message) => CallError::BadArguments(message),
            Error::Payload(message) => CallError::Payload(message),
            Error::User(message) => CallError::User(message),
            Error::Trapped(message) => CallError::Trapped(message),
            Error::Timeout(message) => CallError::Timeout(message),
            Error::Cancelled(message) => CallError::Cancelled(message),
            Error::Overloaded(message) => CallError::Overloaded(message),
            Error::TooDeep(message) => CallError::TooDeep(message),
        }
    }
}

impl From<StorageError> for WitStorageError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound(message) => WitStorageError::NotFound(message),
            StorageError::Invalid(message) => WitStorageError::Invalid(message),
            StorageError::TooLarge(message) => WitStorageError::TooLarge(message),
            StorageError::Full(message) => WitStorageError::Full(message),
            StorageError::Unavailable(message) => WitStorageError::Unavailable(message),
        }
    }
}

impl From<&FunctionConfig> for FunctionOptions {
    /// The options the contract's wire form sets (units in the field names).
    fn from(config: &FunctionConfig) -> FunctionOptions {
        let seconds = |secs: Option<u32>| secs.map(|secs| Duration::from_secs(u64::from(secs)));
        let millis = |ms: Option<u32>| ms.map(|ms| Duration::from_millis(u64::from(ms)));
        FunctionOptions {
            max_inputs: config.max_inputs,
            target_inputs: config.target_inputs,
            max_containers: config.max_containers,
            min_containers: config.min_containers,
            buffer_containers: config.buffer_containers,
            scaledown_window: seconds(config.scaledown_window_secs),
            timeout: seconds(config.timeout_secs),
            memory: config.memory_mib,
            cpu: config
                .cpu_millicores
                .map(|millicores| f64::from(millicores) / 1000.0),
            retries: config.retries,
            initial_delay: millis(config.retry_delay_ms),
            backoff_coefficient: config.backoff_coefficient.map(f64::from),
            max_delay: millis(config.max_retry_delay_ms),
        }
    }
}

/// Where a function's secret variables come from, as the component says; inline values are
/// checked as the store checks a secret's (an error names a key, never a value).
pub(crate) fn secrets_of(
    function: &str,
    component: &Path,
    secrets: Vec<WitSecretSource>,
) -> Result<Vec<SecretSource>, LoadError> {
    secrets
        .into_iter()
        .map(|source| {
            secret_source(source).map_err(|error| LoadError::InvalidOption {
                path: component.to_owned(),
                function: function.to_owned(),
                option: "secrets",
                reason: error.to_string(),
            })
        })
        .collect()
}

/// One secret source as the contract passes it, its inline values checked as the store checks
/// a secret's: a function's, or a sandbox's a guest makes.
pub(crate) fn secret_source(source: WitSecretSource) -> Result<SecretSource, StorageError> {
    match source {
        WitSecretSource::Named(name) => Ok(SecretSource::Named(name)),
        WitSecretSource::Inline(pairs) => SecretValues::new(pairs).map(SecretSource::Inline),
    }
}

/// The volumes a function mounts, as the component says: each at an absolute path of plain
/// components, not `/`, no two at the same path, each a valid volume name.
pub(crate) fn volumes_of(
    function: &str,
    component: &Path,
    mounts: Vec<WitVolumeMount>,
) -> Result<Vec<VolumeMount>, LoadError> {
    let invalid = |reason: String| LoadError::InvalidOption {
        path: component.to_owned(),
        function: function.to_owned(),
        option: "volumes",
        reason,
    };
    let mut seen = std::collections::HashSet::new();
    mounts
        .into_iter()
        .map(|mount| {
            let plain = Path::new(&mount.path)
                .components()
                .skip(1)
                .all(|part| matches!(part, std::path::Component::Normal(_)));
            if !mount.path.starts_with('/') || mount.path == "/" || !plain {
                return Err(invalid(format!(
                    "`{}` is not a mount point: give an absolute path such as `/data`, with no \
                     `.` or `..`",
                    mount.path
                )));
            }
            check_name(&mount.volume).map_err(|error| invalid(error.to_string()))?;
            if !seen.insert(mount.path.trim_end_matches('/').to_owned()) {
                return Err(invalid(format!(
                    "two volumes are mounted at `{}`",
                    mount.path
                )));
            }
            Ok(VolumeMount {
                path: mount.path,
                volume: mount.volume,
                create_if_missing: mount.create_if_missing,
            })
        })
        .collect()
}
