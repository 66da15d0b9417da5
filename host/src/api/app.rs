//! An app: the components loaded together, and the router that sends each call to the pool
//! of its function.
//!
//! Any function calls any other by name, wherever it lives: the router maps every name to the
//! pool of its function, whichever component holds it. Names are unique across the app;
//! loading two components that define the same name fails. A name `APP/FUNCTION` goes to the
//! app deployed on the host as `APP` (its current version, looked up at each call).
//!
//! Containers hold the router weakly (as their `Dispatch`), so dropping the last [`App`] (and
//! every [`Function`] handle) shuts the pools and their containers down.

use crate::api::class::Class;
use crate::api::function::Function;
use crate::api::host::{Host, split_qualified};
use crate::container::state::{ContainerContext, ContainerState};
use crate::container::{Container, Role};
use crate::dispatch::offload::OffloadRoute;
use crate::dispatch::{Dispatch, Receiver, Request};
use crate::info::ClassInfo;
use crate::info::FunctionInfo;
use crate::load::CompileCache;
use crate::load::component::{self, LoadedComponent};
use crate::options::{FunctionConfig, FunctionOptions};
use crate::pool::class::ClassPools;
use crate::pool::http::{HANDLER_NAME, HttpPool};
use crate::pool::variants::Variants;
use crate::pool::{Limits, Pool};
use crate::runtime::grants::{Grants, HttpGrant};
use crate::runtime::output::{OutputSink, StdioSink};
use crate::{Error, LoadError};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use tracing::Instrument;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// The longest function name a call may give; a longer one is not looked up, and its error
/// message shows only its start.
const MAX_NAME: usize = 256;

/// A loaded app: one or several components whose functions call each other by name.
///
/// All methods are async and need a tokio runtime (multi-threaded for parallel containers);
/// [`blocking::App`](crate::blocking::App) is the blocking twin.
#[derive(Clone)]
pub struct App {
    pub(super) shared: Arc<AppShared>,
}

/// The app's router: the pools by function name, and what its containers are started with.
pub(crate) struct AppShared {
    pools: HashMap<String, Arc<Pool>>,
    /// The pools guests' `with_options` made.
    variants: Variants,
    functions: Vec<FunctionInfo>,
    /// The classes, by name: each keeps a pool per set of parameter values.
    classes: BTreeMap<String, Arc<ClassPools>>,
    entrypoints: Vec<(FunctionInfo, Arc<LoadedComponent>)>,
    /// The pool of the app's wasi:http handler, when a component exports one.
    pub(crate) http: Option<HttpPool>,
    context: Arc<ContainerContext>,
    /// The host the app is loaded on (kept alive while the app is): its engine, and the apps
    /// deployed on it, which `APP/FUNCTION` names reach.
    host: Host,
}

/// How an app is loaded: on which host, its compile cache, overrides of its functions'
/// options, what its containers may reach and where their output goes. Start with
/// [`App::builder`] or [`Host::app`].
#[derive(Clone)]
pub struct AppBuilder {
    /// `None`: the process's default host.
    host: Option<Host>,
    /// `None`: the host's.
    cache: Option<CompileCache>,
    overrides: HashMap<String, FunctionOptions>,
    grants: Grants,
    sink: Arc<dyn OutputSink>,
}

impl Host {
    /// How to load an app on this host.
    pub fn app(&self) -> AppBuilder {
        AppBuilder::on(Some(self.clone()))
    }
}

impl AppBuilder {
    /// A builder for an app on `host` (`None`: the process's default host).
    fn on(host: Option<Host>) -> Self {
        AppBuilder {
            host,
            cache: None,
            overrides: HashMap::new(),
            grants: Grants::default(),
            sink: Arc::new(StdioSink),
        }
    }

