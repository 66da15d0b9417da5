//! Sandboxes: Modal's `Sandbox`, isolated containers made on demand to run code nobody
//! reviewed, one process at a time or several.
//!
//! A sandbox is a scratch directory of the host, mounted as its processes' `/`, and the
//! volumes it was made with, at their paths; its secrets and variables; and its limits. It
//! holds no instance while idle (a few hundred bytes and a directory), so a host keeps
//! thousands. `exec` starts a process: a `wasi:cli` command (`python`, or a component in the
//! sandbox's files or registered with the host) in a store of its own, so processes share the
//! sandbox's files and nothing else. Processes have no network (no socket address is allowed,
//! no name resolved, no wasi:http) and no host file but those directories.
//!
//! Invariant: a sandbox ends once — past its timeout, idle past its idle timeout, terminated,
//! its entrypoint process done, or the host stopping (or dropped) — and ending kills its
//! processes, waits for them and removes its scratch directory, so an ended sandbox holds nothing but its
//! record (kept, by id, for [`ENDED_KEPT`] more sandboxes). Without it, a sandbox nobody
//! terminates would keep its processes' memory and its files for the host's life.

mod exit;
mod pipe;
mod process;
pub(crate) mod program;
pub(crate) mod store;

pub use exit::{ExitReason, ProcessExit};
use exit::{end_once, ended};
pub use pipe::PIPE_CAPACITY;
pub use process::Process;

use crate::Error;
use crate::info::{SecretSource, VolumeMount};
use crate::runtime::grants::{secret_env, volume_dirs};
use crate::runtime::memory::MemoryBudget;
use crate::storage::LazyStorage;
use process::Setup;
use program::FindProgram;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use store::ProcessLimits;
use tokio::sync::watch;

/// A sandbox's lifetime unless it says otherwise: Modal's 5 minutes.
pub const DEFAULT_SANDBOX_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest lifetime a sandbox may ask for: a day, as Modal allows.
pub const MAX_SANDBOX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
/// A sandbox's memory limit unless it says otherwise, over all its processes.
pub const DEFAULT_SANDBOX_MEMORY: u64 = 1 << 30;
/// Where a sandbox's packages are mounted (the interpreter puts it on `sys.path`).
pub const PACKAGES: &str = "/packages";
/// How many ended sandboxes stay readable by id (their exit), oldest forgotten first.
pub const ENDED_KEPT: usize = 10_000;
/// How many sandboxes a host holds at once unless its operator says otherwise.
pub const DEFAULT_MAX_SANDBOXES: usize = 10_000;
/// How many processes one sandbox may have running at once.
pub const MAX_PROCESSES: usize = 64;
/// How many ended processes a sandbox keeps (their exit and unread output), newest first.
pub const ENDED_PROCESSES_KEPT: usize = 64;
/// How long a sandbox whose entrypoint ended keeps its processes' unread output.
pub const OUTPUT_KEPT: Duration = Duration::from_secs(300);

/// What a sandbox is made with: Modal's `Sandbox.create` arguments.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// The app it belongs to (Modal's `app=`): listed with it; any name.
    pub app: Option<String>,
    /// An entrypoint: a command started with the sandbox, whose end ends it (Modal's
    /// `Sandbox.create("python", "-c", ...)`). None: it waits for `exec`s.
    pub command: Vec<String>,
    /// Its lifetime; [`DEFAULT_SANDBOX_TIMEOUT`] when `None`.
    pub timeout: Option<Duration>,
    /// How long it may stay idle (no process running, nothing asked of it) before it ends.
    pub idle_timeout: Option<Duration>,
    /// Its processes' working directory (absolute); `/` when `None`.
    pub workdir: Option<String>,
    /// Environment variables of every process.
    pub env: Vec<(String, String)>,
    /// Secrets whose variables every process gets, after `env`.
    pub secrets: Vec<SecretSource>,
    /// Volumes mounted read-write at their paths.
    pub volumes: Vec<VolumeMount>,
    /// Cores its processes may use, each (Modal's `cpu=`); all they get when `None`.
    pub cpu: Option<f64>,
    /// Its memory limit in MiB over all its processes (Modal's `memory=`);
    /// [`DEFAULT_SANDBOX_MEMORY`] when `None`.
    pub memory: Option<u64>,
    /// CPU time each process may use (an fnhost option, as `ulimit -t`); unlimited when
    /// `None`.
    pub cpu_time: Option<Duration>,
    /// Python packages (pip's spelling: Modal's `Image.pip_install`) its `python` imports:
    /// installed once per set (pure-Python wheels, or wasm ones) and mounted read-only at
    /// `/packages`.
    pub packages: Vec<String>,
}

