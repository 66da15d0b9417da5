//! The host side of `fnhost:runtime/host`: what a guest's calls, spawns and sleeps do.
//!
//! Every call is a request submitted through the container's dispatcher (see `dispatch`); the
//! caller's container only waits on a channel, so a call never runs a store inside another store's
//! event loop. A spawned call is kept by the host's store of calls (`retained`): the
//! guest's `function-call` resource is a handle to it, as is one found with `call-from-id`.
//! Blocking imports (`call`, `function-call.get`, `wait-finished`, `sleep`) suspend the caller's
//! store until they return, never past the earliest deadline of its inputs; the `*-async` ones
//! suspend only the calling guest task.

use crate::container::state::ContainerState;
use crate::dispatch::items::{self, ItemSink, ItemStream, Items};
use crate::dispatch::payload;
use crate::dispatch::{CallId, Overrides, Receiver, Request, wait};
use crate::options::{CallOptions, FunctionOptions};
use crate::retained::{CallHandle, CallStore, Outcome, Retained, wait_finished};
use crate::runtime::bindings::fnhost::runtime::{host, types};
use crate::runtime::bindings::{CallError, secrets_of, volumes_of};
use crate::{Error, LoadError};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::AsContextMut;
use wasmtime::component::{Access, Accessor, GuestTaskId, HasSelf, Resource};

type CallResult = wasmtime::Result<Result<Vec<u8>, CallError>>;

/// The most calls one `wait-finished` waits on; more traps the caller's input.
const MAX_WAITED_CALLS: usize = 10_000;

/// What a call's options set for the callee's containers (`with_options`), checked as a
/// component's own declarations are; `None` when they set nothing.
fn overrides(options: types::CallOptions) -> Result<Option<Overrides>, Error> {
    if options.containers.is_none() && options.secrets.is_none() && options.volumes.is_none() {
        return Ok(None);
    }
    let refused = |error: LoadError| match error {
        LoadError::InvalidOption { option, reason, .. } => {
            Error::BadArguments(format!("`with_options`: option `{option}` {reason}"))
        }
        other => Error::BadArguments(other.to_string()),
    };
    let place = Path::new("with_options");
    let secrets = options
        .secrets
        .map(|secrets| secrets_of("", place, secrets));
    let volumes = options
        .volumes
        .map(|volumes| volumes_of("", place, volumes));
    Ok(Some(Overrides {
        options: options
            .containers
            .as_ref()
            .map(FunctionOptions::from)
            .unwrap_or_default(),
        secrets: secrets.transpose().map_err(refused)?,
        volumes: volumes.transpose().map_err(refused)?,
    }))
}

/// The guest task an import was called from: the root of its call stack, the export call of
/// the input that made it (see `ContainerState::calling_frame`).
fn calling_task(mut store: impl AsContextMut) -> Option<GuestTaskId> {
    store.as_context_mut().async_call_stack().ok()?.last()
}