    /// Compiles through `cache` rather than the host's.
    pub fn cache(mut self, cache: CompileCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Sends the output of the app's containers to `sink` rather than to the host's own
    /// stdout and stderr ([`StdioSink`]).
    pub fn output(mut self, sink: Arc<dyn OutputSink>) -> Self {
        self.sink = sink;
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

    /// Allows every container's outgoing HTTP requests (`wasi:http/outgoing-handler`) to
    /// reach `authority`: `HOST` (any port) or `HOST:PORT`, an exact host (no wildcard).
    /// Requests to hosts not allowed fail inside the guest with `HTTP-request-denied`.
    pub fn allow_http(mut self, authority: &str) -> Result<Self, LoadError> {
        let grant = HttpGrant::parse(authority).map_err(|reason| LoadError::HttpGrant {
            grant: authority.to_owned(),
            reason,
        })?;
        self.grants.http(grant);
        Ok(self)
    }

    /// Loads the components at `paths` (`.wasm` files) as one app.
    pub async fn load(
        self,
        paths: impl IntoIterator<Item = impl AsRef<Path>>,
    ) -> Result<App, LoadError> {
        let AppBuilder {
            host,
            cache,
            mut overrides,
            grants,
            sink,
        } = self;
        grants.check()?;
        let host = match host {
            Some(host) => host,
            None => Host::process_default()?,
        };
        let cache = cache.unwrap_or_else(|| host.settings().cache.clone());
        let linker = component::linker(host.engine())?;
        let paths: Vec<PathBuf> = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        let loaded = futures::future::try_join_all(
            paths
                .iter()
                .map(|path| component::load(&linker, &cache, path)),
        )
        .await?;

        let mut owners: HashMap<String, PathBuf> = HashMap::new();
        let mut functions = Vec::new();
        let mut classes = Vec::new();
        let mut entrypoints = Vec::new();
        let mut handler: Option<(ProxyPre<ContainerState>, PathBuf)> = None;
        for loaded in loaded {
            if let Some(pre) = loaded.http {
                if let Some((_, first)) = &handler {
                    return Err(LoadError::Duplicate {
                        name: HANDLER_NAME.into(),
                        first: first.clone(),
                        second: loaded.path,
                    });
                }
                handler = Some((pre, loaded.path.clone()));
            }
            let Some((component, info)) = loaded.app else {
                continue;
            };
            let mut own = |name: &str| match owners.entry(name.to_owned()) {
                Entry::Occupied(first) => Err(LoadError::Duplicate {
                    name: name.to_owned(),
                    first: first.get().clone(),
                    second: component.path.clone(),
                }),
                Entry::Vacant(slot) => {
                    slot.insert(component.path.clone());
                    Ok(())
                }
            };
            for class in info.classes {
                own(&class.name)?;
                let requested = overrides.remove(&class.name).unwrap_or_default();
                let class = component::class_info(class, component.path.clone(), requested)?;
                classes.push((class, Arc::clone(&component)));
            }
            for (info, is_entrypoint) in info
                .functions
                .into_iter()
                .map(|info| (info, false))
                .chain(info.entrypoints.into_iter().map(|info| (info, true)))
            {
                own(&info.name)?;
                let requested = overrides.remove(&info.name).unwrap_or_default();
                let info = component::function_info(info, component.path.clone(), requested)?;
                if is_entrypoint && info.schedule.is_some() {
                    return Err(LoadError::InvalidOption {
                        path: component.path.clone(),
                        function: info.name,
                        option: "schedule",
                        reason: "a local entrypoint runs once, by `fnhost run`: it cannot be \
                                 scheduled"
                            .into(),
                    });
                }
                if is_entrypoint {
                    entrypoints.push((info, Arc::clone(&component)));
                } else {
                    functions.push((info, Arc::clone(&component)));
                }
            }
        }
        let handler = match handler {
            None => None,
            Some((pre, path)) => {
                let requested = overrides.remove(HANDLER_NAME).unwrap_or_default();
                let config = FunctionConfig::resolve(&requested).map_err(|invalid| {
                    LoadError::InvalidOption {
                        path,
                        function: HANDLER_NAME.into(),
                        option: invalid.option,
                        reason: invalid.reason,
                    }
                })?;
                Some((pre, config))
            }
        };
        if let Some(name) = overrides.into_keys().next() {
            return Err(LoadError::UnknownFunction { name });
        }
        functions.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        entrypoints.sort_by(|a, b| a.0.name.cmp(&b.0.name));

        let limits = Limits {
            max_queued: host.settings().max_queued,
            max_call_depth: host.settings().max_call_depth,
        };
        let shared = Arc::new_cyclic(|app: &Weak<AppShared>| {
            let dispatch: Weak<dyn Dispatch> = app.clone();
            let context = Arc::new(ContainerContext {
                dispatch,
                grants,
                sink,
                budget: Arc::clone(host.budget()),
                max_handles: host.settings().max_handles,
                occupancy: Arc::clone(host.occupancy()),
                calls: Arc::clone(host.calls()),
                offload: OffloadRoute::new(Arc::clone(host.offload())),
                owner: Arc::default(),
                storage: Some(Arc::clone(host.lazy_storage())),
                sandboxes: Some(host.sandboxes().clone()),
            });
            AppShared {
                pools: functions
                    .iter()
                    .map(|(info, component)| {
                        let pool = Pool::new(
                            info.clone(),
                            Arc::clone(component),
                            Arc::clone(&context),
                            limits,
                        );
                        (info.name.clone(), Arc::new(pool))
                    })
                    .collect(),
                variants: Variants::default(),
                functions: functions.into_iter().map(|(info, _)| info).collect(),
                classes: classes
                    .into_iter()
                    .map(|(info, component)| {
                        let name = info.name.clone();
                        let class = ClassPools::new(
                            info,
                            component,
                            cache.clone(),
                            Arc::clone(&context),
                            limits,
                        );
                        (name, Arc::new(class))
                    })
                    .collect(),
                entrypoints,
                http: handler.map(|(pre, config)| {
                    HttpPool::new(pre, Arc::clone(&context), config, limits.max_queued)
                }),
                context,
                host,
            }
        });
        // `min_containers` are started now, so the first inputs find them warm.
        for pool in shared.pools.values() {
            let minimum = pool.info().config.min_containers as usize;
            if minimum > 0 {
                pool.warm_up(minimum)
                    .await
                    .map_err(|source| LoadError::Start {
                        function: pool.info().name.clone(),
                        source,
                    })?;
            }
        }
        Ok(App { shared })
    }
}

impl App {
    /// Loads the components at `paths` (`.wasm` files) as one app on the process's default host,
    /// with the options the functions declare, and nothing granted.
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

    /// How to load an app on the process's default host, with overrides and grants.
    pub fn builder() -> AppBuilder {
        AppBuilder::on(None)
    }

    /// The app's functions, by name.
    pub fn functions(&self) -> &[FunctionInfo] {
        &self.shared.functions
    }

    /// The app's classes, by name.
    pub fn classes(&self) -> impl Iterator<Item = &ClassInfo> {
        self.shared.classes.values().map(|class| class.info())
    }

    /// A handle to the app's class `name`, whose instances ([`Class::instance`]) have the
    /// methods.
    pub fn class(&self, name: &str) -> Result<Class, Error> {
        let class = self.shared.classes.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.shared.classes.keys().map(String::as_str).collect();
            Error::NotFound(format!(
                "no class `{name}` in the app (it has: {})",
                match known.is_empty() {
                    true => "none".to_owned(),
                    false => known.join(", "),
                }
            ))
        })?;
        let app: Arc<dyn Dispatch> = self.shared.clone();
        Ok(Class::new(
            app,
            Arc::clone(class),
            Arc::clone(self.shared.host.calls()),
        ))
    }

