//! An app: the components loaded together, and the function registry that routes calls.
//!
//! Any function calls any other by name, wherever it lives: the registry maps every name to
//! the pool of its function, whichever component holds it. Names are unique across the app;
//! loading two components that define the same name fails.
//!
//! Containers hold the app weakly, so dropping the last [`App`] (and every [`Function`]
//! handle) shuts the pools and their containers down.

use crate::cache::CompileCache;
use crate::call::Receiver;
use crate::chain::{Chain, Frame};
use crate::component::{self, LoadedComponent};
use crate::container::{Container, Input, Role};
use crate::function::{Function, FunctionInfo, Policy};
use crate::overrides::FunctionOptions;
use crate::payload;
use crate::pool::Pool;
use crate::sandbox::Grants;
use crate::{Error, LoadError};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A loaded app: one or several components whose functions call each other by name.
///
/// All methods are async and need a tokio runtime (multi-threaded for parallel containers);
/// [`blocking::App`](crate::blocking::App) is the blocking twin.
#[derive(Clone)]
pub struct App {
    shared: Arc<AppShared>,
}

/// What containers reach the app through.
pub(crate) struct AppShared {
    pools: HashMap<String, Arc<Pool>>,
    functions: Vec<FunctionInfo>,
    entrypoints: Vec<(FunctionInfo, Arc<LoadedComponent>)>,
    grants: Grants,
}

/// How an app is loaded: its compile cache, overrides of its functions' options, and what its
/// containers may reach. Start with [`App::builder`].
#[derive(Debug, Clone)]
pub struct AppBuilder {
    cache: CompileCache,
    overrides: HashMap<String, FunctionOptions>,
    grants: Grants,
}

impl AppBuilder {
    /// Compiles through `cache` rather than the one the environment asks for.
    pub fn cache(mut self, cache: CompileCache) -> Self {
        self.cache = cache;
        self
    }

    /// Overrides options of the function `function` for this run (later calls for the same
    /// function override earlier ones option by option).
    pub fn options(mut self, function: impl Into<String>, options: FunctionOptions) -> Self {
        let merged = self.overrides.entry(function.into()).or_default();
        *merged = merged.merged_with(options);
        self
    }

    /// Grants every container the host directory `host` as `guest`, read-write or read-only.
    pub fn dir(
        mut self,
        host: impl Into<PathBuf>,
        guest: impl Into<String>,
        read_only: bool,
    ) -> Self {
        self.grants.dir(host, guest, read_only);
        self
    }

    /// Sets the environment variable `key` to `value` in every container.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.grants.env(key, value);
        self
    }

    /// Loads the components at `paths` (`.wasm` files) as one app.
    pub async fn load(
        self,
        paths: impl IntoIterator<Item = impl AsRef<Path>>,
    ) -> Result<App, LoadError> {
        let AppBuilder {
            cache,
            mut overrides,
            grants,
        } = self;
        grants.check()?;
        let engine = crate::engine::engine()?;
        let linker = component::linker(&engine)?;
        let paths: Vec<PathBuf> = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        let loaded = futures::future::try_join_all(
            paths
                .iter()
                .map(|path| component::load(&linker, &cache, path)),
        )
        .await?;

        let mut owners: HashMap<String, PathBuf> = HashMap::new();
        let mut functions = Vec::new();
        let mut entrypoints = Vec::new();
        for (component, info) in loaded {
            for (info, is_entrypoint) in info
                .functions
                .into_iter()
                .map(|info| (info, false))
                .chain(info.entrypoints.into_iter().map(|info| (info, true)))
            {
                match owners.entry(info.name.clone()) {
                    Entry::Occupied(first) => {
                        return Err(LoadError::Duplicate {
                            name: info.name,
                            first: first.get().clone(),
                            second: component.path.clone(),
                        });
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(component.path.clone());
                    }
                }
                let requested = overrides.remove(&info.name).unwrap_or_default();
                let info = FunctionInfo::checked(info, component.path.clone(), requested)?;
                if is_entrypoint {
                    entrypoints.push((info, Arc::clone(&component)));
                } else {
                    functions.push((info, Arc::clone(&component)));
                }
            }
        }
        if let Some(name) = overrides.into_keys().next() {
            return Err(LoadError::UnknownFunction { name });
        }
        functions.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        entrypoints.sort_by(|a, b| a.0.name.cmp(&b.0.name));

        let shared = Arc::new_cyclic(|app| AppShared {
            pools: functions
                .iter()
                .map(|(info, component)| {
                    let pool = Pool::new(info.clone(), Arc::clone(component), app.clone());
                    (info.name.clone(), Arc::new(pool))
                })
                .collect(),
            functions: functions.into_iter().map(|(info, _)| info).collect(),
            entrypoints,
            grants,
        });
        // `min_containers` are started now, so the first inputs find them warm.
        for pool in shared.pools.values() {
            let minimum = pool.info().config.min_containers as usize;
            if minimum > 0 {
                pool.warm_up(minimum)
                    .await
                    .map_err(|error| LoadError::Start {
                        function: pool.info().name.clone(),
                        reason: error.to_string(),
                    })?;
            }
        }
        Ok(App { shared })
    }
}

