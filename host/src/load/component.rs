//! Loading one app component: compile it, check it implements the contract, ask what it holds.
//!
//! Every check happens here, once, so that a broken file fails at load with a message naming
//! the file and what is wrong, never later inside a call.

use crate::LoadError;
use crate::bindings::{AppInfo, AppPre};
use crate::cache::CompileCache;
use crate::container::{ContainerState, Stdio, new_store};
use crate::sandbox::Grants;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::component::{Component, HasSelf, Linker};

/// A compiled, validated app component, ready to instantiate.
pub(crate) struct LoadedComponent {
    pub(crate) path: PathBuf,
    pub(crate) pre: AppPre<ContainerState>,
}

/// The linker every container is instantiated with: WASI p2 and the `fnhost:runtime/host`
/// imports.
pub(crate) fn linker(engine: &wasmtime::Engine) -> Result<Linker<ContainerState>, LoadError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .and_then(|()| {
            crate::bindings::App::add_to_linker::<_, HasSelf<ContainerState>>(
                &mut linker,
                |state| state,
            )
        })
        .map_err(|error| LoadError::Engine(error.to_string()))?;
    Ok(linker)
}

/// Compiles the component at `path` and checks that it is an fnhost app.
pub(crate) async fn load(
    linker: &Linker<ContainerState>,
    cache: &CompileCache,
    path: &Path,
) -> Result<(Arc<LoadedComponent>, AppInfo), LoadError> {
    let engine = linker.engine().clone();
    let file = path.to_owned();
    let cache = cache.clone();
    let component = tokio::task::spawn_blocking(move || compile(&engine, &cache, &file))
        .await
        .map_err(|error| LoadError::Engine(error.to_string()))??;
    let not_an_app = |reason: String| LoadError::NotAnApp {
        path: path.to_owned(),
        reason,
    };
    let mismatch = |error: wasmtime::Error| {
        not_an_app(
            contract_version(&component, linker.engine()).unwrap_or_else(|| format!("{error:#}")),
        )
    };
    let pre = linker.instantiate_pre(&component).map_err(mismatch)?;
    let pre = AppPre::new(pre).map_err(mismatch)?;
    let loaded = Arc::new(LoadedComponent {
        path: path.to_owned(),
        pre,
    });
    let info = describe(&loaded)
        .await
        .map_err(|error| not_an_app(format!("`describe` failed: {error:#}")))?;
    Ok((loaded, info))
}

/// The contract's package, as components name it in their imports and exports.
const CONTRACT: &str = "fnhost:runtime/";

/// The version of this host's contract, `wit/fnhost.wit`'s package version.
const CONTRACT_VERSION: &str = "0.1.0";

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

/// Reads and compiles the component at `path`, or takes it from `cache` (CPU-bound: run it off
/// the async threads).
fn compile(
    engine: &wasmtime::Engine,
    cache: &CompileCache,
    path: &Path,
) -> Result<Component, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| LoadError::Compile {
        path: path.to_owned(),
        reason,
    };
    if wasmparser::Parser::is_core_wasm(&bytes) {
        return Err(invalid(
            "it is a core WebAssembly module, not a component (build the guest for \
             `wasm32-wasip2`, which produces components)"
                .into(),
        ));
    }
    if !wasmparser::Parser::is_component(&bytes) {
        return Err(invalid(
            "it does not start with the WebAssembly component header".into(),
        ));
    }
    cache
        .component(engine, &bytes)
        .map_err(|error| invalid(format!("{error:#}")))
}

/// Instantiates the component once, on its own, and asks what it holds.
async fn describe(component: &LoadedComponent) -> wasmtime::Result<AppInfo> {
    let label: Arc<str> = Arc::from(format!("{}", component.path.display()));
    let grants = Grants::default();
    let state = ContainerState::new(
        std::sync::Weak::new(),
        &grants,
        Arc::clone(&label),
        label,
        Stdio::Prefixed,
        None,
        None,
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