impl ContainerState {
    /// A request with `args` made by the guest task `task`, extending the call chain of its
    /// input; secrets or volumes that cannot be are refused with `bad-arguments`.
    fn new_request(
        &mut self,
        task: Option<GuestTaskId>,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> Result<Request, Error> {
        let call_options = CallOptions {
            timeout: options.timeout_nanos.map(Duration::from_nanos),
            retries: options.retries,
        };
        let containers = overrides(options)?;
        let caller = Some(Arc::clone(self.calling_frame(task)));
        let mut request = Request::new(args, call_options, caller);
        if containers.is_some() {
            // Another host would run it with the callee's own containers.
            request.may_offer = false;
            request.containers = containers;
        }
        Ok(request)
    }

    /// Submits a call of `function` made by `task`, extending its input's call chain.
    fn request(
        &mut self,
        task: Option<GuestTaskId>,
        function: &str,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> Result<Receiver, Error> {
        let request = self.new_request(task, args, options)?;
        self.dispatch()?.submit(function, request)
    }

    /// Submits a call of `function` made by `task` and returns the wait for its result, which
    /// borrows nothing from the store.
    fn start_call(
        &mut self,
        task: Option<GuestTaskId>,
        function: String,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> impl Future<Output = CallResult> + Send + use<> {
        let submitted = self.request(task, &function, args, options);
        async move { Ok(wait(&function, submitted).await.map_err(CallError::from)) }
    }

    /// Spawns a call of `function` made by `task`: a handle to it, kept by the host's calls.
    fn spawn_call(
        &mut self,
        task: Option<GuestTaskId>,
        function: String,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> wasmtime::Result<Resource<CallHandle>> {
        // The app is held until the call ends, so that a version being replaced drains it.
        let (id, submitted, app) = match self.new_request(task, args, options) {
            Ok(mut request) => {
                request.caller = request.caller.map(|caller| caller.spawning());
                let id = request.id;
                match self.dispatch() {
                    Ok(app) => (id, app.submit(&function, request), Some(app)),
                    Err(error) => (id, Err(error), None),
                }
            }
            Err(error) => (CallId::mint(), Err(error), None),
        };
        let call = self
            .calls
            .start(id, self.owner.now(), &function, submitted, app);
        Ok(self.table.push(call)?)
    }

    /// Calls the generator `function` for `task`: the stream of its items.
    fn call_generator(
        &mut self,
        task: Option<GuestTaskId>,
        function: String,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> wasmtime::Result<Resource<ItemStream>> {
        let (sender, receiver) = items::channel();
        let submitted = self
            .new_request(task, args, options)
            .and_then(|mut request| {
                request.items = Some(sender);
                self.dispatch()
                    .and_then(|app| app.submit(&function, request))
            });
        let items = Items::new(&function, receiver, submitted);
        Ok(self
            .table
            .push(ItemStream(Arc::new(tokio::sync::Mutex::new(items))))?)
    }
}

impl types::Host for ContainerState {}

impl host::Host for ContainerState {
    async fn call(
        &mut self,
        function: String,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> CallResult {
        // A blocking import does not see its guest task: the chain is the deepest input's.
        let call = self.start_call(None, function, args, options);
        self.bound_call(call).await?
    }

    fn call_from_id(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<Resource<CallHandle>, CallError>> {
        match self.calls.find_owned(&id, &self.owner.now()) {
            Ok(call) => {
                call.found_by_id();
                Ok(Ok(self.table.push(call)?))
            }
            Err(error) => Ok(Err(error.into())),
        }
    }

    async fn wait_finished(
        &mut self,
        calls: Vec<Resource<CallHandle>>,
        timeout: Option<u64>,
    ) -> wasmtime::Result<Vec<u32>> {
        // Each call waited on costs a future here: a guest may not make the host hold a
        // million of them (the SDKs wait on at most 1000).
        if calls.len() > MAX_WAITED_CALLS {
            wasmtime::bail!(
                "`wait-finished` on {} calls; at most {MAX_WAITED_CALLS} at once",
                calls.len()
            );
        }
        // Waited on outside the table, as `get` is.
        let calls = calls
            .iter()
            .map(|call| self.table.get(call).map(Arc::clone))
            .collect::<Result<Vec<_>, _>>()?;
        let finished = self
            .bound_call(wait_finished(&calls, timeout.map(Duration::from_nanos)))
            .await?;
        // Indices into a list the guest passed, so they fit in a u32.
        Ok(finished
            .into_iter()
            .filter_map(|index| u32::try_from(index).ok())
            .collect())
    }

    fn stats(
        &mut self,
        function: String,
        params: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, CallError>> {
        let stats = self
            .dispatch()
            .and_then(|app| app.pool_stats(&function, &params));
        Ok(stats.map_err(CallError::from))
    }

    async fn sleep(&mut self, nanos: u64) -> wasmtime::Result<()> {
        self.bound(tokio::time::sleep(Duration::from_nanos(nanos)))
            .await
    }

    fn report_panic(&mut self, message: String) -> wasmtime::Result<()> {
        self.report_panic(message);
        Ok(())
    }
}

impl host::HostFunctionCall for ContainerState {
    fn id(&mut self, call: Resource<CallHandle>) -> wasmtime::Result<String> {
        Ok(self.table.get(&call)?.id().to_string())
    }

    async fn get(&mut self, call: Resource<CallHandle>, timeout: Option<u64>) -> CallResult {
        // Waited on outside the table, so that the wait can be bounded by the deadlines.
        let call = Arc::clone(self.table.get(&call)?);
        let calls = Arc::clone(&self.calls);
        let result = self
            .bound_call(read_outcome(&calls, &call, timeout))
            .await??;
        Ok(result.map_err(CallError::from))
    }

    fn cancel(&mut self, call: Resource<CallHandle>) -> wasmtime::Result<()> {
        self.table.get(&call)?.cancel();
        Ok(())
    }

    fn drop(&mut self, call: Resource<CallHandle>) -> wasmtime::Result<()> {
        // The call goes on: the host keeps it by id.
        self.table.delete(call)?;
        Ok(())
    }
}

impl host::HostItemSink for ContainerState {
    async fn send(&mut self, sink: Resource<ItemSink>, item: Vec<u8>) -> wasmtime::Result<bool> {
        let sender = checked_item(&self.table, &sink, &item)?;
        // Waits while the caller's buffer is full, never past the input's deadline.
        let sent = self.bound(sender.send(item)).await?;
        Ok(sent.is_ok())
    }

    fn drop(&mut self, sink: Resource<ItemSink>) -> wasmtime::Result<()> {
        // Its sender goes with it: once the input ends, its caller sees the end.
        self.table.delete(sink)?;
        Ok(())
    }
}

/// The sender of `sink`, when `item` may be sent: an item is at most a payload's size.
fn checked_item(
    table: &wasmtime::component::ResourceTable,
    sink: &Resource<ItemSink>,
    item: &[u8],
) -> wasmtime::Result<items::ItemSender> {
    let sender = table.get(sink)?.0.clone();
    payload::check("a generator", "item", item.len()).map_err(wasmtime::Error::msg)?;
    Ok(sender)
}

impl host::HostItemStream for ContainerState {
    async fn next(
        &mut self,
        stream: Resource<ItemStream>,
    ) -> wasmtime::Result<Option<Result<Vec<u8>, CallError>>> {
        // Waited on outside the table, as `get` is.
        let items = Arc::clone(&self.table.get(&stream)?.0);
        let next = self
            .bound_call(async move { items.lock().await.next().await })
            .await?;
        Ok(next.map(|item| item.map_err(CallError::from)))
    }

    fn drop(&mut self, stream: Resource<ItemStream>) -> wasmtime::Result<()> {
        // Dropping the items cancels the call.
        self.table.delete(stream)?;
        Ok(())
    }
}

impl host::HostItemSinkWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn send_async(
        accessor: &Accessor<ContainerState, Self>,
        sink: Resource<ItemSink>,
        item: Vec<u8>,
    ) -> wasmtime::Result<bool> {
        let sender = accessor.with(|mut access| checked_item(&access.get().table, &sink, &item))?;
        Ok(sender.send(item).await.is_ok())
    }
}

impl host::HostItemStreamWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn next_async(
        accessor: &Accessor<ContainerState, Self>,
        stream: Resource<ItemStream>,
    ) -> wasmtime::Result<Option<Result<Vec<u8>, CallError>>> {
        let items = accessor
            .with(|mut access| access.get().table.get(&stream).map(|s| Arc::clone(&s.0)))?;
        let next = items.lock().await.next().await;
        Ok(next.map(|item| item.map_err(CallError::from)))
    }
}

impl host::HostWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn call_async(
        accessor: &Accessor<ContainerState, Self>,
        function: String,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> CallResult {
        accessor
            .with(|mut access| {
                let task = calling_task(&mut access);
                access.get().start_call(task, function, args, options)
            })
            .await
    }

    fn spawn(
        mut access: Access<'_, ContainerState, Self>,
        function: String,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> wasmtime::Result<Resource<CallHandle>> {
        let task = calling_task(&mut access);
        access.get().spawn_call(task, function, args, options)
    }

    fn call_gen(
        mut access: Access<'_, ContainerState, Self>,
        function: String,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> wasmtime::Result<Resource<ItemStream>> {
        let task = calling_task(&mut access);
        access.get().call_generator(task, function, args, options)
    }

    async fn sleep_async(_: &Accessor<ContainerState, Self>, nanos: u64) -> wasmtime::Result<()> {
        tokio::time::sleep(Duration::from_nanos(nanos)).await;
        Ok(())
    }
}

impl host::HostFunctionCallWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn get_async(
        accessor: &Accessor<ContainerState, Self>,
        call: Resource<CallHandle>,
        timeout: Option<u64>,
    ) -> CallResult {
        // Wait on the call outside the store.
        let (calls, call) = accessor.with(|mut access| {
            let state = access.get();
            let call = state.table.get(&call).map(Arc::clone);
            call.map(|call| (Arc::clone(&state.calls), call))
        })?;
        let result = read_outcome(&calls, &call, timeout).await?;
        Ok(result.map_err(CallError::from))
    }
}

/// `call`'s outcome for a guest, waited for at most `timeout` nanoseconds: journaled first when
/// a guest found the call by id. A host that cannot keep it fails the input rather than answer.
async fn read_outcome(
    calls: &CallStore,
    call: &Retained,
    timeout: Option<u64>,
) -> wasmtime::Result<Outcome> {
    let result = call.wait(timeout.map(Duration::from_nanos)).await;
    calls.keep_given_out(call).await.map_err(|error| {
        wasmtime::format_err!(
            "the host cannot keep the result of `{}` on disk: {error}",
            call.function()
        )
    })?;
    Ok(result)
}