/// What one `exec` is started with: Modal's `Sandbox.exec` arguments.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Its timeout; the sandbox's remaining lifetime when `None`.
    pub timeout: Option<Duration>,
    /// Its working directory (absolute); the sandbox's when `None`.
    pub workdir: Option<String>,
    /// Variables set after the sandbox's.
    pub env: Vec<(String, String)>,
    /// Secrets whose variables it gets, after those.
    pub secrets: Vec<SecretSource>,
}

/// How a sandbox ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxExit {
    /// Its exit code: its entrypoint's, or the reason's (124 past its timeout, 137
    /// terminated, 0 idle).
    pub code: i32,
    /// Why it ended.
    pub reason: ExitReason,
}

/// What a listing shows of a sandbox.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxInfo {
    /// Its id, `sb-` and 32 hexadecimal digits.
    pub id: String,
    /// The app it belongs to, if it was given one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// When it was made, in seconds since the Unix epoch.
    pub created: u64,
    /// Processes running now.
    pub running: usize,
    /// Processes started so far.
    pub started: u32,
    /// How it ended, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<SandboxExit>,
}

/// Counters of a host's sandboxes, for metrics.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct SandboxStats {
    /// Sandboxes made since the host started.
    pub created: u64,
    /// Sandboxes alive now.
    pub live: usize,
    /// Processes started since the host started.
    pub processes: u64,
    /// Processes running now.
    pub running: usize,
    /// Times a process was paused for its CPU limit.
    pub cpu_throttles: usize,
}

/// A host's sandboxes. Cheap to clone.
#[derive(Clone)]
pub struct Sandboxes(Arc<Shared>);

