//! How a process or a sandbox ended: its exit code and why, as Modal reports them.

use serde::Serialize;
use tokio::sync::watch;

/// Why a process (or a sandbox) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitReason {
    /// It returned or exited on its own; the code is its status.
    Exited,
    /// Past its timeout: code 124, as `timeout(1)` gives.
    Timeout,
    /// Its sandbox was idle past its idle timeout (a sandbox's reason only): code 0.
    Idle,
    /// Over its memory limit: code 137, as a process the kernel's OOM killer ended.
    Memory,
    /// Over its CPU time limit: code 152 (128 + SIGXCPU), as `ulimit -t` ends one.
    CpuTime,
    /// It trapped (a WebAssembly fault: `unreachable`, a stack overflow): code 134, as an
    /// aborted process.
    Trap,
    /// Terminated (its sandbox terminated, or the host stopping): code 137, as Modal gives.
    Terminated,
}

impl ExitReason {
    /// The exit code a process stopped for this reason reports.
    pub fn code(self) -> i32 {
        match self {
            ExitReason::Exited | ExitReason::Idle => 0,
            ExitReason::Timeout => 124,
            ExitReason::Memory | ExitReason::Terminated => 137,
            ExitReason::CpuTime => 152,
            ExitReason::Trap => 134,
        }
    }
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessExit {
    /// Its exit code: its status when it exited, else the reason's code.
    pub code: i32,
    /// Why it ended.
    pub reason: ExitReason,
    /// What went wrong, when it did not exit on its own (the trap's message, the limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// CPU time its guest code used, in milliseconds, sampled at the epoch tick.
    pub cpu_ms: u64,
    /// The most linear memory it held, in bytes.
    pub memory_peak: u64,
}

/// Sets `cell` to `value` unless it holds one already; whether it was set (the first end wins).
pub(crate) fn end_once<T>(cell: &watch::Sender<Option<T>>, value: T) -> bool {
    let mut value = Some(value);
    cell.send_if_modified(|held| {
        let first = held.is_none();
        if first {
            *held = value.take();
        }
        first
    })
}

/// What `cell` holds once it holds something, waiting until then.
pub(crate) async fn ended<T: Clone>(cell: &watch::Sender<Option<T>>) -> T {
    let mut held = cell.subscribe();
    loop {
        if let Some(value) = held.borrow_and_update().clone() {
            return value;
        }
        // The sender is `cell`, borrowed for the whole wait: it is never dropped meanwhile.
        let _ = held.changed().await;
    }
}
