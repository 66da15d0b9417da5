//! Loading one app component: compile it, check it implements the contract, ask what it holds.
//!
//! Every check happens here, once, so that a broken file fails at load with a message naming
//! the file and what is wrong, never later inside a call. That starts with the file itself:
//! only a regular file of at most [`MAX_COMPONENT_BYTES`] is read (a symbolic link to one is
//! fine); without it `/dev/zero` as the app reads until memory runs out and a FIFO blocks the
//! load forever.

use crate::LoadError;
use crate::container::state::{ContainerContext, ContainerState, DEFAULT_MAX_HANDLES, new_store};
use crate::dispatch::Unrouted;
use crate::dispatch::offload::OffloadRoute;
use crate::error::{Cause, reason};
use crate::info::{Batching, BodyKind, ClassInfo, FunctionInfo, WebEndpoint, WebForm};
use crate::load::cache::{self, CompileCache, ComponentDigest, Digest};
use crate::load::file::{FileError, Links, open_regular, read_capped, stream_capped};
use crate::options::{FunctionConfig, FunctionOptions};
use crate::retained::{CallStore, Retention};
use crate::runtime::bindings::fnhost::runtime::types::Schedule as WitSchedule;
use crate::runtime::bindings::{self, AppInfo, AppPre, secrets_of, volumes_of};
use crate::runtime::grants::{Grants, OwnGrants};
use crate::runtime::memory::MemoryBudget;
use crate::runtime::output::{Origin, StdioSink};
use crate::schedule::{CronSchedule, Period, Schedule};
use std::io::Seek;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// A compiled, validated app component, ready to instantiate.
pub(crate) struct LoadedComponent {
    pub(crate) path: PathBuf,
    pub(crate) pre: AppPre<ContainerState>,
    /// Set when a class of the component has a snap `enter` hook: the bytes it was compiled
    /// from (what a snapshot instruments) and their digest.
    pub(crate) source: Option<(Arc<[u8]>, Digest)>,
}

/// The linker every container is instantiated with: WASI p2, wasi:http's `types` and
/// `outgoing-handler`, the `fnhost:runtime` imports, and `wasi:keyvalue` over the dicts.
pub(crate) fn linker(engine: &wasmtime::Engine) -> Result<Linker<ContainerState>, LoadError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))
        .and_then(|()| {
            bindings::App::add_to_linker::<_, HasSelf<ContainerState>>(&mut linker, |state| state)
        })
        .and_then(|()| {
            bindings::keyvalue::Imports::add_to_linker::<_, HasSelf<ContainerState>>(
                &mut linker,
                |state| state,
            )
        })
        .map_err(|error| LoadError::Engine(error.into()))?;
    Ok(linker)
}

/// What a component serves: fnhost functions, a wasi:http handler, or both. Never neither:
/// [`load`] refuses such a component.
pub(crate) struct Loaded {
    pub(crate) path: PathBuf,
    /// Its functions and entrypoints, when it exports `fnhost:runtime/guest`.
    pub(crate) app: Option<(Arc<LoadedComponent>, AppInfo)>,
    /// Its handler, when it exports `wasi:http/incoming-handler@0.2`.
    pub(crate) http: Option<ProxyPre<ContainerState>>,
}

/// The interface a wasi:http handler exports.
const INCOMING_HANDLER: &str = "wasi:http/incoming-handler@0.2";