struct Shared {
    programs: Arc<dyn FindProgram>,
    host_budget: Arc<MemoryBudget>,
    storage: Arc<LazyStorage>,
    /// Where scratch directories are made.
    root: PathBuf,
    max_sandboxes: usize,
    table: Mutex<Table>,
    created: AtomicU64,
    processes: AtomicU64,
    throttles: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Table {
    live: HashMap<String, Sandbox>,
    ended: HashMap<String, Sandbox>,
    /// Ended sandboxes' ids, oldest first.
    ended_order: VecDeque<String>,
    /// Set when the host stops: no sandbox is made after.
    closed: bool,
}

impl Drop for Shared {
    /// The host is gone: its sandboxes end with it (their processes stop; each one's files go
    /// when its last task lets go of it).
    fn drop(&mut self) {
        let table = self.table.get_mut().unwrap_or_else(PoisonError::into_inner);
        for sandbox in table.live.values() {
            let reason = ExitReason::Terminated;
            sandbox.stop(&SandboxExit {
                code: reason.code(),
                reason,
            });
        }
        // Only when empty: another host of the process may use it still.
        let _ = std::fs::remove_dir(&self.root);
    }
}

impl Sandboxes {
    /// The sandboxes of a host whose programs `programs` finds, charging `host_budget`, whose
    /// volumes and secrets are in `storage`; scratch directories are made in `root`.
    pub(crate) fn new(
        programs: Arc<dyn FindProgram>,
        host_budget: Arc<MemoryBudget>,
        storage: Arc<LazyStorage>,
        root: PathBuf,
        max_sandboxes: usize,
    ) -> Sandboxes {
        Sandboxes(Arc::new(Shared {
            programs,
            host_budget,
            storage,
            root,
            max_sandboxes,
            table: Mutex::default(),
            created: AtomicU64::new(0),
            processes: AtomicU64::new(0),
            throttles: Arc::default(),
        }))
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.0.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `name` run the command component at `path` in every sandbox of the host
    /// (`sb.exec(name, ...)`).
    pub fn register_program(&self, name: &str, path: impl Into<PathBuf>) {
        self.0.programs.register(name, path.into());
    }

    /// Makes a sandbox with `options` (starting its entrypoint, if it has one).
    pub async fn create(&self, options: SandboxOptions) -> Result<Sandbox, Error> {
        let settings = Settings::of(&options)?;
        let mut env = options.env.clone();
        env.extend(self.secret_env(&options.secrets)?);
        let scratch = self.scratch()?;
        let mut mounts = vec![(scratch.path().to_owned(), "/".to_owned())];
        mounts.extend(self.volume_dirs(&options.volumes).await?);
        let mut read_only = Vec::new();
        if !options.packages.is_empty() {
            let installed = self.0.programs.packages(&options.packages).await?;
            read_only.push((installed, PACKAGES.to_owned()));
        }
        let id = format!("sb-{:032x}", rand::random::<u128>());
        let sandbox = Sandbox(Arc::new(SandboxShared {
            id: id.clone(),
            app: options.app.clone(),
            created: SystemTime::now(),
            deadline: Instant::now() + settings.timeout,
            settings,
            env,
            mounts,
            read_only,
            budget: MemoryBudget::new(
                options
                    .memory
                    .map_or(DEFAULT_SANDBOX_MEMORY, |mib| mib << 20),
            ),
            scratch: Mutex::new(Some(scratch)),
            state: Mutex::new(SandboxState {
                processes: HashMap::new(),
                next_pid: 1,
                last_active: Instant::now(),
            }),
            exit: watch::Sender::new(None),
            sandboxes: Arc::downgrade(&self.0),
        }));
        {
            let mut table = self.table();
            if table.closed {
                return Err(Error::Cancelled("the host is stopping".into()));
            }
            if table.live.len() >= self.0.max_sandboxes {
                return Err(Error::Overloaded(format!(
                    "the host holds {} sandboxes, its most: terminate some first",
                    self.0.max_sandboxes
                )));
            }
            table.live.insert(id, sandbox.clone());
        }
        self.0.created.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(sandbox.clone().watch_lifetime());
        if !options.command.is_empty() {
            let entrypoint = sandbox.exec(options.command, ExecOptions::default()).await;
            match entrypoint {
                Ok(process) => tokio::spawn(sandbox.clone().end_with(process)),
                Err(error) => {
                    sandbox.end(ExitReason::Terminated).await;
                    return Err(error);
                }
            };
        }
        tracing::debug!(id = sandbox.id(), "sandbox created");
        Ok(sandbox)
    }

    /// The sandbox `id`, alive or ended (while its record is kept).
    pub fn get(&self, id: &str) -> Result<Sandbox, Error> {
        let table = self.table();
        table
            .live
            .get(id)
            .or_else(|| table.ended.get(id))
            .cloned()
            .ok_or_else(|| {
                let shown: String = id.chars().take(64).collect();
                Error::NotFound(format!("no sandbox `{shown}`"))
            })
    }

    /// The sandboxes alive now, and the ended ones kept, in order of creation.
    pub fn list(&self, include_ended: bool) -> Vec<SandboxInfo> {
        let sandboxes: Vec<Sandbox> = {
            let table = self.table();
            let ended = table.ended.values().filter(|_| include_ended);
            table.live.values().chain(ended).cloned().collect()
        };
        let mut infos: Vec<SandboxInfo> = sandboxes.iter().map(Sandbox::info).collect();
        infos.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        infos
    }

    /// Counters of the host's sandboxes.
    pub fn stats(&self) -> SandboxStats {
        let live: Vec<Sandbox> = self.table().live.values().cloned().collect();
        SandboxStats {
            created: self.0.created.load(Ordering::Relaxed),
            live: live.len(),
            processes: self.0.processes.load(Ordering::Relaxed),
            running: live.iter().map(Sandbox::running).sum(),
            cpu_throttles: self.0.throttles.load(Ordering::Relaxed),
        }
    }

    /// Ends every sandbox (the host stopping) and makes no more; returns when they ended.
    pub async fn shutdown(&self) {
        let live: Vec<Sandbox> = {
            let mut table = self.table();
            table.closed = true;
            table.live.values().cloned().collect()
        };
        for sandbox in live {
            sandbox.end(ExitReason::Terminated).await;
        }
    }

    fn secret_env(&self, secrets: &[SecretSource]) -> Result<Vec<(String, String)>, Error> {
        secret_env(Some(&self.0.storage), secrets)
    }

    async fn volume_dirs(&self, volumes: &[VolumeMount]) -> Result<Vec<(PathBuf, String)>, Error> {
        volumes
            .iter()
            .try_for_each(|mount| check_mount_path(&mount.path))?;
        volume_dirs(Some(&self.0.storage), volumes).await
    }

    /// A new scratch directory, with the directories programs expect (`/tmp`, and `/python`
    /// where the interpreter's library is mounted).
    fn scratch(&self) -> Result<tempfile::TempDir, Error> {
        let unavailable = |error: std::io::Error| {
            Error::Overloaded(format!("cannot make a sandbox's directory: {error}"))
        };
        std::fs::create_dir_all(&self.0.root).map_err(unavailable)?;
        let scratch = tempfile::Builder::new()
            .prefix("sb-")
            .tempdir_in(&self.0.root)
            .map_err(unavailable)?;
        for dir in ["tmp", "python", "packages"] {
            std::fs::create_dir(scratch.path().join(dir)).map_err(unavailable)?;
        }
        Ok(scratch)
    }

    /// Moves `id` from the live sandboxes to the ended ones kept.
    fn retire(&self, id: &str) {
        let mut table = self.table();
        let Some(sandbox) = table.live.remove(id) else {
            return;
        };
        table.ended.insert(id.to_owned(), sandbox);
        table.ended_order.push_back(id.to_owned());
        while table.ended_order.len() > ENDED_KEPT {
            if let Some(oldest) = table.ended_order.pop_front() {
                table.ended.remove(&oldest);
            }
        }
    }
}

/// A mount's path: absolute, not `/` (the scratch directory's) nor `/python`.
fn check_mount_path(path: &str) -> Result<(), Error> {
    let normal = Path::new(path).components().all(|component| {
        matches!(
            component,
            std::path::Component::RootDir | std::path::Component::Normal(_)
        )
    });
    let reserved = ["/python", PACKAGES]
        .iter()
        .any(|reserved| Path::new(path).starts_with(reserved));
    if !path.starts_with('/') || !normal || path == "/" || reserved {
        return Err(Error::BadArguments(format!(
            "a volume's mount path must be absolute, without `.` or `..`, and not `/` nor under \
             `/python` or `{PACKAGES}` (got `{path}`)"
        )));
    }
    Ok(())
}

/// Drops the oldest ended processes past [`ENDED_PROCESSES_KEPT`], with their unread output.
fn forget_ended(processes: &mut HashMap<u32, Process>) {
    let mut ended: Vec<u32> = processes
        .iter()
        .filter(|(_, process)| process.poll().is_some())
        .map(|(pid, _)| *pid)
        .collect();
    if ended.len() < ENDED_PROCESSES_KEPT {
        return;
    }
    ended.sort_unstable();
    for pid in &ended[..=ended.len() - ENDED_PROCESSES_KEPT] {
        if let Some(process) = processes.remove(pid) {
            process.abandon_output();
        }
    }
}

/// A sandbox's settings, checked.
#[derive(Debug)]
struct Settings {
    timeout: Duration,
    idle_timeout: Option<Duration>,
    workdir: String,
    millicores: Option<u32>,
    cpu_time: Option<Duration>,
}

impl Settings {
    fn of(options: &SandboxOptions) -> Result<Settings, Error> {
        let timeout = options.timeout.unwrap_or(DEFAULT_SANDBOX_TIMEOUT);
        if timeout.is_zero() || timeout > MAX_SANDBOX_TIMEOUT {
            return Err(Error::BadArguments(format!(
                "a sandbox's timeout is between 1 s and {} s",
                MAX_SANDBOX_TIMEOUT.as_secs()
            )));
        }
        if options.idle_timeout.is_some_and(|idle| idle.is_zero()) {
            return Err(Error::BadArguments(
                "an idle timeout must be positive".into(),
            ));
        }
        // Past the longest timeout they mean nothing, and a deadline that far overflows.
        let durations = [
            ("idle_timeout", options.idle_timeout),
            ("cpu_time", options.cpu_time),
        ];
        if let Some((what, _)) = durations
            .iter()
            .find(|(_, limit)| limit.is_some_and(|limit| limit > MAX_SANDBOX_TIMEOUT))
        {
            return Err(Error::BadArguments(format!(
                "a sandbox's `{what}` is at most {} s",
                MAX_SANDBOX_TIMEOUT.as_secs()
            )));
        }
        let millicores = match options.cpu {
            None => None,
            Some(cores) if cores > 0.0 && cores <= 64.0 => Some((cores * 1000.0).ceil() as u32),
            Some(cores) => {
                return Err(Error::BadArguments(format!(
                    "`cpu` is cores, above 0 and at most 64 (got {cores})"
                )));
            }
        };
        if options.memory == Some(0) || options.memory.is_some_and(|mib| mib > 4096) {
            return Err(Error::BadArguments(
                "`memory` is MiB, above 0 and at most 4096 (wasm32's address space)".into(),
            ));
        }
        Ok(Settings {
            timeout,
            idle_timeout: options.idle_timeout,
            workdir: workdir(options.workdir.as_deref())?,
            millicores,
            cpu_time: options.cpu_time,
        })
    }
}

/// A working directory: absolute; `/` when none is given.
fn workdir(workdir: Option<&str>) -> Result<String, Error> {
    match workdir {
        None => Ok("/".to_owned()),
        Some(dir) if dir.starts_with('/') && !dir.contains('\0') => Ok(dir.to_owned()),
        Some(dir) => Err(Error::BadArguments(format!(
            "a working directory must be an absolute path (got `{dir}`)"
        ))),
    }
}

/// One sandbox. Cheap to clone.
#[derive(Clone)]
pub struct Sandbox(Arc<SandboxShared>);

struct SandboxShared {
    id: String,
    app: Option<String>,
    created: SystemTime,
    deadline: Instant,
    settings: Settings,
    env: Vec<(String, String)>,
    /// Host directory, guest path: the scratch directory at `/`, then the volumes.
    mounts: Vec<(PathBuf, String)>,
    /// Host directory, guest path, mounted read-only: its packages.
    read_only: Vec<(PathBuf, String)>,
    /// Its memory limit, which its processes' memories share.
    budget: Arc<MemoryBudget>,
    /// Removed when it ends.
    scratch: Mutex<Option<tempfile::TempDir>>,
    state: Mutex<SandboxState>,
    exit: watch::Sender<Option<SandboxExit>>,
    sandboxes: Weak<Shared>,
}

struct SandboxState {
    processes: HashMap<u32, Process>,
    next_pid: u32,
    /// When something was last asked of it or a process of it ended.
    last_active: Instant,
}

impl Sandbox {
    fn state(&self) -> MutexGuard<'_, SandboxState> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Its id (Modal's `object_id`).
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The app it belongs to, if any.
    pub fn app(&self) -> Option<&str> {
        self.0.app.as_deref()
    }

