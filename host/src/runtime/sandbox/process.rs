//! One process of a sandbox: a `wasi:cli` command instantiated in a store of its own, run to
//! its end, with its standard streams piped to the host.
//!
//! A process shares its sandbox's files (the same directories are mounted in every process)
//! and nothing else: its own store, instance and linear memory. It ends in exactly one way,
//! reported once as its [`ProcessExit`]: it returns or exits, or it is stopped — past its
//! timeout, over its memory or CPU time, by a trap, or killed when its sandbox ends. However
//! it ends, its store is dropped (its memory given back to the sandbox's and the host's
//! budgets) and its stdout and stderr reach their end of file, so a reader never waits for a
//! process that is gone.

use crate::runtime::cpu::CpuBudget;
use crate::runtime::engine::EPOCH_TICK;
use crate::runtime::sandbox::exit::{ExitReason, ProcessExit, end_once, ended};
use crate::runtime::sandbox::pipe::{GuestOutput, GuestStdin, Pipe};
use crate::runtime::sandbox::program::Program;
use crate::runtime::sandbox::store::{ProcessLimits, ProcessState};
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder};

/// What a process is started with.
pub(crate) struct Setup {
    pub(crate) program: Arc<Program>,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) workdir: String,
    /// Host directories mounted at guest paths, read-write.
    pub(crate) mounts: Vec<(PathBuf, String)>,
    /// Host directories mounted at guest paths, read-only.
    pub(crate) read_only: Vec<(PathBuf, String)>,
    pub(crate) timeout: Duration,
    pub(crate) limits: ProcessLimits,
    /// Thousandths of a core it may use, if limited.
    pub(crate) millicores: Option<u32>,
    /// CPU time it may use, if limited.
    pub(crate) cpu_time: Option<Duration>,
    pub(crate) throttles: Arc<AtomicUsize>,
}

/// A running or finished process. Cheap to clone.
#[derive(Clone)]
pub struct Process(Arc<Shared>);

struct Shared {
    pid: u32,
    args: Vec<String>,
    stdin: Pipe,
    stdout: Pipe,
    stderr: Pipe,
    exit: watch::Sender<Option<ProcessExit>>,
    kill: watch::Sender<Option<ExitReason>>,
}

impl Process {
    /// Starts `setup` as process `pid` on the runtime.
    pub(crate) fn start(pid: u32, setup: Setup) -> Process {
        let process = Process(Arc::new(Shared {
            pid,
            args: setup.args.clone(),
            stdin: Pipe::default(),
            stdout: Pipe::default(),
            stderr: Pipe::default(),
            exit: watch::Sender::new(None),
            kill: watch::Sender::new(None),
        }));
        let running = process.clone();
        tokio::spawn(async move {
            let exit = running.run(setup).await;
            let shared = &running.0;
            shared.stdout.close_write();
            shared.stderr.close_write();
            shared.stdin.close_read();
            tracing::debug!(pid = shared.pid, code = exit.code, reason = ?exit.reason, "process ended");
            shared.exit.send_replace(Some(exit));
        });
        process
    }

    /// Its number in its sandbox.
    pub fn pid(&self) -> u32 {
        self.0.pid
    }

    /// The command line it was started with.
    pub fn args(&self) -> &[String] {
        &self.0.args
    }

    /// Writes `bytes` to its stdin, waiting while the pipe is full; `false` when its stdin
    /// is closed (`close_stdin`, or the process ended).
    pub async fn write_stdin(&self, bytes: &[u8]) -> bool {
        self.0.stdin.write_all(bytes).await
    }

    /// Waits until the process read everything written to its stdin (or ended).
    pub async fn drain_stdin(&self) {
        tokio::select! {
            () = self.0.stdin.drained() => {}
            _ = self.wait() => {}
        }
    }

    /// Closes its stdin: after what it holds, the process reads an end of file.
    pub fn close_stdin(&self) {
        self.0.stdin.close_write();
    }

    /// The next bytes of its stdout, up to `max`, waiting for some; `None` at its end.
    pub async fn read_stdout(&self, max: usize) -> Option<Bytes> {
        self.0.stdout.read_some(max).await
    }

    /// The next bytes of its stderr, up to `max`, waiting for some; `None` at its end.
    pub async fn read_stderr(&self, max: usize) -> Option<Bytes> {
        self.0.stderr.read_some(max).await
    }

    /// How it ended, waiting until it does.
    pub async fn wait(&self) -> ProcessExit {
        ended(&self.0.exit).await
    }

    /// How it ended, if it did.
    pub fn poll(&self) -> Option<ProcessExit> {
        self.0.exit.borrow().clone()
    }

    /// Stops it for `reason`, unless it ended already.
    pub(crate) fn kill(&self, reason: ExitReason) {
        end_once(&self.0.kill, reason);
    }

    /// Stops reading its output: what it writes from now on is discarded, not held.
    pub(crate) fn abandon_output(&self) {
        self.0.stdout.close_read();
        self.0.stderr.close_read();
    }