/// Compiles the component at `path` and checks that it is an fnhost app, a wasi:http handler,
/// or both.
pub(crate) async fn load(
    linker: &Linker<ContainerState>,
    cache: &CompileCache,
    path: &Path,
) -> Result<Loaded, LoadError> {
    let engine = linker.engine().clone();
    let file = path.to_owned();
    let cache = cache.clone();
    let (component, digest) = tokio::task::spawn_blocking(move || compile(&engine, &cache, &file))
        .await
        .map_err(|error| LoadError::Engine(error.into()))??;
    let not_an_app = |source| LoadError::NotAnApp {
        path: path.to_owned(),
        source,
    };
    let mismatch = |error: wasmtime::Error| {
        not_an_app(match contract_version(&component, linker.engine()) {
            Some(version) => reason(version),
            None => error.into(),
        })
    };
    let exports = |prefix: &str| {
        component
            .component_type()
            .exports(linker.engine())
            .any(|(name, _)| name.starts_with(prefix))
    };
    let (is_app, is_http) = (exports(GUEST_EXPORT), exports(INCOMING_HANDLER));
    if !is_app && !is_http {
        return Err(mismatch(wasmtime::format_err!(
            "it exports neither `{GUEST_EXPORT}` (an fnhost app: build it with fnhost-guest) \
             nor `{INCOMING_HANDLER}` (a wasi:http handler)"
        )));
    }
    let pre = linker.instantiate_pre(&component).map_err(mismatch)?;
    let http = match is_http {
        true => Some(ProxyPre::new(pre.clone()).map_err(mismatch)?),
        false => None,
    };
    let app = match is_app {
        false => None,
        true => {
            let mut loaded = LoadedComponent {
                path: path.to_owned(),
                pre: AppPre::new(pre).map_err(mismatch)?,
                source: None,
            };
            let info = describe(&loaded)
                .await
                .map_err(|error| not_an_app(reason(format!("`describe` failed: {error:#}"))))?;
            if info.classes.iter().any(|class| class.snap) {
                // Read again, and bound to what was compiled: a snapshot is made from these.
                let bytes = read_component(path)?;
                if cache::digest(&bytes) != digest {
                    return Err(not_an_app(reason(
                        "the file changed while it was loaded: load it again",
                    )));
                }
                loaded.source = Some((Arc::from(bytes), digest));
            }
            Some((Arc::new(loaded), info))
        }
    };
    Ok(Loaded {
        path: path.to_owned(),
        app,
        http,
    })
}

/// The interface an fnhost app exports.
const GUEST_EXPORT: &str = "fnhost:runtime/guest@";

/// The contract's package, as components name it in their imports and exports.
const CONTRACT: &str = "fnhost:runtime/";

/// The version of this host's contract, `wit/fnhost.wit`'s package version.
const CONTRACT_VERSION: &str = "0.11.0";

/// When `component` was built against another version of the contract: which, in a sentence.
fn contract_version(component: &Component, engine: &wasmtime::Engine) -> Option<String> {
    let ty = component.component_type();
    let names = ty
        .imports(engine)
        .map(|(name, _)| name)
        .chain(ty.exports(engine).map(|(name, _)| name));
    names
        .filter_map(|name| name.strip_prefix(CONTRACT))
        .filter_map(|interface| interface.split_once('@'))
        .find(|(_, version)| *version != CONTRACT_VERSION)
        .map(|(interface, version)| {
            format!(
                "it was built against fnhost:runtime@{version} (its `{interface}` interface), \
                 and this host implements fnhost:runtime@{CONTRACT_VERSION}: rebuild it with a \
                 matching fnhost-guest"
            )
        })
}

/// Compiles the component at `path`, or takes it from `cache` (CPU-bound: run it off the
/// async threads).
///
/// With the cache on, the file is first digested as it is read, without keeping it: a sound
/// entry needs nothing else. Only a miss reads it again, to compile (and the cache digests
/// what it compiles, so an entry is bound to the bytes compiled even if the file changed
/// between the two reads).
fn compile(
    engine: &wasmtime::Engine,
    cache: &CompileCache,
    path: &Path,
) -> Result<(Component, Digest), LoadError> {
    let unreadable = |error: FileError| LoadError::Read {
        path: path.to_owned(),
        source: error.into(),
    };
    let invalid = |source| LoadError::Compile {
        path: path.to_owned(),
        source,
    };
    let (file, metadata) = open_regular(path, Links::Follow).map_err(unreadable)?;
    if cache.dir().is_some() {
        let mut digest = ComponentDigest::default();
        let mut start = Vec::with_capacity(COMPONENT_HEADER_LEN);
        stream_capped(
            &file,
            &metadata,
            MAX_COMPONENT_BYTES,
            "a component",
            |piece| {
                let wanted = COMPONENT_HEADER_LEN - start.len();
                start.extend_from_slice(&piece[..wanted.min(piece.len())]);
                digest.update(piece);
            },
        )
        .map_err(unreadable)?;
        check_header(&start).map_err(invalid)?;
        let digest = digest.finish();
        if let Some(component) = cache.load(engine, &digest) {
            return Ok((component, digest));
        }
        (&file).rewind().map_err(|error| unreadable(error.into()))?;
    }
    let bytes =
        read_capped(&file, &metadata, MAX_COMPONENT_BYTES, "a component").map_err(unreadable)?;
    check_header(&bytes).map_err(invalid)?;
    let component = cache
        .compile(engine, &bytes)
        .map_err(|error| invalid(error.into()))?;
    Ok((component, cache::digest(&bytes)))
}