    /// Counts as activity for its idle timeout.
    pub fn touch(&self) {
        self.state().last_active = Instant::now();
    }

    fn running(&self) -> usize {
        let state = self.state();
        state
            .processes
            .values()
            .filter(|process| process.poll().is_none())
            .count()
    }

    /// What a listing shows of it.
    pub fn info(&self) -> SandboxInfo {
        let state = self.state();
        SandboxInfo {
            id: self.0.id.clone(),
            app: self.0.app.clone(),
            created: self
                .0
                .created
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
            running: state
                .processes
                .values()
                .filter(|p| p.poll().is_none())
                .count(),
            started: state.next_pid - 1,
            exit: self.poll(),
        }
    }

    /// Starts `args` (a program and its arguments) as a process of the sandbox.
    pub async fn exec(&self, args: Vec<String>, options: ExecOptions) -> Result<Process, Error> {
        let shared = self
            .0
            .sandboxes
            .upgrade()
            .ok_or_else(|| Error::Cancelled("the host stopped".into()))?;
        let Some(program) = args.first() else {
            return Err(Error::BadArguments("exec needs a program to run".into()));
        };
        if self.poll().is_some() {
            return Err(Error::NotFound(format!(
                "sandbox `{}` has ended",
                self.0.id
            )));
        }
        self.touch();
        let workdir = match options.workdir.as_deref() {
            Some(dir) => workdir(Some(dir))?,
            None => self.0.settings.workdir.clone(),
        };
        let program = shared
            .programs
            .find(program, &workdir, &self.0.mounts)
            .await?;
        let mut env = self.0.env.clone();
        env.extend(options.env);
        env.extend(Sandboxes(Arc::clone(&shared)).secret_env(&options.secrets)?);
        let remaining = self.0.deadline.saturating_duration_since(Instant::now());
        let setup = Setup {
            program,
            args,
            env,
            workdir,
            mounts: self.0.mounts.clone(),
            read_only: self.0.read_only.clone(),
            timeout: options
                .timeout
                .map_or(remaining, |timeout| timeout.min(remaining)),
            limits: ProcessLimits::new(Arc::clone(&self.0.budget), Arc::clone(&shared.host_budget)),
            millicores: self.0.settings.millicores,
            cpu_time: self.0.settings.cpu_time,
            throttles: Arc::clone(&shared.throttles),
        };
        let process = {
            let mut state = self.state();
            let running = state
                .processes
                .values()
                .filter(|p| p.poll().is_none())
                .count();
            if running >= MAX_PROCESSES {
                return Err(Error::Overloaded(format!(
                    "sandbox `{}` runs {MAX_PROCESSES} processes, its most",
                    self.0.id
                )));
            }
            // Checked again under the lock that `end` takes: no process starts after it.
            if self.poll().is_some() {
                return Err(Error::NotFound(format!(
                    "sandbox `{}` has ended",
                    self.0.id
                )));
            }
            forget_ended(&mut state.processes);
            let pid = state.next_pid;
            state.next_pid += 1;
            let process = Process::start(pid, setup);
            state.processes.insert(pid, process.clone());
            process
        };
        shared.processes.fetch_add(1, Ordering::Relaxed);
        tokio::spawn({
            let sandbox = self.clone();
            let process = process.clone();
            async move {
                process.wait().await;
                sandbox.touch();
            }
        });
        Ok(process)
    }

