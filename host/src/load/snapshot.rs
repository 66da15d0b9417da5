//! Snapshots after `enter` (Modal's `@enter(snap=True)`): a class's snap hooks run once per
//! component and set of parameter values, in an instance of the component instrumented by
//! wasmtime-wizer; the instance's memories and globals are then captured into a new component,
//! which the class's containers start from (their `enter` runs only the hooks that are not
//! snap hooks). What the hooks built is there at every start, without paying for it again.
//!
//! Invariant: a snapshot is bound to everything it was made from — the component's bytes, the
//! class, the parameter values, and this format — through its compile-cache key, so a
//! container never starts from the snapshot of another component or of other values. Without
//! it a redeploy, or other values, would start containers holding stale state.
//!
//! Only memory is captured: what lives outside it cannot be, so a snap hook may not call
//! another function or spawn one (the calls fail, naming the rule, and the snapshot fails even
//! when the hook went on without them) and must leave no host resource open (a spawned call's
//! handle, a file, a stream: the snapshot fails, saying so).

use crate::Error;
use crate::container::state::{ContainerContext, ContainerState, new_store};
use crate::container::{HookFailure, run_hook};
use crate::dispatch::offload::OffloadRoute;
use crate::dispatch::{Dispatch, Receiver, Request};
use crate::info::ClassInfo;
use crate::load::cache::{CompileCache, Digest};
use crate::load::component::{LoadedComponent, linker};
use crate::runtime::bindings::{self, AppPre, EnterPhase};
use crate::runtime::grants::OwnGrants;
use crate::runtime::output::Origin;
use std::sync::Arc;
use wasmtime::Store;
use wasmtime::component::{Component, Instance, Lift, WasmList};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

/// This snapshot format's name, in every key: another format is another key.
const FORMAT: &[u8] = b"fnhost snapshot 1 (wasmtime-wizer 48.0.8)";

/// The component `component`'s containers of `class` with `params` start from: its snapshot
/// after the snap `enter` hooks, made now unless `cache` has it.
pub(crate) async fn snapshot(
    component: &LoadedComponent,
    context: &ContainerContext,
    cache: &CompileCache,
    class: &ClassInfo,
    params: &[u8],
) -> Result<AppPre<ContainerState>, Error> {
    let failed = |why: String| {
        Error::User(format!(
            "`{}`: cannot snapshot its instance after its snap `enter` hooks: {why}",
            class.name
        ))
    };
    let Some((source, digest)) = &component.source else {
        return Err(failed("the component was loaded without its bytes".into()));
    };
    let engine = component.pre.engine();
    let key = key(digest, &class.name, params);
    let linker = linker(engine).map_err(|error| failed(error.to_string()))?;
    let pre = |component: &Component| {
        let pre = linker.instantiate_pre(component)?;
        AppPre::new(pre)
    };
    if let Some(cached) = cache.load(engine, &key) {
        return pre(&cached).map_err(|error| failed(format!("{error:#}")));
    }
    let started = std::time::Instant::now();
    let wizer = Wizer::new();
    // Instrumenting and compiling are CPU work: off the async threads' hot path.
    let (cx, instrumented) = tokio::task::block_in_place(|| {
        let (cx, instrumented) = wizer.instrument_component(source)?;
        let compiled = Component::new(engine, &instrumented)?;
        Ok::<_, wasmtime::Error>((cx, compiled))
    })
    .map_err(|error| failed(format!("cannot instrument the component: {error:#}")))?;

    // The snap hooks' instance: routes no call, reaches what the app's containers reach.
    let refusing = Arc::new(SnapshotTime::default());
    let dispatch: Arc<dyn Dispatch> = refusing.clone();
    let context = ContainerContext {
        dispatch: Arc::downgrade(&dispatch),
        grants: context.grants.clone(),
        sink: Arc::clone(&context.sink),
        budget: Arc::clone(&context.budget),
        max_handles: context.max_handles,
        occupancy: Arc::default(),
        calls: Arc::clone(&context.calls),
        offload: OffloadRoute::default(),
        owner: Arc::default(),
        storage: None,
        sandboxes: None,
    };
    let label: Arc<str> = Arc::from(format!("{}#snapshot", class.name));
    let origin = Origin::Container(Arc::clone(&label));
    let memory = Some(class.config.memory_bytes());
    let state = ContainerState::new(
        &context,
        Arc::clone(&label),
        label,
        &origin,
        memory,
        None,
        OwnGrants::default(),
    );
    let mut store = new_store(engine, state);
    let instance = linker
        .instantiate_async(&mut store, &instrumented)
        .await
        .map_err(|error| failed(format!("cannot instantiate the component: {error:#}")))?;
    let app =
        bindings::App::new(&mut store, &instance).map_err(|error| failed(format!("{error:#}")))?;
    let enter = app
        .fnhost_runtime_guest()
        .func_enter()
        .func()
        .typed(&store)
        .map_err(|error| failed(format!("{error:#}")))?;
    let call = (
        Arc::<str>::from(class.name.as_str()),
        params.to_vec(),
        EnterPhase::Snapshot,
    );
    let entering = std::time::Instant::now();
    let entered = run_hook(&mut store, enter, call, class.config.timeout).await;
    tracing::info!(class = %class.name, "snap hooks ran in {:?}", entering.elapsed());
    match entered {
        Ok(()) => {}
        Err(HookFailure::Failed(error)) => return Err(failed(Error::from(error).to_string())),
        Err(HookFailure::Trapped(error)) => return Err(failed(format!("it trapped: {error:#}"))),
        Err(HookFailure::TimedOut) => {
            return Err(failed(format!(
                "its snap hooks ran past the class's timeout of {:?}",
                class.config.timeout
            )));
        }
    }
    if !store.data().table.is_empty() {
        return Err(failed(
            "the snap hooks left a host resource open (a spawned call's handle, a file, a \
             stream): only memory is captured; open it in a hook that is not a snap hook"
                .into(),
        ));
    }
    // Refused calls fail the snapshot even when the hook went on without their results.
    if let Some(function) = refusing.refused() {
        return Err(failed(format!(
            "a snap hook called `{function}`: calls cannot be made before the memory is \
             captured (call it from a hook that is not a snap hook)"
        )));
    }
    let mut captured = Captured {
        store: &mut store,
        instance,
        error: None,
    };
    let bytes = wizer.snapshot_component(&cx, &mut captured).await;
    if let Some(error) = captured.error {
        return Err(failed(format!(
            "cannot read the instance's state: {error:#}"
        )));
    }
    let bytes = bytes.map_err(|error| failed(format!("{error:#}")))?;
    let compiled = tokio::task::block_in_place(|| cache.compile_as(engine, key, &bytes))
        .map_err(|error| failed(format!("cannot compile the snapshot: {error:#}")))?;
    tracing::info!(
        class = %class.name,
        bytes = bytes.len(),
        "snapshot made in {:?}",
        started.elapsed()
    );
    pre(&compiled).map_err(|error| failed(format!("{error:#}")))
}