    async fn run(&self, setup: Setup) -> ProcessExit {
        let started = Instant::now();
        let deadline = started + setup.timeout;
        let mut kill = self.0.kill.subscribe();
        let (stdin, stdout, stderr) = (
            self.0.stdin.clone(),
            self.0.stdout.clone(),
            self.0.stderr.clone(),
        );
        let execute = execute(setup, stdin, stdout, stderr);
        tokio::select! {
            exit = execute => exit,
            reason = killed(&mut kill) => stopped(reason, None),
            () = tokio::time::sleep_until(deadline.into()) => stopped(ExitReason::Timeout, None),
        }
    }
}

/// Waits until the process is told to stop; returns why.
async fn killed(kill: &mut watch::Receiver<Option<ExitReason>>) -> ExitReason {
    loop {
        if let Some(reason) = *kill.borrow_and_update() {
            return reason;
        }
        if kill.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// The exit of a process stopped for `reason` before its store could report its use.
fn stopped(reason: ExitReason, message: Option<String>) -> ProcessExit {
    ProcessExit {
        code: reason.code(),
        reason,
        message,
        cpu_ms: 0,
        memory_peak: 0,
    }
}

/// Runs the command to its end in a store of its own.
async fn execute(setup: Setup, stdin: Pipe, stdout: Pipe, stderr: Pipe) -> ProcessExit {
    let wasi = wasi(&setup, stdin, stdout, stderr);
    let state = ProcessState {
        wasi,
        table: ResourceTable::new(),
        limits: setup.limits,
        cpu: setup
            .millicores
            .map(|millicores| CpuBudget::new(millicores, Arc::clone(&setup.throttles))),
        ticks: 0,
        max_ticks: setup
            .cpu_time
            .map(|limit| (limit.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64),
        over: None,
    };
    let mut store = Store::new(setup.program.engine(), state);
    store.limiter(|state| &mut state.limits);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(on_tick);
    let outcome = match setup.program.pre().instantiate_async(&mut store).await {
        Ok(command) => command.wasi_cli_run().call_run(&mut store).await,
        Err(error) => Err(error),
    };
    let state = store.data();
    let cpu_ms = state.ticks * EPOCH_TICK.as_millis() as u64;
    let memory_peak = state.limits.peak as u64;
    let (reason, code, message) = match outcome {
        Ok(Ok(())) => (ExitReason::Exited, 0, None),
        Ok(Err(())) => (ExitReason::Exited, 1, None),
        Err(error) => match error.downcast_ref::<I32Exit>() {
            Some(exit) => (ExitReason::Exited, exit.0, None),
            None => {
                let reason = state.over.or(state.limits.over).unwrap_or(ExitReason::Trap);
                (reason, reason.code(), Some(format!("{error:#}")))
            }
        },
    };
    ProcessExit {
        code,
        reason,
        message,
        cpu_ms,
        memory_peak,
    }
}

/// At every epoch tick the guest computed through: charged to its CPU time (stopped past its
/// limit), paused when over its cores, and yields to the executor.
fn on_tick(
    mut store: wasmtime::StoreContextMut<'_, ProcessState>,
) -> wasmtime::Result<UpdateDeadline> {
    let state = store.data_mut();
    state.ticks += 1;
    if state.max_ticks.is_some_and(|max| state.ticks > max) {
        state.over = Some(ExitReason::CpuTime);
        wasmtime::bail!("the process used up its CPU time");
    }
    Ok(match state.cpu.as_mut().and_then(CpuBudget::charge_tick) {
        Some(pause) => UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep(pause))),
        None => UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())),
    })
}

/// The process's WASI: its pipes, arguments and environment, its working directory, and its
/// sandbox's directories; the interpreter's standard library read-only at `/python`, and
/// the sandbox's packages at `/packages`.
fn wasi(setup: &Setup, stdin: Pipe, stdout: Pipe, stderr: Pipe) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdin(GuestStdin(stdin))
        .stdout(GuestOutput(stdout))
        .stderr(GuestOutput(stderr))
        .args(&setup.args)
        .envs(&setup.env)
        .env("PWD", &setup.workdir)
        .initial_cwd(&setup.workdir);
    for (host, guest) in &setup.mounts {
        if let Err(error) = builder.preopened_dir(host, guest, FsPerms::ReadWrite) {
            tracing::warn!("cannot mount {} in a sandbox: {error}", host.display());
        }
    }
    let stdlib = setup.program.stdlib().map(|dir| (dir, "/python"));
    let read_only = setup
        .read_only
        .iter()
        .map(|(host, guest)| (host.as_path(), guest.as_str()));
    for (host, guest) in stdlib.into_iter().chain(read_only) {
        if let Err(error) = builder.preopened_dir(host, guest, FsPerms::ReadOnly) {
            tracing::warn!("cannot mount {}: {error}", host.display());
        }
    }
    builder.build()
}
