//! The pools of a class (Modal's `@app.cls`): one per distinct set of parameter values, each
//! autoscaled like a function's, whose containers each build one instance of the class from
//! those values (running its `enter` hooks) before their first input and run its `exit` hooks
//! when they retire.
//!
//! Invariant: a set of parameter values maps to exactly one pool for the class's life, keyed
//! by the values' canonical encoding (keys sorted), so that `Model(size=3)` called from any
//! caller lands on the same warm containers. Without it every call could start a container and
//! pay `enter` again. The number of distinct sets is capped ([`MAX_PARAMETER_SETS`]): each
//! pool is small when idle, but a caller minting values in a loop must not grow the host
//! without bound. A method called through `Cls.with_options` runs in a pool of its instance
//! configured so, one per distinct configuration, at most [`MAX_VARIANTS`] for the class.

use crate::Error;
use crate::container::Entering;
use crate::container::state::ContainerContext;
use crate::container::state::ContainerState;
use crate::dispatch::Overrides;
use crate::dispatch::{Dispatch, Receiver, Request};
use crate::info::{ClassInfo, FunctionInfo};
use crate::load::CompileCache;
use crate::load::component::LoadedComponent;
use crate::load::snapshot;
use crate::pool::variants::{MAX_VARIANTS, Variant, too_many_variants, variant};
use crate::pool::{Limits, Pool, PoolStats};
use crate::runtime::bindings::{AppPre, EnterPhase};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The most distinct sets of parameter values one class serves (a pool each).
pub const MAX_PARAMETER_SETS: usize = 1000;

/// What a class's pool binds its containers to: the class, and the parameter values (a JSON
/// object, canonical) each container builds its instance from; for a class with a snap
/// `enter` hook, the snapshot its containers start from.
#[derive(Clone)]
pub(crate) struct Bound {
    pub(crate) class: Arc<ClassInfo>,
    pub(crate) params: Arc<[u8]>,
    pub(crate) snapshot: Option<Arc<Snapshot>>,
}

impl Bound {
    /// What its containers build, and which `enter` hooks they run: all of them; or, started
    /// from the snapshot, the others (none at all when there are none).
    pub(crate) fn entering(&self) -> Entering<'_> {
        let phase = match (&self.snapshot, self.class.live_enter) {
            (None, _) => Some(EnterPhase::All),
            (Some(_), true) => Some(EnterPhase::Restored),
            (Some(_), false) => None,
        };
        Entering {
            class: &self.class.name,
            params: &self.params,
            phase,
        }
    }
}

/// The snapshot of one instance after its snap hooks: made by the first container start that
/// needs it (the others wait for it), then shared; a failure is kept too (every start fails
/// with it).
pub(crate) struct Snapshot {
    made: tokio::sync::OnceCell<Result<AppPre<ContainerState>, Error>>,
    cache: CompileCache,
}

impl Snapshot {
    /// What the containers of `bound` (of `component`) start from: the snapshot, made now when
    /// it is not yet.
    pub(crate) async fn pre(
        &self,
        bound: &Bound,
        component: &LoadedComponent,
        context: &ContainerContext,
    ) -> Result<AppPre<ContainerState>, Error> {
        self.made
            .get_or_init(|| {
                snapshot::snapshot(component, context, &self.cache, &bound.class, &bound.params)
            })
            .await
            .clone()
    }
}

/// What names one of a class's pools: the parameter values (canonical) and, for a pool made by
/// `with_options`, its containers (as [`variant`] keys them).
type PoolKey = (Arc<[u8]>, Option<String>);

/// The pools of one class, by parameter values and configuration.
pub(crate) struct ClassPools {
    info: Arc<ClassInfo>,
    component: Arc<LoadedComponent>,
    /// Where snapshots are kept.
    cache: CompileCache,
    context: Arc<ContainerContext>,
    limits: Limits,
    pools: Mutex<HashMap<PoolKey, Arc<Pool>>>,
}

impl ClassPools {
    pub(crate) fn new(
        info: ClassInfo,
        component: Arc<LoadedComponent>,
        cache: CompileCache,
        context: Arc<ContainerContext>,
        limits: Limits,
    ) -> Self {
        ClassPools {
            info: Arc::new(info),
            component,
            cache,
            context,
            limits,
            pools: Mutex::default(),
        }
    }

