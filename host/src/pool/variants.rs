//! The pools a guest's `with_options` makes: a function's pool configured with options that
//! shape containers (`cpu`, `memory`, `max_containers`, ...) over its own, or with other
//! secrets or volumes, one per distinct set of containers. (A class's instances get theirs
//! among the class's pools, through [`variant`].)
//!
//! Invariant: a configuration gets one pool, made at its first call and kept while the app is
//! (closed with it), and an app has at most [`MAX_VARIANTS`] of them for its functions, and as
//! many for each class: without the bound, a guest could make pools without end, each keeping its `min_containers`
//! running.

use crate::Error;
use crate::dispatch::Overrides;
use crate::info::{SecretSource, VolumeMount};
use crate::options::FunctionConfig;
use crate::pool::Pool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The most pools `with_options` may make for an app's functions, and for each of its classes.
pub const MAX_VARIANTS: usize = 16;

/// The containers of a pool made by `with_options`.
pub(crate) struct Variant {
    pub(crate) config: FunctionConfig,
    pub(crate) secrets: Vec<SecretSource>,
    pub(crate) volumes: Vec<VolumeMount>,
}

/// The containers of `function`'s pool made by `with_options`: its own (`config`, `secrets`,
/// `volumes`) with `overrides` over them, and the key that names them. Options out of range and
/// per-call options (which the call carries itself) fail with [`Error::BadArguments`].
pub(crate) fn variant(
    function: &str,
    config: &FunctionConfig,
    secrets: &[SecretSource],
    volumes: &[VolumeMount],
    overrides: &Overrides,
) -> Result<(Variant, String), Error> {
    if overrides.options.per_call_set() {
        return Err(Error::BadArguments(format!(
            "`{function}`: a call's timeout and retries are its own options, not its containers'"
        )));
    }
    let config = config.overridden(&overrides.options).map_err(|invalid| {
        Error::BadArguments(format!("option `{}` {}", invalid.option, invalid.reason))
    })?;
    let secrets = match &overrides.secrets {
        None => secrets.to_vec(),
        Some(given) => secrets
            .iter()
            .filter(|source| matches!(source, SecretSource::Inline(_)))
            .chain(given)
            .cloned()
            .collect(),
    };
    let volumes = overrides
        .volumes
        .clone()
        .unwrap_or_else(|| volumes.to_vec());
    let key = variant_key(&config, &secrets, &volumes);
    let variant = Variant {
        config,
        secrets,
        volumes,
    };
    Ok((variant, key))
}

/// The key of a variant's containers: their configuration, their secrets (an inline one by
/// its variables, values included: two differing only in a value are two pools; the key is
/// never shown) and their volumes.
fn variant_key(
    config: &FunctionConfig,
    secrets: &[SecretSource],
    volumes: &[VolumeMount],
) -> String {
    let secrets: Vec<serde_json::Value> = secrets
        .iter()
        .map(|source| match source {
            SecretSource::Named(name) => serde_json::json!(name),
            SecretSource::Inline(values) => serde_json::json!(values.vars().collect::<Vec<_>>()),
        })
        .collect();
    serde_json::json!([config, secrets, volumes]).to_string()
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
    /// The pool of `function` (whose own pool is `base`) with `overrides` over its own: the one
    /// made for those containers before, else a new one (see [`variant`]; a pool past
    /// [`MAX_VARIANTS`] fails with [`Error::BadArguments`]).
    pub(crate) fn pool(
        &self,
        function: &str,
        base: &Pool,
        overrides: &Overrides,
    ) -> Result<Arc<Pool>, Error> {
        let info = base.info();
        let (variant, key) = variant(
            function,
            &info.config,
            &info.secrets,
            &info.volumes,
            overrides,
        )?;
        let key = (function.to_owned(), key);
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(&key) {
            return Ok(Arc::clone(pool));
        }
        if pools.len() >= MAX_VARIANTS {
            return Err(too_many_variants(function));
        }
        let pool = Arc::new(base.reconfigured(variant));
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