/// The component `bytes` (read already, from a sandbox's files), compiled, or found compiled
/// in `cache`.
pub(crate) fn compile_bytes(
    engine: &wasmtime::Engine,
    cache: &CompileCache,
    bytes: &[u8],
) -> Result<Component, Cause> {
    check_header(bytes)?;
    let digest = cache::digest(bytes);
    if let Some(component) = cache.load(engine, &digest) {
        return Ok(component);
    }
    cache
        .compile_as(engine, digest, bytes)
        .map_err(|error| error.into())
}

/// The length of the header that starts a component (and a core module).
const COMPONENT_HEADER_LEN: usize = 8;

/// Nothing when `bytes` start like a component; else what they are instead.
fn check_header(bytes: &[u8]) -> Result<(), Cause> {
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(reason(
            "it is a core WebAssembly module, not a component (build the guest for \
             `wasm32-wasip2`, which produces components)",
        ));
    }
    if !wasmparser::Parser::is_component(bytes) {
        return Err(reason(
            "it does not start with the WebAssembly component header",
        ));
    }
    Ok(())
}

/// The largest component loaded: 256 MiB (a big guest is a few MiB). Past it the file is
/// refused before it is read, so a huge or endless file cannot exhaust memory.
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// The bytes of the component file at `path`, read as loading reads them (what a server stores
/// before it deploys): a regular file (or a symbolic link to one) of at most 256 MiB. A device
/// (`/dev/zero`), FIFO, socket or directory is refused without reading it or waiting on it.
pub fn read_component(path: &Path) -> Result<Vec<u8>, LoadError> {
    let read = || -> Result<Vec<u8>, FileError> {
        let (file, metadata) = open_regular(path, Links::Follow)?;
        read_capped(&file, &metadata, MAX_COMPONENT_BYTES, "a component")
    };
    read().map_err(|error| LoadError::Read {
        path: path.to_owned(),
        source: error.into(),
    })
}

/// Instantiates the component once, on its own, and asks what it holds.
async fn describe(component: &LoadedComponent) -> wasmtime::Result<AppInfo> {
    let label: Arc<str> = Arc::from(format!("{}", component.path.display()));
    // Describing runs no function: nothing to route, nothing granted.
    let context = ContainerContext {
        dispatch: Weak::<Unrouted>::new(),
        grants: Grants::default(),
        sink: Arc::new(StdioSink),
        // Its own memory, counted nowhere: the instance lives only while it is asked.
        budget: MemoryBudget::new(u64::MAX),
        max_handles: DEFAULT_MAX_HANDLES,
        occupancy: Arc::default(),
        // Nothing is spawned while describing: a store that keeps nothing.
        calls: Arc::new(CallStore::new(Retention {
            window: Duration::ZERO,
            max_calls: 0,
            max_bytes: 0,
        })),
        offload: OffloadRoute::default(),
        owner: Arc::default(),
        storage: None,
        sandboxes: None,
    };
    let origin = Origin::Container(Arc::clone(&label));
    let state = ContainerState::new(
        &context,
        Arc::clone(&label),
        label,
        &origin,
        None,
        None,
        OwnGrants::default(),
    );
    let mut store = new_store(component.pre.engine(), state);
    let app = component.pre.instantiate_async(&mut store).await?;
    let (info,) = app
        .fnhost_runtime_guest()
        .func_describe()
        .call_async(&mut store, ())
        .await?;
    Ok(info)
}