    pub(crate) fn info(&self) -> &ClassInfo {
        &self.info
    }

    /// The pool of the instances built from `params` (canonical, from
    /// [`ClassInfo::parameters`]), made on first use.
    pub(crate) fn pool(&self, params: Vec<u8>) -> Result<Arc<Pool>, Error> {
        self.pool_configured(params, None)
    }

    /// [`ClassPools::pool`], its containers with `overrides` over the class's own when given.
    fn pool_configured(
        &self,
        params: Vec<u8>,
        overrides: Option<&Overrides>,
    ) -> Result<Arc<Pool>, Error> {
        let info = &self.info;
        let (containers, variant) = match overrides {
            Some(overrides) => {
                let (containers, key) = variant(
                    &info.name,
                    &info.config,
                    &info.secrets,
                    &info.volumes,
                    overrides,
                )?;
                (containers, Some(key))
            }
            None => {
                let containers = Variant {
                    config: info.config,
                    secrets: info.secrets.clone(),
                    volumes: info.volumes.clone(),
                };
                (containers, None)
            }
        };
        let key: PoolKey = (Arc::from(params), variant);
        let mut pools = self.lock();
        if let Some(pool) = pools.get(&key) {
            return Ok(Arc::clone(pool));
        }
        if pools.len() >= MAX_PARAMETER_SETS {
            return Err(Error::Overloaded(format!(
                "class `{}` already serves {MAX_PARAMETER_SETS} distinct sets of parameter \
                 values, its limit",
                self.info.name
            )));
        }
        if key.1.is_some()
            && pools.keys().filter(|(_, made)| made.is_some()).count() >= MAX_VARIANTS
        {
            return Err(too_many_variants(&self.info.name));
        }
        let pool = Arc::new(self.new_pool(Arc::clone(&key.0), containers));
        pool.keep_minimum();
        pools.insert(key, Arc::clone(&pool));
        Ok(pool)
    }

    /// A pool of the instances built from `params`, its containers made as `containers` says.
    fn new_pool(&self, params: Arc<[u8]>, containers: Variant) -> Pool {
        let shape = FunctionInfo {
            name: self.info.name.clone(),
            kind: self.info.kind,
            params: Vec::new(),
            param_types: Vec::new(),
            web: None,
            batch: None,
            generator: false,
            config: containers.config,
            secrets: containers.secrets,
            volumes: containers.volumes,
            schedule: None,
            component: self.info.component.clone(),
        };
        let snapshot = self.info.snap.then(|| {
            Arc::new(Snapshot {
                made: tokio::sync::OnceCell::new(),
                cache: self.cache.clone(),
            })
        });
        let bound = Bound {
            class: Arc::clone(&self.info),
            params,
            snapshot,
        };
        Pool::with_binding(
            shape,
            Some(bound),
            Arc::clone(&self.component),
            Arc::clone(&self.context),
            self.limits,
        )
    }

    /// Submits a call of the method `method` (`CLASS.METHOD`) whose payload names the instance
    /// it is called on (see [`ClassInfo::split_call`]).
    pub(crate) fn submit(&self, method: &str, mut request: Request) -> Result<Receiver, Error> {
        self.info.method(method)?;
        let (params, args) = self.info.split_call(&request.args)?;
        request.args = args;
        let options = request.containers.take();
        self.pool_configured(params, options.as_ref())?
            .submit(method, request)
    }

    /// The counters of the pool of the instances built from `params` (canonical), with the
    /// class's own configuration, when it exists.
    pub(crate) fn stats(&self, params: &[u8]) -> Option<PoolStats> {
        let key: PoolKey = (Arc::from(params), None);
        self.lock().get(&key).map(|pool| pool.stats())
    }

    /// The app is gone: closes every pool.
    pub(crate) fn close(&self) {
        for pool in self.lock().values() {
            pool.close();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PoolKey, Arc<Pool>>> {
        // Every update is one insert: a panic elsewhere leaves the map consistent.
        self.pools
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
