//! CPU budgets: a container whose function declares `cpu = CORES` is paused when it used more
//! CPU than that, like a cgroup's CPU quota.
//!
//! The budget is a token bucket of CPU time: it refills at `CORES` seconds per second, holds at
//! most [`BURST`] (so an idle container may run flat out for that long), and every epoch tick
//! the guest was computing through ([`EPOCH_TICK`]) takes one tick out. When the bucket is
//! empty the guest is paused (its store yields to the executor for that long) until it refills.
//!
//! What it measures, honestly: guest (wasm) time, sampled at the epoch tick. Time in host calls
//! and in the host's own work for the container is not charged; a guest that computes in bursts
//! shorter than a tick is charged in proportion to how often a tick finds it running.

use crate::runtime::engine::EPOCH_TICK;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The most CPU time a container may bank while it waits.
const BURST: Duration = Duration::from_millis(100);

/// One container's CPU budget.
pub(crate) struct CpuBudget {
    /// Cores: seconds of CPU per second.
    rate: f64,
    /// CPU seconds in the bucket; below zero while the guest is paused.
    tokens: f64,
    refilled: Instant,
    /// The pool's count of pauses.
    throttles: Arc<AtomicUsize>,
}

impl CpuBudget {
    /// A budget of `millicores` thousandths of a core, its pauses counted in `throttles`.
    pub(crate) fn new(millicores: u32, throttles: Arc<AtomicUsize>) -> Self {
        CpuBudget {
            rate: f64::from(millicores) / 1000.0,
            tokens: BURST.as_secs_f64(),
            refilled: Instant::now(),
            throttles,
        }
    }

    /// Charges one epoch tick of guest computation; returns how long the guest must pause to
    /// be back within its budget, if it must.
    pub(crate) fn charge_tick(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let refill = now.duration_since(self.refilled).as_secs_f64() * self.rate;
        self.refilled = now;
        self.tokens = (self.tokens + refill).min(BURST.as_secs_f64()) - EPOCH_TICK.as_secs_f64();
        if self.tokens >= 0.0 {
            return None;
        }
        self.throttles.fetch_add(1, Ordering::Relaxed);
        Some(Duration::from_secs_f64(-self.tokens / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_container_pauses_in_proportion_to_its_budget() {
        let throttles = Arc::new(AtomicUsize::new(0));
        // A quarter of a core: the burst lasts BURST / EPOCH_TICK ticks, then each tick costs
        // four ticks of pause (the tick's own time back, at a quarter of a core).
        let mut budget = CpuBudget::new(250, Arc::clone(&throttles));
        budget.refilled = Instant::now() + Duration::from_secs(3600);
        let burst = (BURST.as_secs_f64() / EPOCH_TICK.as_secs_f64()).round() as usize;
        let pauses: Vec<Option<Duration>> = (0..=burst).map(|_| budget.charge_tick()).collect();
        assert!(pauses[..burst].iter().all(Option::is_none), "{pauses:?}");
        let pause = pauses[burst].expect("the first tick past the burst pauses");
        let expected = EPOCH_TICK * 4;
        let slack = Duration::from_micros(100);
        assert!(
            (expected - slack..=expected + slack).contains(&pause),
            "{pause:?}"
        );
        assert_eq!(throttles.load(Ordering::Relaxed), 1);
    }
}
