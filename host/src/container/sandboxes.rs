//! The host side of `fnhost:runtime/sandboxes`: sandboxes a guest makes and drives.
//!
//! A guest's `sandbox` and `process` resources are handles to the host's sandboxes (the same
//! ones the HTTP API and the library reach, so a sandbox a function made is found by id from a
//! client, and the other way round). Dropping a handle ends nothing: a sandbox lives until its
//! timeout or `terminate`, as on Modal. The blocking forms wait with the calling store
//! suspended, never past the earliest deadline of the container's inputs; the `-async` forms
//! hold only the calling task.

use crate::Error;
use crate::container::state::ContainerState;
use crate::info::{SecretSource, VolumeMount};
use crate::runtime::bindings::fnhost::runtime::sandboxes::{
    self, ExecOptions as WitExecOptions, Exit as WitExit, HostProcess, HostProcessWithStore,
    HostSandbox, HostSandboxWithStore, SandboxOptions as WitSandboxOptions,
};
use crate::runtime::bindings::fnhost::runtime::types::{
    CallError, SecretSource as WitSecretSource, VolumeMount as WitVolumeMount,
};
use crate::runtime::bindings::secret_source;
use crate::runtime::sandbox::{
    ExecOptions, Process, ProcessExit, Sandbox, SandboxExit, SandboxOptions,
};
use std::future::Future;
use std::time::Duration;
use wasmtime::component::{Accessor, HasSelf, Resource};

/// What a fallible sandbox import returns: a trap, or the operation's own outcome.
type Made<T> = wasmtime::Result<Result<T, CallError>>;

impl sandboxes::Host for ContainerState {}

fn millis(value: Option<u64>) -> Option<Duration> {
    value.map(Duration::from_millis)
}

fn secrets(sources: Vec<WitSecretSource>) -> Result<Vec<SecretSource>, Error> {
    sources
        .into_iter()
        .map(|source| {
            secret_source(source)
                .map_err(|error| Error::BadArguments(format!("a sandbox's secret: {error}")))
        })
        .collect()
}

fn volumes(mounts: Vec<WitVolumeMount>) -> Vec<VolumeMount> {
    mounts
        .into_iter()
        .map(|mount| VolumeMount {
            path: mount.path,
            volume: mount.volume,
            create_if_missing: mount.create_if_missing,
        })
        .collect()
}

fn sandbox_options(options: WitSandboxOptions) -> Result<SandboxOptions, Error> {
    Ok(SandboxOptions {
        app: options.app,
        command: options.command,
        timeout: millis(options.timeout_ms),
        idle_timeout: millis(options.idle_timeout_ms),
        workdir: options.workdir,
        env: options.env,
        secrets: secrets(options.secrets)?,
        volumes: volumes(options.volumes),
        cpu: options
            .millicores
            .map(|millicores| f64::from(millicores) / 1000.0),
        memory: options.memory_mib,
        cpu_time: millis(options.cpu_time_ms),
        packages: options.packages,
    })
}

fn exec_options(options: WitExecOptions) -> Result<ExecOptions, Error> {
    Ok(ExecOptions {
        timeout: millis(options.timeout_ms),
        workdir: options.workdir,
        env: options.env,
        secrets: secrets(options.secrets)?,
    })
}

fn reason_name(reason: crate::runtime::sandbox::ExitReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn process_exit(exit: ProcessExit) -> WitExit {
    WitExit {
        code: exit.code,
        reason: reason_name(exit.reason),
        message: exit.message,
    }
}

fn sandbox_exit(exit: SandboxExit) -> WitExit {
    WitExit {
        code: exit.code,
        reason: reason_name(exit.reason),
        message: None,
    }
}

/// `wait`'s outcome, waiting up to `timeout` (forever when none).
async fn waited<T>(timeout: Option<u64>, wait: impl Future<Output = T>) -> Option<T> {
    match millis(timeout) {
        None => Some(wait.await),
        Some(limit) => tokio::time::timeout(limit, wait).await.ok(),
    }
}

impl ContainerState {
    /// `made` kept in the resource table, or its error as the contract's.
    fn kept<T: Send + 'static>(&mut self, made: Result<T, Error>) -> Made<Resource<T>> {
        Ok(match made {
            Ok(value) => Ok(self.table.push(value)?),
            Err(error) => Err(error.into()),
        })
    }

    /// The sandbox behind `resource`, as a clone to work on outside the table.
    fn sandbox_of(&self, resource: &Resource<Sandbox>) -> wasmtime::Result<Sandbox> {
        Ok(self.table.get(resource)?.clone())
    }

    fn process_of(&self, resource: &Resource<Process>) -> wasmtime::Result<Process> {
        Ok(self.table.get(resource)?.clone())
    }
}