    /// The app's local entrypoints, by name.
    pub fn entrypoints(&self) -> impl Iterator<Item = &FunctionInfo> {
        self.shared.entrypoints.iter().map(|(info, _)| info)
    }

    /// A handle to the function `name`: one of the app's, or `APP/FUNCTION` of an app
    /// deployed on its host.
    pub fn function(&self, name: &str) -> Result<Function, Error> {
        if name.contains('/') && !self.shared.pools.contains_key(name) {
            let (app, function) = split_qualified(name)?;
            return deployed_app(&self.shared.host, app)?.function(function);
        }
        let pool = self.shared.pool(name)?;
        let app: Arc<dyn Dispatch> = self.shared.clone();
        Ok(Function::new(
            app,
            Arc::clone(pool),
            Arc::clone(self.shared.host.calls()),
        ))
    }

    /// The host the app is loaded on.
    pub fn host(&self) -> &Host {
        &self.shared.host
    }

    /// Runs the local entrypoint `name` (the only one, when `None`) in a container of its own,
    /// its output forwarded unprefixed, and waits for it to end. Returns its exit status, as a
    /// program's: 0 when it returned, `N` when it exited with `N` (`std::process::exit(N)`, 0
    /// included), which is a value, not an error. An error when it returned one, trapped, or
    /// could not start.
    ///
    /// A WASI 0.2 guest's `exit` carries only success or failure: wasmtime-wasi reports it as
    /// 0 or 1, so a Rust guest's `std::process::exit(3)` gives 1 (as under `wasmtime run`).
    pub async fn run_entrypoint(&self, name: Option<&str>) -> Result<i32, Error> {
        let (info, component) = self.shared.entrypoint(name)?;
        let span = tracing::info_span!("entrypoint", function = %info.name);
        let run = async {
            let context = &self.shared.context;
            let container =
                Container::start(&component.pre, context, info, Role::Entrypoint, None).await?;
            container.call_once(b"[]".to_vec()).await
        };
        run.instrument(span).await
    }
}

