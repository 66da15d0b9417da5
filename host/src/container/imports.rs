//! The host side of `fnhost:runtime/host`: what a guest's calls, spawns and sleeps do.
//!
//! Every call is a request submitted through the container's dispatcher (see `dispatch`); the
//! caller's container only waits on a channel, so a call never runs a store inside another store's
//! event loop. Blocking imports (`call`, `function-call.get`, `sleep`) suspend the caller's
//! store until they return, never past the earliest deadline of its inputs; the `*-async` ones
//! suspend only the calling guest task.

use crate::Error;
use crate::container::state::ContainerState;
use crate::dispatch::{PendingCall, Receiver, Request, wait};
use crate::options::CallOptions;
use crate::runtime::bindings::CallError;
use crate::runtime::bindings::fnhost::runtime::{host, types};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Accessor, HasSelf, Resource, ResourceTable};

type CallResult = wasmtime::Result<Result<Vec<u8>, CallError>>;

impl ContainerState {
    /// Submits a call of `function`, extending the call chain of the inputs running here.
    fn request(
        &mut self,
        function: &str,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> Result<Receiver, Error> {
        let options = CallOptions {
            timeout: options.timeout_nanos.map(Duration::from_nanos),
            retries: options.retries,
        };
        let caller = Some(Arc::clone(self.calling_frame()));
        self.dispatch()?
            .submit(function, Request::new(args, options, caller))
    }

    /// Submits a call of `function` and returns the wait for its result, which borrows nothing
    /// from the store.
    fn start_call(
        &mut self,
        function: String,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> impl Future<Output = CallResult> + Send + use<> {
        let submitted = self.request(&function, args, options);
        async move { Ok(wait(&function, submitted).await.map_err(CallError::from)) }
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
        let call = self.start_call(function, args, options);
        self.bound_call(call).await?
    }

    fn spawn(
        &mut self,
        function: String,
        args: Vec<u8>,
        options: types::CallOptions,
    ) -> wasmtime::Result<Resource<PendingCall>> {
        let submitted = self.request(&function, args, options);
        Ok(self
            .table
            .push(PendingCall::waiting(&function, submitted))?)
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
    async fn get(&mut self, resource: Resource<PendingCall>, timeout: Option<u64>) -> CallResult {
        // Waited on outside the table, so that the wait can be bounded by the deadlines.
        let mut call = self.table.get_mut(&resource)?.take();
        let result = self
            .bound_call(call.wait(timeout.map(Duration::from_nanos)))
            .await?;
        put_back_if_timed_out(&mut self.table, &resource, call, &result);
        Ok(result.map_err(CallError::from))
    }

    fn cancel(&mut self, call: Resource<PendingCall>) -> wasmtime::Result<()> {
        self.table.get_mut(&call)?.cancel();
        Ok(())
    }

    fn drop(&mut self, call: Resource<PendingCall>) -> wasmtime::Result<()> {
        // Dropping the pending call closes its channel, which cancels it.
        self.table.delete(call)?;
        Ok(())
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
            .with(|mut access| access.get().start_call(function, args, options))
            .await
    }

    async fn sleep_async(_: &Accessor<ContainerState, Self>, nanos: u64) -> wasmtime::Result<()> {
        tokio::time::sleep(Duration::from_nanos(nanos)).await;
        Ok(())
    }
}

impl host::HostFunctionCallWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn get_async(
        accessor: &Accessor<ContainerState, Self>,
        resource: Resource<PendingCall>,
        timeout: Option<u64>,
    ) -> CallResult {
        // Wait on the call outside the store; a wait that times out puts it back.
        let mut call = accessor
            .with(|mut access| access.get().table.get_mut(&resource).map(PendingCall::take))?;
        let result = call.wait(timeout.map(Duration::from_nanos)).await;
        accessor.with(|mut access| {
            put_back_if_timed_out(&mut access.get().table, &resource, call, &result);
        });
        Ok(result.map_err(CallError::from))
    }
}

/// A wait that timed out leaves the call going: put it back where the guest keeps it.
fn put_back_if_timed_out(
    table: &mut ResourceTable,
    resource: &Resource<PendingCall>,
    call: PendingCall,
    result: &Result<Vec<u8>, Error>,
) {
    if let (Err(Error::Timeout(_)), Ok(kept)) = (result, table.get_mut(resource)) {
        kept.put_back(call);
    }
}
