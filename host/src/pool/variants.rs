//! The pools a guest's `with_options` makes: a function's pool configured with options that
//! shape containers (`cpu`, `memory`, `max_containers`, ...) over its own, one per distinct
//! configuration. (A class's instances get theirs among the class's pools, through
//! [`variant_config`].)
//!
//! Invariant: a configuration gets one pool, made at its first call and kept while the app is
//! (closed with it), and an app has at most [`MAX_VARIANTS`] of them for its functions, and as
//! many for each class: without the bound, a guest could make pools without end, each keeping its `min_containers`
//! running.

use crate::Error;
use crate::options::{FunctionConfig, FunctionOptions};
use crate::pool::Pool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The most pools `with_options` may make for an app's functions, and for each of its classes.
pub const MAX_VARIANTS: usize = 16;

/// The configuration of `function`'s pool made by `with_options`: `base` with `options` over
/// it, and the key that names it. Options out of range and per-call options (which the call
/// carries itself) fail with [`Error::BadArguments`].
pub(crate) fn variant_config(
    function: &str,
    base: &FunctionConfig,
    options: &FunctionOptions,
) -> Result<(FunctionConfig, String), Error> {
    if options.per_call_set() {
        return Err(Error::BadArguments(format!(
            "`{function}`: a call's timeout and retries are its own options, not its containers'"
        )));
    }
    let config = base.overridden(options).map_err(|invalid| {
        Error::BadArguments(format!("option `{}` {}", invalid.option, invalid.reason))
    })?;
    let key = serde_json::to_string(&config).expect("a configuration serializes");
    Ok((config, key))
}

/// The error for a pool made by `with_options` for `function`, past [`MAX_VARIANTS`].
pub(crate) fn too_many_variants(function: &str) -> Error {
    Error::BadArguments(format!(
        "`{function}`: {MAX_VARIANTS} pools were made by `with_options` already, the most \
         there may be: set these options where it is defined"
    ))
}

/// An app's pools made by `with_options`, by function and configuration.
#[derive(Default)]
pub(crate) struct Variants {
    pools: Mutex<HashMap<(String, String), Arc<Pool>>>,
}

impl Variants {
    /// The pool of `function` (whose own pool is `base`) with `options` over its own: the one
    /// made for that configuration before, else a new one (see [`variant_config`]; a pool
    /// past [`MAX_VARIANTS`] fails with [`Error::BadArguments`]).
    pub(crate) fn pool(
        &self,
        function: &str,
        base: &Pool,
        options: &FunctionOptions,
    ) -> Result<Arc<Pool>, Error> {
        let (config, key) = variant_config(function, &base.info().config, options)?;
        let key = (function.to_owned(), key);
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(&key) {
            return Ok(Arc::clone(pool));
        }
        if pools.len() >= MAX_VARIANTS {
            return Err(too_many_variants(function));
        }
        let pool = Arc::new(base.reconfigured(config));
        pool.keep_minimum();
        pools.insert(key, Arc::clone(&pool));
        Ok(pool)
    }

    /// Closes every pool (the app is going).
    pub(crate) fn close(&self) {
        let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        pools.values().for_each(|pool| pool.close());
    }
}
