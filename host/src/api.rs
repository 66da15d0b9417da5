//! The library's public face: hosts, apps, function handles, calls in the background, and
//! their blocking twins. Everything here is a thin layer over the dispatch seam and the pools.

pub(crate) mod app;
pub mod blocking;
pub(crate) mod call;
pub(crate) mod class;
pub(crate) mod deployed;
pub(crate) mod function;
pub(crate) mod host;
mod web;
mod wire;

pub use crate::pool::PoolStats;
pub use app::{App, AppBuilder};
pub use call::FunctionCall;
pub use class::{Class, Instance};
pub use deployed::{MAX_APP_NAME, check_app_name};
pub use function::{Function, Generated};
pub use host::{
    DEFAULT_MAX_CALL_DEPTH, DEFAULT_MAX_HANDLES, DEFAULT_MAX_INSTANCES, DEFAULT_MAX_QUEUED,
    DEFAULT_MAX_RETAINED_BYTES, DEFAULT_MAX_RETAINED_CALLS, DEFAULT_RETENTION, Host, HostSettings,
};
pub use web::{HANDLER_NAME, HttpBody};