impl AppShared {
    /// The app is deployed as `name`: its full pools may offer calls to other hosts under it,
    /// and the calls it spawns from now on are that name's.
    pub(crate) fn deployed_as(&self, name: &str) {
        self.context.owner.deployed_as(name);
    }

    pub(crate) fn pool(&self, name: &str) -> Result<&Arc<Pool>, Error> {
        self.pools.get(name).ok_or_else(|| self.unknown(name))
    }

    /// The error for a call of `name`, which is not a function of the app.
    fn unknown(&self, name: &str) -> Error {
        if name.len() > MAX_NAME {
            // Whatever a guest sends comes back in the message: never all of it.
            let shown: String = name.chars().take(64).collect();
            return Error::NotFound(format!(
                "no function `{shown}…` in the app (a name of {} bytes; names are at most \
                 {MAX_NAME})",
                name.len()
            ));
        }
        let known: Vec<&str> = self
            .pools
            .keys()
            .map(String::as_str)
            .chain(
                self.classes
                    .values()
                    .flat_map(|class| class.info().methods.iter().map(|m| m.name.as_str())),
            )
            .collect();
        Error::NotFound(format!(
            "no function `{name}` in the app (it has: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                sorted(known)
            }
        ))
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
}

impl Dispatch for AppShared {
    fn submit(&self, function: &str, mut request: Request) -> Result<Receiver, Error> {
        match (self.pools.get(function), request.containers.take()) {
            (Some(pool), None) => pool.submit(function, request),
            (Some(pool), Some(options)) => self
                .variants
                .pool(function, pool, &options)?
                .submit(function, request),
            (None, containers) => {
                request.containers = containers;
                // `APP/FUNCTION`: a function of an app deployed on the host.
                if function.contains('/') {
                    let (app, name) = split_qualified(function)?;
                    return deployed_app(&self.host, app)?.shared.submit(name, request);
                }
                self.class_of(function)?.submit(function, request)
            }
        }
    }

    fn pool_stats(&self, function: &str, params: &[u8]) -> Result<Vec<u8>, Error> {
        let stats = match self.pools.get(function) {
            Some(pool) => pool.stats(),
            None if function.contains('/') => {
                let (app, name) = split_qualified(function)?;
                return deployed_app(&self.host, app)?
                    .shared
                    .pool_stats(name, params);
            }
            None => {
                let class = self.class_of(function)?;
                let given = match params {
                    [] => None,
                    params => Some(serde_json::from_slice(params).map_err(|error| {
                        Error::BadArguments(format!("the parameters are not JSON: {error}"))
                    })?),
                };
                let params = class.info().parameters(given)?;
                // No pool yet: nothing ran, nothing started.
                class.stats(&params).unwrap_or_default()
            }
        };
        Ok(serde_json::to_vec(&stats).expect("the counters serialize"))
    }
}

impl AppShared {
    /// The class whose method `function` (`CLASS.METHOD`) names.
    fn class_of(&self, function: &str) -> Result<&Arc<ClassPools>, Error> {
        function
            .split_once('.')
            .and_then(|(class, _)| self.classes.get(class))
            .ok_or_else(|| self.unknown(function))
    }
}

impl Drop for AppShared {
    fn drop(&mut self) {
        for pool in self.pools.values() {
            pool.close();
        }
        self.variants.close();
        for class in self.classes.values() {
            class.close();
        }
    }
}

/// The app deployed on `host` as `name`.
pub(crate) fn deployed_app(host: &Host, name: &str) -> Result<App, Error> {
    let entry = host.deployed_entry(name)?;
    // Every entry is an `App`: only `Host::deploy` inserts.
    entry
        .downcast_ref::<App>()
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("no app `{name}` is deployed")))
}

fn sorted(mut names: Vec<&str>) -> String {
    names.sort_unstable();
    names.join(", ")
}