impl HostSandbox for ContainerState {
    async fn create(&mut self, options: WitSandboxOptions) -> Made<Resource<Sandbox>> {
        let made = match (self.sandboxes(), sandbox_options(options)) {
            (Ok(sandboxes), Ok(options)) => {
                let sandboxes = sandboxes.clone();
                self.bound(async move { sandboxes.create(options).await })
                    .await?
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        };
        self.kept(made)
    }

    fn from_id(&mut self, id: String) -> Made<Resource<Sandbox>> {
        let found = self.sandboxes().and_then(|sandboxes| sandboxes.get(&id));
        self.kept(found)
    }

    fn id(&mut self, sandbox: Resource<Sandbox>) -> wasmtime::Result<String> {
        Ok(self.table.get(&sandbox)?.id().to_owned())
    }

    async fn exec(
        &mut self,
        sandbox: Resource<Sandbox>,
        args: Vec<String>,
        options: WitExecOptions,
    ) -> Made<Resource<Process>> {
        let sandbox = self.sandbox_of(&sandbox)?;
        let started = match exec_options(options) {
            Ok(options) => {
                self.bound(async move { sandbox.exec(args, options).await })
                    .await?
            }
            Err(error) => Err(error),
        };
        self.kept(started)
    }

    fn process(&mut self, sandbox: Resource<Sandbox>, pid: u32) -> Made<Resource<Process>> {
        let found = self.table.get(&sandbox)?.process(pid);
        self.kept(found)
    }

    async fn wait(
        &mut self,
        sandbox: Resource<Sandbox>,
        timeout_ms: Option<u64>,
    ) -> wasmtime::Result<Option<WitExit>> {
        let sandbox = self.sandbox_of(&sandbox)?;
        let exit = self.bound(waited(timeout_ms, sandbox.wait())).await?;
        Ok(exit.map(sandbox_exit))
    }

    async fn terminate(&mut self, sandbox: Resource<Sandbox>) -> wasmtime::Result<()> {
        let sandbox = self.sandbox_of(&sandbox)?;
        self.bound(async move { sandbox.terminate().await }).await
    }

    fn drop(&mut self, sandbox: Resource<Sandbox>) -> wasmtime::Result<()> {
        self.table.delete(sandbox)?;
        Ok(())
    }
}

impl HostSandboxWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn wait_async(
        accessor: &Accessor<ContainerState, Self>,
        sandbox: Resource<Sandbox>,
        timeout_ms: Option<u64>,
    ) -> wasmtime::Result<Option<WitExit>> {
        let sandbox = accessor.with(|mut access| access.get().sandbox_of(&sandbox))?;
        Ok(waited(timeout_ms, sandbox.wait()).await.map(sandbox_exit))
    }
}

impl HostProcess for ContainerState {
    fn pid(&mut self, process: Resource<Process>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&process)?.pid())
    }

    async fn write_stdin(
        &mut self,
        process: Resource<Process>,
        bytes: Vec<u8>,
    ) -> wasmtime::Result<bool> {
        let process = self.process_of(&process)?;
        self.bound(async move { process.write_stdin(&bytes).await })
            .await
    }

    fn close_stdin(&mut self, process: Resource<Process>) -> wasmtime::Result<()> {
        self.table.get(&process)?.close_stdin();
        Ok(())
    }

    async fn read(
        &mut self,
        process: Resource<Process>,
        stderr: bool,
        max: u32,
    ) -> wasmtime::Result<Option<Vec<u8>>> {
        let process = self.process_of(&process)?;
        self.bound(read(process, stderr, max)).await
    }

    async fn wait(
        &mut self,
        process: Resource<Process>,
        timeout_ms: Option<u64>,
    ) -> wasmtime::Result<Option<WitExit>> {
        let process = self.process_of(&process)?;
        let exit = self.bound(waited(timeout_ms, process.wait())).await?;
        Ok(exit.map(process_exit))
    }

    fn drop(&mut self, process: Resource<Process>) -> wasmtime::Result<()> {
        self.table.delete(process)?;
        Ok(())
    }
}

/// The process behind `resource`, reached from a concurrent import.
fn process_at(
    accessor: &Accessor<ContainerState, HasSelf<ContainerState>>,
    resource: &Resource<Process>,
) -> wasmtime::Result<Process> {
    accessor.with(|mut access| access.get().process_of(resource))
}

/// The next bytes of the process's stdout or stderr.
async fn read(process: Process, stderr: bool, max: u32) -> Option<Vec<u8>> {
    let max = usize::try_from(max).unwrap_or(usize::MAX).max(1);
    let bytes = match stderr {
        false => process.read_stdout(max).await,
        true => process.read_stderr(max).await,
    };
    bytes.map(|bytes| bytes.to_vec())
}

impl HostProcessWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn write_stdin_async(
        accessor: &Accessor<ContainerState, Self>,
        process: Resource<Process>,
        bytes: Vec<u8>,
    ) -> wasmtime::Result<bool> {
        let process = process_at(accessor, &process)?;
        Ok(process.write_stdin(&bytes).await)
    }

    async fn read_async(
        accessor: &Accessor<ContainerState, Self>,
        process: Resource<Process>,
        stderr: bool,
        max: u32,
    ) -> wasmtime::Result<Option<Vec<u8>>> {
        let process = process_at(accessor, &process)?;
        Ok(read(process, stderr, max).await)
    }

    async fn wait_async(
        accessor: &Accessor<ContainerState, Self>,
        process: Resource<Process>,
        timeout_ms: Option<u64>,
    ) -> wasmtime::Result<Option<WitExit>> {
        let process = process_at(accessor, &process)?;
        Ok(waited(timeout_ms, process.wait()).await.map(process_exit))
    }
}