/// What a component says of a function, with what its author declared and `overrides`
/// resolved into its options (defaults filled, ranges checked).
pub(crate) fn function_info(
    info: bindings::FunctionInfo,
    component: PathBuf,
    overrides: FunctionOptions,
) -> Result<FunctionInfo, LoadError> {
    let options = FunctionOptions::from(&info.config).merged_with(overrides);
    let config = FunctionConfig::resolve(&options).map_err(|invalid| LoadError::InvalidOption {
        path: component.clone(),
        function: info.name.clone(),
        option: invalid.option,
        reason: invalid.reason,
    })?;
    let web = match info.web {
        None => None,
        Some(web) => Some(web_of(&info.name, &info.params, &component, web)?),
    };
    let batch = match info.batch {
        None => None,
        Some(batching) => Some(batching_of(&info.name, &component, batching)?),
    };
    let schedule = match info.schedule.clone() {
        None => None,
        Some(schedule) => Some(schedule_of(
            &info.name,
            &info.params,
            info.generator,
            &component,
            schedule,
        )?),
    };
    let secrets = secrets_of(&info.name, &component, info.secrets)?;
    let volumes = volumes_of(&info.name, &component, info.volumes)?;
    if info.generator && batch.is_some() {
        return Err(LoadError::InvalidOption {
            path: component,
            function: info.name,
            option: "batched",
            reason: "a generator cannot be batched".into(),
        });
    }
    Ok(FunctionInfo {
        name: info.name,
        kind: body_kind(info.kind),
        params: info.params,
        param_types: info.param_types,
        web,
        batch,
        generator: info.generator,
        config,
        secrets,
        volumes,
        schedule,
        component,
    })
}

/// A function's schedule, checked: a function with parameters or a generator is refused
/// (a scheduled run has no arguments, and nobody reads its items).
fn schedule_of(
    function: &str,
    params: &[String],
    generator: bool,
    component: &Path,
    schedule: WitSchedule,
) -> Result<Schedule, LoadError> {
    let invalid = |reason: String| LoadError::InvalidOption {
        path: component.to_owned(),
        function: function.to_owned(),
        option: "schedule",
        reason,
    };
    if !params.is_empty() {
        return Err(invalid(format!(
            "a scheduled function is run with no arguments, and this one takes {}",
            params.join(", ")
        )));
    }
    if generator {
        return Err(invalid("a generator cannot be scheduled".into()));
    }
    let checked = match schedule {
        WitSchedule::Period(period) => Period {
            years: period.years,
            months: period.months,
            weeks: period.weeks,
            days: period.days,
            hours: period.hours,
            minutes: period.minutes,
            millis: period.millis,
        }
        .new()
        .map(Schedule::Period),
        WitSchedule::Cron(cron) => {
            CronSchedule::new(&cron.expression, &cron.timezone).map(Schedule::Cron)
        }
    };
    checked.map_err(|error| invalid(error.0))
}

/// A function's web endpoint, checked: a label is one path segment, a `request` endpoint,
/// which answers every method, declares `*`, and a body parameter is one of `params`.
fn web_of(
    function: &str,
    params: &[String],
    component: &Path,
    web: bindings::fnhost::runtime::types::WebEndpoint,
) -> Result<WebEndpoint, LoadError> {
    use bindings::fnhost::runtime::types::WebForm as WitWebForm;
    let invalid = |reason: String| LoadError::InvalidOption {
        path: component.to_owned(),
        function: function.to_owned(),
        option: "web",
        reason,
    };
    let label = web.label.unwrap_or_else(|| function.to_owned());
    if label.is_empty() || label.contains('/') {
        return Err(invalid(format!(
            "the label `{label}` is not one path segment"
        )));
    }
    let form = match web.form {
        WitWebForm::Arguments => WebForm::Arguments,
        WitWebForm::Request => WebForm::Request,
    };
    if (form == WebForm::Request) != (web.method == WebEndpoint::ANY_METHOD) {
        return Err(invalid(format!(
            "method `{}`: an endpoint that takes whole requests answers every method (`*`), \
             and only it does",
            web.method
        )));
    }
    if let Some(body) = web.body.as_ref().filter(|body| !params.contains(body)) {
        return Err(invalid(format!(
            "the body parameter `{body}` is not one of its parameters"
        )));
    }
    Ok(WebEndpoint {
        method: web.method,
        label,
        requires_auth: web.requires_auth,
        form,
        body: web.body,
    })
}

