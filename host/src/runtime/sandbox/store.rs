//! What a process's store holds: its WASI context, and the limits its epoch callback and
//! resource limiter enforce — memory charged to its sandbox's limit and the host's budget,
//! CPU time and cores.
//!
//! Invariant: every byte of linear memory a process grows to is charged to both budgets before
//! it is granted, and given back when the store is dropped; a growth past either fails the
//! process with `memory` as its reason, so one sandbox cannot take the host's memory.

use crate::runtime::cpu::CpuBudget;
use crate::runtime::memory::MemoryBudget;
use crate::runtime::sandbox::exit::ExitReason;
use std::sync::Arc;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// What a process's store holds.
pub(crate) struct ProcessState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: ProcessLimits,
    pub(crate) cpu: Option<CpuBudget>,
    /// Epoch ticks the guest computed through.
    pub(crate) ticks: u64,
    /// The most ticks it may compute through, if its CPU time is limited.
    pub(crate) max_ticks: Option<u64>,
    /// Set when it went past a limit the epoch callback checks.
    pub(crate) over: Option<ExitReason>,
}

impl WasiView for ProcessState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// How far a process may grow its memories and tables: its sandbox's memory limit, shared by
/// the sandbox's processes, and the host's budget; both given back when the process ends.
pub(crate) struct ProcessLimits {
    sandbox: Arc<MemoryBudget>,
    host: Arc<MemoryBudget>,
    charged: usize,
    /// The most it held.
    pub(crate) peak: usize,
    /// Set when a growth went past the sandbox's limit or the host's budget.
    pub(crate) over: Option<ExitReason>,
}

/// How many elements a process's table may grow to.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl ProcessLimits {
    pub(crate) fn new(sandbox: Arc<MemoryBudget>, host: Arc<MemoryBudget>) -> Self {
        ProcessLimits {
            sandbox,
            host,
            charged: 0,
            peak: 0,
            over: None,
        }
    }
}

impl ResourceLimiter for ProcessLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        if !self.sandbox.reserve(growth) {
            self.over = Some(ExitReason::Memory);
            wasmtime::bail!(
                "growing memory to {desired} bytes would take the sandbox past its memory \
                 limit of {} MiB",
                self.sandbox.limit() >> 20
            );
        }
        if !self.host.reserve(growth) {
            self.sandbox.release(growth);
            self.over = Some(ExitReason::Memory);
            wasmtime::bail!(
                "growing memory to {desired} bytes would take the host's guest memory past its \
                 budget of {} MiB",
                self.host.limit() >> 20
            );
        }
        self.charged += growth;
        self.peak = self.peak.max(self.charged);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            wasmtime::bail!("forcing trap when growing table to {desired} elements");
        }
        Ok(true)
    }
}

impl Drop for ProcessLimits {
    fn drop(&mut self) {
        self.sandbox.release(self.charged);
        self.host.release(self.charged);
    }
}
