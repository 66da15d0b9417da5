//! The host-wide memory budget: how much linear memory all the guests of a host may hold at
//! once, and the limiter that charges every container's growth to it.
//!
//! Host memory follows guest memory one to one (a guest's pages are the host's), so without a
//! budget one `map` of 50 inputs of a function at the default 512 MiB would ask for ~25 GiB and
//! bring a 24 GiB machine down, an OOM kill taking every other app with it. `ulimit -v` cannot
//! serve instead: the pooling allocator reserves address space far beyond what it touches.
//!
//! Every container's limiter reserves each growth of a memory (its initial size included) in
//! the budget before it happens and gives its share back when the container is dropped.
//! Growth past the budget fails that guest's growth with a trap naming the budget; a container
//! that cannot get its initial memory fails to start with `overloaded` (back-pressure: its
//! inputs wait for containers that exist, or fail when there are none). The budget covers
//! guests' linear memories only: tables, the host's own structures and compiled code are not
//! counted (an operator who needs a hard bound on the process adds a cgroup).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wasmtime::ResourceLimiter;

/// The linear memory a host's guests hold, against its budget.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub(crate) fn new(limit: u64) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            used: AtomicUsize::new(0),
        })
    }

    /// Takes `bytes` from the budget, if that many are left.
    pub(crate) fn reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `bytes` taken by [`MemoryBudget::reserve`].
    pub(crate) fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Its limit, in bytes.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// A growth the host's memory budget could not cover.
#[derive(Debug, thiserror::Error)]
#[error(
    "growing memory to {desired} bytes would take the host's guest memory past its budget of \
     {} MiB ({} MiB in use)",
    limit >> 20,
    used >> 20
)]
pub(crate) struct OverBudget {
    desired: usize,
    limit: usize,
    used: usize,
}

/// One container's limits: its own memory and table maxima, and its share of the host's
/// budget, given back when the container is dropped.
pub(crate) struct Limits {
    /// The most linear memory this container may grow to, over all its memories.
    memory: usize,
    /// The most elements one table may grow to.
    table_elements: usize,
    budget: Arc<MemoryBudget>,
    /// What this container holds in the budget.
    charged: usize,
}

impl Limits {
    pub(crate) fn new(memory: usize, table_elements: usize, budget: Arc<MemoryBudget>) -> Self {
        Limits {
            memory,
            table_elements,
            budget,
            charged: 0,
        }
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        if self.charged.saturating_add(growth) > self.memory {
            wasmtime::bail!("forcing trap when growing memory to {desired} bytes");
        }
        if !self.budget.reserve(growth) {
            return Err(OverBudget {
                desired,
                limit: self.budget.limit,
                used: self.budget.used(),
            }
            .into());
        }
        self.charged += growth;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // Reserved in `memory_growing`, which said yes: the growth did not happen after all.
        // wasmtime does not say by how much; the container keeps its charge until it is
        // dropped (a rare failure of the OS to commit pages).
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            wasmtime::bail!("forcing trap when growing table to {desired} elements");
        }
        Ok(true)
    }
}

impl Drop for Limits {
    fn drop(&mut self) {
        self.budget.release(self.charged);
    }
}

/// The default budget: three quarters of the memory this process may use — the machine's, or
/// its cgroup's limit when that is lower.
pub(crate) fn default_budget() -> u64 {
    let machine = meminfo_total().unwrap_or(8 << 30);
    let available = cgroup_limit().map_or(machine, |limit| limit.min(machine));
    available / 4 * 3
}

/// `MemTotal` of /proc/meminfo, in bytes.
fn meminfo_total() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The memory limit of this process's cgroup (v2, then v1), when it has one.
fn cgroup_limit() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|path| std::fs::read_to_string(path).ok())
    .find_map(|text| text.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_charged_to_the_budget_and_given_back() {
        let budget = MemoryBudget::new(10 << 20);
        let mut first = Limits::new(8 << 20, 100, Arc::clone(&budget));
        let mut second = Limits::new(8 << 20, 100, Arc::clone(&budget));
        assert!(first.memory_growing(0, 6 << 20, None).unwrap());
        let over = second.memory_growing(0, 6 << 20, None).unwrap_err();
        assert!(over.to_string().contains("budget of 10 MiB"), "{over}");
        // Past its own maximum: the container's trap, not the budget's.
        let own = first.memory_growing(6 << 20, 9 << 20, None).unwrap_err();
        assert!(own.to_string().contains("forcing trap"), "{own}");
        drop(first);
        assert_eq!(budget.used(), 0);
        assert!(second.memory_growing(0, 6 << 20, None).unwrap());
        assert_eq!(budget.used(), 6 << 20);
    }

    #[test]
    fn the_default_budget_is_below_the_machines_memory() {
        let budget = default_budget();
        assert!(budget > 0);
        assert!(budget < meminfo_total().unwrap_or(u64::MAX));
    }
}