/// What a component says of a class, its options resolved with `overrides` as a function's
/// are; its methods are named `CLASS.METHOD` and share the class's kind and options. A class
/// with no method, or with a web endpoint among its methods and a parameter without a default,
/// is refused.
pub(crate) fn class_info(
    info: bindings::ClassInfo,
    component: PathBuf,
    overrides: FunctionOptions,
) -> Result<ClassInfo, LoadError> {
    let invalid = |option, reason: String| LoadError::InvalidOption {
        path: component.clone(),
        function: info.name.clone(),
        option,
        reason,
    };
    if info.methods.is_empty() {
        return Err(invalid(
            "methods",
            "a class needs at least one method".into(),
        ));
    }
    let kind = body_kind(info.kind);
    let mut methods = Vec::with_capacity(info.methods.len());
    for method in info.methods {
        let undefaulted = info
            .params
            .iter()
            .zip(&info.param_defaults)
            .find_map(|(param, default)| default.is_none().then_some(param));
        if let (Some(_), Some(param)) = (&method.web, undefaulted) {
            return Err(invalid(
                "web",
                format!(
                    "method `{}` is a web endpoint, which runs on the instance of the class's \
                     defaults: the parameter `{param}` needs a default",
                    method.name
                ),
            ));
        }
        if method.schedule.is_some() {
            return Err(invalid(
                "schedule",
                format!("method `{}` cannot be scheduled", method.name),
            ));
        }
        if body_kind(method.kind) != kind {
            return Err(invalid(
                "methods",
                format!(
                    "method `{}` is written unlike the class's other methods: every method of \
                     a class is blocking, or every one async",
                    method.name
                ),
            ));
        }
        let name = format!("{}.{}", info.name, method.name);
        let method = bindings::FunctionInfo {
            name,
            config: info.config,
            secrets: info.secrets.clone(),
            volumes: info.volumes.clone(),
            ..method
        };
        methods.push(function_info(method, component.clone(), overrides)?);
    }
    let options = FunctionOptions::from(&info.config).merged_with(overrides);
    let config = FunctionConfig::resolve(&options)
        .map_err(|invalid_option| invalid(invalid_option.option, invalid_option.reason))?;
    if info.param_defaults.len() != info.params.len() {
        return Err(invalid(
            "params",
            "the component gives a default slot for each parameter".into(),
        ));
    }
    let param_defaults = info
        .param_defaults
        .iter()
        .zip(&info.params)
        .map(|(default, param)| match default {
            None => Ok(None),
            Some(json) => serde_json::from_str(json).map(Some).map_err(|error| {
                invalid(
                    "params",
                    format!("the default of `{param}` is not JSON: {error}"),
                )
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let secrets = secrets_of(&info.name, &component, info.secrets)?;
    let volumes = volumes_of(&info.name, &component, info.volumes)?;
    Ok(ClassInfo {
        name: info.name,
        kind,
        params: info.params,
        param_types: info.param_types,
        param_defaults,
        methods,
        snap: info.snap,
        live_enter: info.live_enter,
        config,
        secrets,
        volumes,
        component,
    })
}

fn body_kind(kind: bindings::BodyKind) -> BodyKind {
    match kind {
        bindings::BodyKind::Blocking => BodyKind::Blocking,
        bindings::BodyKind::Async => BodyKind::Async,
    }
}

/// A function's batching, checked against Modal's bounds.
fn batching_of(
    function: &str,
    component: &Path,
    batching: bindings::Batching,
) -> Result<Batching, LoadError> {
    let wait = Duration::from_millis(u64::from(batching.wait_ms));
    let invalid = |option, reason: String| LoadError::InvalidOption {
        path: component.to_owned(),
        function: function.to_owned(),
        option,
        reason,
    };
    if !(1..=Batching::MAX_SIZE).contains(&batching.max_batch_size) {
        return Err(invalid(
            "max_batch_size",
            format!("must be 1 to {}", Batching::MAX_SIZE),
        ));
    }
    if wait > Batching::MAX_WAIT {
        return Err(invalid(
            "wait_ms",
            format!("must be at most {} ms", Batching::MAX_WAIT.as_millis()),
        ));
    }
    Ok(Batching {
        max_batch_size: batching.max_batch_size,
        wait,
    })
}