impl App {
    /// Loads the components at `paths` (`.wasm` files) as one app, with the compile cache the
    /// environment asks for ([`CompileCache::from_env`]), the options the functions declare,
    /// and nothing granted.
    pub async fn load(paths: impl IntoIterator<Item = impl AsRef<Path>>) -> Result<App, LoadError> {
        Self::builder().load(paths).await
    }

    /// Loads the components at `paths` as one app, compiled through `cache`.
    pub async fn load_with(
        paths: impl IntoIterator<Item = impl AsRef<Path>>,
        cache: &CompileCache,
    ) -> Result<App, LoadError> {
        Self::builder().cache(cache.clone()).load(paths).await
    }

    /// How to load an app with overrides and grants.
    pub fn builder() -> AppBuilder {
        AppBuilder {
            cache: CompileCache::from_env(),
            overrides: HashMap::new(),
            grants: Grants::default(),
        }
    }

    /// The app's functions, by name.
    pub fn functions(&self) -> &[FunctionInfo] {
        &self.shared.functions
    }

    /// The app's local entrypoints, by name.
    pub fn entrypoints(&self) -> impl Iterator<Item = &FunctionInfo> {
        self.shared.entrypoints.iter().map(|(info, _)| info)
    }

    /// A handle to the function `name`.
    pub fn function(&self, name: &str) -> Result<Function, Error> {
        let pool = self.shared.pool(name)?;
        Ok(Function::new(Arc::clone(&self.shared), Arc::clone(pool)))
    }

    /// Runs the local entrypoint `name` (the only one, when `None`) in a container of its own,
    /// its output forwarded unprefixed, and waits for it to return.
    pub async fn run_entrypoint(&self, name: Option<&str>) -> Result<(), Error> {
        let (info, component) = self.shared.entrypoint(name)?;
        let container = Container::start(
            component,
            Arc::downgrade(&self.shared),
            info,
            Role::Entrypoint,
        )
        .await?;
        container.call_once(b"[]".to_vec()).await.map(drop)
    }
}

impl AppShared {
    fn pool(&self, name: &str) -> Result<&Arc<Pool>, Error> {
        self.pools.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.pools.keys().map(String::as_str).collect();
            Error::NotFound(format!(
                "no function `{name}` in the app (it has: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    sorted(known)
                }
            ))
        })
    }

    fn entrypoint(
        &self,
        name: Option<&str>,
    ) -> Result<&(FunctionInfo, Arc<LoadedComponent>), Error> {
        let names = || {
            sorted(
                self.entrypoints
                    .iter()
                    .map(|(info, _)| info.name.as_str())
                    .collect(),
            )
        };
        match name {
            Some(name) => self
                .entrypoints
                .iter()
                .find(|(info, _)| info.name == name)
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "no local entrypoint `{name}` in the app (it has: {})",
                        names()
                    ))
                }),
            None => match self.entrypoints.as_slice() {
                [only] => Ok(only),
                [] => Err(Error::NotFound("the app has no local entrypoint".into())),
                _ => Err(Error::NotFound(format!(
                    "the app has several local entrypoints ({}): name one, as APP::NAME",
                    names()
                ))),
            },
        }
    }

    /// Queues a call of the function `name` made by a guest whose input was called through
    /// `caller`, with the call site's `options`.
    pub(crate) fn submit(
        &self,
        name: &str,
        args: Vec<u8>,
        options: &FunctionOptions,
        caller: Option<&Chain>,
    ) -> Result<Receiver, Error> {
        let pool = self.pool(name)?;
        let policy = pool.info().config.policy().overridden(options)?;
        submit_to(pool, args, policy, caller)
    }

    /// The operator's grants to every container of the app.
    pub(crate) fn grants(&self) -> &Grants {
        &self.grants
    }
}

impl Drop for AppShared {
    fn drop(&mut self) {
        for pool in self.pools.values() {
            pool.close();
        }
    }
}

/// Queues a call on `pool`, governed by `policy`, made by an input called through `caller`
/// (`None` for the host API).
pub(crate) fn submit_to(
    pool: &Arc<Pool>,
    args: Vec<u8>,
    policy: Policy,
    caller: Option<&Chain>,
) -> Result<Receiver, Error> {
    Frame::check_depth(pool.name(), caller)?;
    payload::check(pool.name(), "arguments", args.len()).map_err(Error::BadArguments)?;
    let (reply, receiver) = oneshot::channel();
    pool.submit(Input {
        args,
        reply,
        policy,
        attempt: 0,
        caller: caller.cloned(),
    });
    Ok(receiver)
}

fn sorted(mut names: Vec<&str>) -> String {
    names.sort_unstable();
    names.join(", ")
}
