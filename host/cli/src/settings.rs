//! What the operator sets in the environment: the only place the command line reads it.
//!
//! - `FNHOST_CACHE_DIR`: where compiled components are kept; `off` turns the cache off; unset
//!   or empty, the user's cache directory (`~/.cache/fnhost` on Linux).
//! - `FNHOST_MAX_INSTANCES`, `FNHOST_MAX_QUEUED`, `FNHOST_MAX_CALL_DEPTH`, `FNHOST_MAX_HANDLES`
//!   and `FNHOST_MEMORY_BUDGET` (MiB of guest memory the host's containers may hold at once):
//!   positive counts; unset, not a number, or zero keeps the library's default
//!   ([`HostSettings::default`]).
//! - `FNHOST_STATE_DIR`: where dicts and queues are kept (`store.redb`, opened when an app
//!   first uses one); unset or empty, the server's default state directory
//!   (`~/.local/share/fnhost` on Linux), so `fnhost run` and `fnhost serve` share them.
//!   `fnhost serve --state-dir` wins over it.
//! - `FNHOST_LOG`: which logs to print (a `tracing` filter, default `warn`).
//! - `FNHOST_URL`: the server the server commands talk to (`--url` wins over it), and, when
//!   set, where `fnhost call`, `fnhost list` and `fnhost map` go instead of loading the app.
//! - `FNHOST_TOKEN`: the server's token, for the server commands and for `fnhost serve`
//!   (`--token` wins over it).
//!
//! Invariant: an empty variable counts as unset.

use fnhost::{CompileCache, HostSettings};
use fnhost_server::ServerSettings;
use std::path::PathBuf;
use std::str::FromStr;
use tracing_subscriber::EnvFilter;

/// What the environment sets for every command.
pub(crate) struct Settings {
    /// The host's settings, for the commands that load apps (and `serve`).
    pub(crate) host: HostSettings,
    /// `FNHOST_URL`.
    pub(crate) url: Option<String>,
    /// `FNHOST_TOKEN`.
    pub(crate) token: Option<String>,
}

/// The settings the environment gives.
pub(crate) fn from_env() -> Settings {
    Settings {
        host: host_settings(),
        url: text("FNHOST_URL"),
        token: text("FNHOST_TOKEN"),
    }
}

/// The host's settings: [`HostSettings::default`], changed by what the environment asks for.
fn host_settings() -> HostSettings {
    let default = HostSettings::default();
    HostSettings {
        max_instances: count("FNHOST_MAX_INSTANCES", default.max_instances),
        max_queued: count("FNHOST_MAX_QUEUED", default.max_queued),
        max_call_depth: count("FNHOST_MAX_CALL_DEPTH", default.max_call_depth),
        memory_budget: count("FNHOST_MEMORY_BUDGET", default.memory_budget >> 20) << 20,
        max_handles: count("FNHOST_MAX_HANDLES", default.max_handles),
        cache: cache(),
        state_dir: Some(state_dir()),
        ..default
    }
}

/// The text in the environment variable `name`, unless it is unset, empty or not UTF-8.
fn text(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|text| !text.is_empty())
}

/// The state directory `FNHOST_STATE_DIR` names, or the server's default one.
fn state_dir() -> PathBuf {
    text("FNHOST_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(ServerSettings::default_state_dir)
}

/// The log filter in `FNHOST_LOG`, or `warn` when it is unset or not a filter.
pub(crate) fn log_filter() -> EnvFilter {
    EnvFilter::try_from_env("FNHOST_LOG").unwrap_or_else(|_| EnvFilter::new("warn"))
}

/// The compile cache `FNHOST_CACHE_DIR` asks for.
pub(crate) fn cache() -> CompileCache {
    match std::env::var_os("FNHOST_CACHE_DIR") {
        Some(dir) if dir == "off" => CompileCache::disabled(),
        Some(dir) if !dir.is_empty() => CompileCache::in_dir(dir),
        _ => CompileCache::user_default(),
    }
}

/// The positive count in the environment variable `name`, or `default` when it is unset, not
/// a number, or zero.
fn count<T: FromStr + Default + PartialEq>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|count| count.parse().ok())
        .filter(|count| *count != T::default())
        .unwrap_or(default)
}