    /// Its process `pid`.
    pub fn process(&self, pid: u32) -> Result<Process, Error> {
        self.state()
            .processes
            .get(&pid)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("sandbox `{}` has no process {pid}", self.0.id)))
    }

    /// How it ended, waiting until it does.
    pub async fn wait(&self) -> SandboxExit {
        ended(&self.0.exit).await
    }

    /// How it ended, if it did.
    pub fn poll(&self) -> Option<SandboxExit> {
        self.0.exit.borrow().clone()
    }

    /// Ends it (Modal's `terminate`): its processes are killed, its files removed. Nothing
    /// when it ended already.
    pub async fn terminate(&self) {
        self.end(ExitReason::Terminated).await;
    }

    /// Ends it with its entrypoint's exit when that ends.
    async fn end_with(self, entrypoint: Process) {
        let exit = entrypoint.wait().await;
        self.finish(SandboxExit {
            code: exit.code,
            reason: exit.reason,
        })
        .await;
    }

    /// Ends it for `reason`.
    async fn end(&self, reason: ExitReason) {
        self.finish(SandboxExit {
            code: reason.code(),
            reason,
        })
        .await;
    }

    /// Marks it ended with `exit` unless it ended already, and tells its processes to stop:
    /// them, and whether what they wrote stays readable. No process starts after it.
    fn stop(&self, exit: &SandboxExit) -> Option<(Vec<Process>, bool)> {
        let processes: Vec<Process> = {
            let state = self.state();
            if !end_once(&self.0.exit, exit.clone()) {
                return None;
            }
            state.processes.values().cloned().collect()
        };
        // Its entrypoint ended: the others are terminated, and what they all wrote stays
        // readable a while. Otherwise what nobody read is dropped with them.
        let (reason, keep_output) = match exit.reason {
            ExitReason::Exited => (ExitReason::Terminated, true),
            other => (other, false),
        };
        for process in &processes {
            process.kill(reason);
            if !keep_output {
                process.abandon_output();
            }
        }
        Some((processes, keep_output))
    }

    /// Ends it with `exit` unless it ended already: kills its processes, waits for them,
    /// removes its files and moves it to the ended sandboxes.
    async fn finish(&self, exit: SandboxExit) {
        let Some((processes, keep_output)) = self.stop(&exit) else {
            return;
        };
        for process in &processes {
            process.wait().await;
        }
        if keep_output {
            tokio::spawn(async move {
                tokio::time::sleep(OUTPUT_KEPT).await;
                processes.iter().for_each(Process::abandon_output);
            });
        }
        let scratch = self
            .0
            .scratch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(scratch) = scratch {
            let _ = tokio::task::spawn_blocking(move || drop(scratch)).await;
        }
        if let Some(shared) = self.0.sandboxes.upgrade() {
            Sandboxes(shared).retire(&self.0.id);
        }
        tracing::debug!(id = %self.0.id, code = exit.code, reason = ?exit.reason, "sandbox ended");
    }

    /// Ends it past its timeout, or once idle past its idle timeout.
    async fn watch_lifetime(self) {
        let mut exit = self.0.exit.subscribe();
        loop {
            let now = Instant::now();
            if now >= self.0.deadline {
                return self.end(ExitReason::Timeout).await;
            }
            let mut wake = self.0.deadline;
            if let Some(idle) = self.0.settings.idle_timeout {
                let idle_since = (self.running() == 0).then(|| self.state().last_active);
                match idle_since {
                    Some(since) if now >= since + idle => return self.end(ExitReason::Idle).await,
                    Some(since) => wake = wake.min(since + idle),
                    // Running: looked at again after an idle timeout at the latest.
                    None => wake = wake.min(now + idle),
                }
            }
            tokio::select! {
                () = tokio::time::sleep_until(wake.into()) => {}
                _ = exit.changed() => return,
            }
        }
    }
}