/// The compile-cache key of the snapshot of `class` with `params` made from the component
/// whose digest is `component`.
fn key(component: &Digest, class: &str, params: &[u8]) -> Digest {
    let mut hasher = blake3::Hasher::new();
    for part in [FORMAT, component, class.as_bytes(), params] {
        // Each part with its length: no two different lists of parts hash alike.
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    *hasher.finalize().as_bytes()
}

/// What the guest's calls meet while snap hooks run: a refusal naming the rule; the first
/// function refused is kept, to fail the snapshot with.
#[derive(Default)]
struct SnapshotTime {
    refused: std::sync::Mutex<Option<String>>,
}

impl SnapshotTime {
    fn refused(&self) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Dispatch for SnapshotTime {
    fn submit(&self, function: &str, _: Request) -> Result<Receiver, Error> {
        self.refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get_or_insert_with(|| function.to_owned());
        Err(Error::BadArguments(format!(
            "`{function}` cannot be called from a snap `enter` hook: the hook runs once, before \
             the instance's memory is captured, and a call is not memory; call it from a hook \
             that is not a snap hook"
        )))
    }
}

/// The instrumented instance, as wizer reads its state through the accessors it exported.
/// wizer's interface cannot fail, so a failure is kept here and reported after.
struct Captured<'a> {
    store: &'a mut Store<ContainerState>,
    instance: Instance,
    error: Option<wasmtime::Error>,
}

impl Captured<'_> {
    /// Calls the accessor `func` of the exported instance `instance`, which returns an `R`.
    async fn read<R: Lift + Send + Sync + 'static>(
        &mut self,
        instance: &str,
        func: &str,
    ) -> Option<R> {
        let result = async {
            let (_, exported) = self
                .instance
                .get_export(&mut *self.store, None, instance)
                .ok_or_else(|| wasmtime::format_err!("no export `{instance}`"))?;
            let (_, index) = self
                .instance
                .get_export(&mut *self.store, Some(&exported), func)
                .ok_or_else(|| wasmtime::format_err!("no export `{instance}#{func}`"))?;
            let typed = self
                .instance
                .get_typed_func::<(), (R,)>(&mut *self.store, index)?;
            let (value,) = typed.call_async(&mut *self.store, ()).await?;
            Ok::<_, wasmtime::Error>(value)
        }
        .await;
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.error.get_or_insert(error);
                None
            }
        }
    }
}

impl ComponentInstanceState for Captured<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        match self.read::<WasmList<u8>>(instance, func).await {
            Some(list) => contents(list.as_le_slice(&*self.store)),
            None => contents(&[]),
        }
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.read(instance, func).await.unwrap_or_default()
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.read(instance, func).await.unwrap_or_default()
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.read::<f32>(instance, func)
            .await
            .unwrap_or_default()
            .to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.read::<f64>(instance, func)
            .await
            .unwrap_or_default()
            .to_bits()
    }
}
