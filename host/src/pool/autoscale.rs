//! The autoscaler's arithmetic, as pure code: how many instances a pool wants, which instance
//! takes an input, what a starting instance takes from the queue, who may retire.
//!
//! [`Placement`] is the whole state the rules read and write — the instances with their loads,
//! the instances starting, the queue — generic over what is queued and over the handle an
//! instance is reached by, so that it is built and tested without wasm, channels or a runtime
//! (the property test below drives it with random events). The pool holds one behind its lock
//! and carries out what it decides: it starts the instances [`Placement::next_start`] reserves
//! and sends inputs where [`Placement::place`] and [`Placement::register`] put them.
//!
//! The rules, after Modal's autoscaler:
//! - a pool wants `ceil(demand / target) + buffer` instances while it has demand (the inputs
//!   running and queued), never more than its maximum, and keeps at least its minimum;
//! - an input goes to the first instance below its target; when no more instances may start,
//!   to the first below its capacity; else to the queue, which starting instances take from;
//! - an input that comes back to its own function from further down its chain of waiting
//!   callers (a spawn's caller does not wait), finding the pool at its limit, gets an
//!   overflow instance of its own, first in line (its callers may hold every instance);
//! - an idle instance retires when the pool keeps more than it wants without it.

use std::collections::VecDeque;

/// Counters of a pool, for tests, benchmarks and operators (a server sends them as JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PoolStats {
    /// Instances serving now.
    pub containers: usize,
    /// Instances ever started.
    pub containers_started: usize,
    /// The most instances serving at once.
    pub peak_containers: usize,
    /// Inputs running now.
    pub in_flight: usize,
    /// The most inputs running at once, over all instances.
    pub peak_in_flight: usize,
    /// The most inputs running at once on one instance.
    pub peak_in_flight_per_container: usize,
    /// Inputs waiting for an instance now.
    pub queued: usize,
    /// Instances started beyond the pool's limit for calls that came back to it from their
    /// own callers.
    pub overflow_started: usize,
    /// Inputs whose caller cancelled them (or went away) before they finished.
    pub cancelled: usize,
    /// How many times a container was paused for using more than its CPU budget.
    pub cpu_throttles: usize,
    /// Batches a batched function ran (each one input of the pool's other counters).
    #[serde(default)]
    pub batches: usize,
    /// Inputs those batches held.
    #[serde(default)]
    pub batched_inputs: usize,
}

/// The numbers that shape a pool, in instances (a blocking function's `max_inputs` "threads"
/// are instances of their own, so its counts are multiplied out before they get here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Inputs one instance runs at once.
    pub(crate) capacity: usize,
    /// Inputs the autoscaler aims to give one instance.
    pub(crate) target: usize,
    /// Instances the pool may have at once (overflow instances aside).
    pub(crate) max_instances: usize,
    /// Idle instances kept beyond the busy ones while there is demand.
    pub(crate) buffer: usize,
    /// Instances kept even when idle.
    pub(crate) min_instances: usize,
}

impl Shape {
    /// How many instances `demand` inputs (running and queued) want.
    pub(crate) fn wanted(&self, demand: usize) -> usize {
        let wanted = match demand {
            0 => 0,
            demand => demand.div_ceil(self.target) + self.buffer,
        };
        wanted.min(self.max_instances)
    }

    /// How many instances the pool keeps while `in_flight` inputs run.
    pub(crate) fn kept(&self, in_flight: usize) -> usize {
        self.wanted(in_flight).max(self.min_instances)
    }
}

/// An instance, as placement sees it.
struct Instance<S> {
    id: u64,
    /// Where its inputs are sent.
    inbox: S,
    /// Inputs it runs (or has been sent).
    load: usize,
}

/// The state of a pool's instances and queue; see the module docs for the rules.
pub(crate) struct Placement<T, S> {
    shape: Shape,
    /// Set when the pool closed: nothing is placed and nothing starts any more.
    closed: bool,
    instances: Vec<Instance<S>>,
    /// Instances reserved and not yet registered (or failed).
    starting: usize,
    /// Inputs running (or sent), over all instances.
    in_flight: usize,
    queue: VecDeque<T>,
    next_id: u64,
    /// Peaks and totals, for [`PoolStats`].
    pub(crate) stats: PoolStats,
}

impl<T, S: Clone> Placement<T, S> {
    /// An empty pool of `shape`.
    pub(crate) fn new(shape: Shape) -> Self {
        Placement {
            shape,
            closed: false,
            instances: Vec::new(),
            starting: 0,
            in_flight: 0,
            queue: VecDeque::new(),
            next_id: 0,
            stats: PoolStats::default(),
        }
    }

    /// The counters as they stand.
    pub(crate) fn stats(&self) -> PoolStats {
        PoolStats {
            containers: self.instances.len(),
            in_flight: self.in_flight,
            queued: self.queue.len(),
            ..self.stats
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn instances(&self) -> usize {
        self.instances.len()
    }

    /// Whether an input arriving now would start at once rather than queue: nothing is
    /// queued, and an instance has room or one more may start.
    pub(crate) fn has_room(&self) -> bool {
        self.queue.is_empty()
            && (!self.at_limit()
                || self
                    .instances
                    .iter()
                    .any(|instance| instance.load < self.shape.capacity))
    }

    /// Whether an input arriving now would wait for a busy instance: no more may start, every
    /// instance runs all it may, and the instances starting have their places taken by the
    /// queue.
    pub(crate) fn saturated(&self) -> bool {
        self.at_limit()
            && self
                .instances
                .iter()
                .all(|instance| instance.load >= self.shape.capacity)
            && self.queue.len() >= self.starting * self.shape.capacity
    }

    /// Whether no more instances may start.
    pub(crate) fn at_limit(&self) -> bool {
        self.instances.len() + self.starting >= self.shape.max_instances
    }

    /// Reserves the next instance to start, if the pool wants one more for its demand plus
    /// `arriving` inputs, or to reach its minimum: its id (the caller starts it).
    pub(crate) fn next_start(&mut self, arriving: usize) -> Option<u64> {
        let demand = self.in_flight + self.queue.len() + arriving;
        let wanted = self.shape.wanted(demand).max(self.shape.min_instances);
        (!self.closed && self.instances.len() + self.starting < wanted).then(|| self.reserve())
    }

    /// Reserves instances up to `count` in all (within the maximum), as a warm-up asks.
    pub(crate) fn reserve_up_to(&mut self, count: usize) -> Vec<u64> {
        let present = self.instances.len() + self.starting;
        let wanted = count.min(self.shape.max_instances).saturating_sub(present);
        (0..wanted).map(|_| self.reserve()).collect()
    }

    /// Counts an instance as starting and gives it its id.
    fn reserve(&mut self) -> u64 {
        self.starting += 1;
        self.next_id += 1;
        self.next_id - 1
    }

    /// Takes a place for an input: on the first instance below its target, or, when no more
    /// instances may start, below its capacity. Returns the instance's id and inbox, or `None`
    /// when the input must queue.
    pub(crate) fn place(&mut self) -> Option<(u64, S)> {
        let limit = match self.at_limit() {
            true => self.shape.capacity,
            false => self.shape.target,
        };
        // Below target first, even at the limit: spread before crowding.
        let index = self
            .instances
            .iter()
            .position(|instance| instance.load < self.shape.target)
            .or_else(|| {
                self.instances
                    .iter()
                    .position(|instance| instance.load < limit)
            })?;
        Some(self.take(index))
    }

    /// Gives instance `index` one more input.
    fn take(&mut self, index: usize) -> (u64, S) {
        let instance = &mut self.instances[index];
        instance.load += 1;
        let taken = (instance.id, instance.inbox.clone());
        let load = instance.load;
        self.in_flight += 1;
        self.count_peaks(load);
        taken
    }

    /// Queues an input no instance could take. When `reentrant` (it comes back to this function
    /// from further down its own chain) and the pool is at its limit, it goes first in line and
    /// an overflow instance is reserved for it: its id is returned (the caller starts it).
    pub(crate) fn enqueue(&mut self, input: T, reentrant: bool) -> Option<u64> {
        if reentrant && self.at_limit() {
            self.queue.push_front(input);
            self.stats.overflow_started += 1;
            Some(self.reserve())
        } else {
            self.queue.push_back(input);
            None
        }
    }

    /// Gives back a place on instance `id`, reserved for an input it did not take.
    pub(crate) fn release(&mut self, id: u64) {
        // Gone already: its retirement took its count.
        if let Some(instance) = self.instances.iter_mut().find(|instance| instance.id == id) {
            instance.load -= 1;
            self.in_flight -= 1;
        }
    }

    /// Started instance `id` joins the pool, reached through `inbox`, and takes inputs from the
    /// queue: up to its target, leaving the rest to the instances starting beside it; up to
    /// its capacity when those cannot take the rest and the pool may not grow. Returns the
    /// inputs to send it, or `None` when the pool closed meanwhile.
    pub(crate) fn register(&mut self, id: u64, inbox: S) -> Option<Vec<T>> {
        self.starting -= 1;
        if self.closed {
            return None;
        }
        self.stats.containers_started += 1;
        let at_limit = self.instances.len() + 1 + self.starting >= self.shape.max_instances;
        let crowded = self.queue.len() > self.shape.target * (1 + self.starting);
        let intake = match at_limit && crowded {
            true => self.shape.capacity,
            false => self.shape.target,
        };
        let taken: Vec<T> = (0..intake).map_while(|_| self.queue.pop_front()).collect();
        self.in_flight += taken.len();
        self.instances.push(Instance {
            id,
            inbox,
            load: taken.len(),
        });
        self.count_peaks(taken.len());
        self.stats.peak_containers = self.stats.peak_containers.max(self.instances.len());
        Some(taken)
    }

    /// An input of instance `id` finished: its place goes to the head of the queue, returned
    /// with where to send it; else the place is free.
    pub(crate) fn finished(&mut self, id: u64) -> Option<(T, S)> {
        let instance = self
            .instances
            .iter_mut()
            .find(|instance| instance.id == id)?;
        match self.queue.pop_front() {
            Some(next) => Some((next, instance.inbox.clone())),
            None => {
                instance.load -= 1;
                self.in_flight -= 1;
                None
            }
        }
    }

    /// Instance `id` leaves the pool (it trapped, it stopped, the pool is shutting down);
    /// nothing is placed on it any more.
    pub(crate) fn retire(&mut self, id: u64) {
        if let Some(index) = self.instances.iter().position(|instance| instance.id == id) {
            let instance = self.instances.swap_remove(index);
            self.in_flight -= instance.load;
        }
    }

    /// Whether idle instance `id` may retire: it runs nothing and the pool keeps more than it
    /// wants without it. If so it leaves the pool at once.
    pub(crate) fn retire_if_idle(&mut self, id: u64) -> bool {
        let kept = self.shape.kept(self.in_flight);
        let idle = self
            .instances
            .iter()
            .position(|instance| instance.id == id && instance.load == 0);
        match idle {
            Some(index) if self.instances.len() > kept => {
                self.instances.swap_remove(index);
                true
            }
            _ => false,
        }
    }

    /// An instance could not start. When no other instance is serving or starting, nothing
    /// will ever take the queue: it is returned, to be failed.
    pub(crate) fn start_failed(&mut self) -> Vec<T> {
        self.starting -= 1;
        if self.instances.is_empty() && self.starting == 0 {
            self.queue.drain(..).collect()
        } else {
            Vec::new()
        }
    }

    /// Drops the queued inputs whose callers went away (`gone` picks them), counting them as
    /// cancelled: they would only be dropped when an instance took them.
    pub(crate) fn drop_cancelled(&mut self, gone: impl Fn(&T) -> bool) {
        let before = self.queue.len();
        self.queue.retain(|input| !gone(input));
        self.stats.cancelled += before - self.queue.len();
    }

    /// Takes the queued inputs `which` picks out of the queue, in order, to be failed.
    pub(crate) fn take_queued(&mut self, which: impl Fn(&T) -> bool) -> Vec<T> {
        let (taken, kept): (VecDeque<T>, VecDeque<T>) = self.queue.drain(..).partition(which);
        self.queue = kept;
        taken.into()
    }

    /// The pool closes: every instance leaves, and the queue is returned, to be failed.
    pub(crate) fn close(&mut self) -> Vec<T> {
        self.closed = true;
        self.instances.clear();
        self.in_flight = 0;
        self.queue.drain(..).collect()
    }

    /// An instance took inputs and now runs `load`: update the peaks.
    fn count_peaks(&mut self, load: usize) {
        self.stats.peak_in_flight = self.stats.peak_in_flight.max(self.in_flight);
        self.stats.peak_in_flight_per_container = self.stats.peak_in_flight_per_container.max(load);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shape(capacity: usize, target: usize, max: usize, buffer: usize, min: usize) -> Shape {
        Shape {
            capacity,
            target,
            max_instances: max,
            buffer,
            min_instances: min,
        }
    }

    #[test]
    fn demand_wants_ceil_of_target_plus_buffer_within_the_maximum() {
        let shape = shape(4, 2, 5, 1, 0);
        assert_eq!(
            [0, 1, 2, 3, 4, 7, 100].map(|demand| shape.wanted(demand)),
            [0, 2, 2, 3, 3, 5, 5]
        );
        let kept = Shape {
            min_instances: 2,
            ..shape
        };
        assert_eq!([0, 1, 5].map(|in_flight| kept.kept(in_flight)), [2, 2, 4]);
    }

    #[test]
    fn inputs_spread_below_target_before_crowding_at_the_limit() {
        let mut pool: Placement<u32, ()> = Placement::new(shape(3, 1, 2, 0, 0));
        // Two inputs want two instances.
        assert_eq!(pool.next_start(2), Some(0));
        assert_eq!(pool.next_start(2), Some(1));
        assert_eq!(pool.next_start(2), None);
        assert_eq!(pool.register(0, ()), Some(vec![]));
        // One started, one starting: the pool is at its limit but the second is coming, and
        // the first is below target.
        assert_eq!(pool.place().map(|(id, ())| id), Some(0));
        // At the limit: the first takes up to its capacity.
        assert_eq!(pool.place().map(|(id, ())| id), Some(0));
        assert_eq!(pool.register(1, ()), Some(vec![]));
        // Below target first.
        assert_eq!(pool.place().map(|(id, ())| id), Some(1));
        assert_eq!(pool.place().map(|(id, ())| id), Some(0));
        assert_eq!(pool.place(), Some((1, ())));
        assert_eq!(pool.place(), Some((1, ())));
        assert_eq!(pool.place(), None);
        assert_eq!(pool.stats().peak_in_flight_per_container, 3);
    }

    #[test]
    fn a_pool_is_saturated_only_when_its_inputs_would_wait_for_busy_instances() {
        let mut pool: Placement<u32, ()> = Placement::new(shape(1, 1, 1, 0, 0));
        assert!(pool.has_room() && !pool.saturated());
        // The first input starts the only instance: it waits for that one, not for a busy one.
        assert_eq!(pool.next_start(1), Some(0));
        assert_eq!(pool.place(), None);
        assert!(!pool.saturated() && !pool.has_room());
        assert_eq!(pool.enqueue(1, false), None);
        // A second input would wait behind the first: the pool is saturated.
        assert!(pool.saturated());
        assert_eq!(pool.register(0, ()), Some(vec![1]));
        assert_eq!(pool.place(), None);
        assert!(pool.saturated() && !pool.has_room());
        // The input finished: room again.
        assert_eq!(pool.finished(0), None);
        assert!(pool.has_room() && !pool.saturated());
    }

    #[test]
    fn a_reentrant_input_at_the_limit_gets_an_overflow_instance_first_in_line() {
        let mut pool: Placement<u32, ()> = Placement::new(shape(1, 1, 1, 0, 0));
        let id = pool.next_start(1).unwrap();
        pool.register(id, ()).unwrap();
        assert!(pool.place().is_some());
        assert_eq!(pool.enqueue(7, false), None);
        let overflow = pool.enqueue(8, true).expect("an overflow instance");
        assert_eq!(pool.register(overflow, ()), Some(vec![8]));
        assert_eq!(pool.stats().overflow_started, 1);
        assert_eq!(pool.finished(id).map(|(input, ())| input), Some(7));
    }

    /// What happens to a pool, in any order.
    #[derive(Debug, Clone)]
    enum Event {
        /// An input arrives (reentrant or not).
        Submit(bool),
        /// The n-th starting instance finishes starting (or fails to).
        Start(usize, bool),
        /// An input of the n-th instance finishes.
        Finish(usize),
        /// The n-th instance has been idle for its window.
        Idle(usize),
        /// The n-th instance traps.
        Trap(usize),
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            // Reentrant inputs are rare in practice; keep them a minority.
            4 => prop::bool::weighted(0.1).prop_map(Event::Submit),
            3 => (0..8usize, prop::bool::weighted(0.9)).prop_map(|(n, ok)| Event::Start(n, ok)),
            3 => (0..8usize).prop_map(Event::Finish),
            1 => (0..8usize).prop_map(Event::Idle),
            1 => (0..8usize).prop_map(Event::Trap),
        ]
    }

    /// A shape as options allow it: 1 <= target <= capacity, buffer and min <= max.
    fn any_shape() -> impl Strategy<Value = Shape> {
        (1..5usize, 1..5usize, 1..6usize, 0..3usize, 0..3usize).prop_map(
            |(capacity, target, max, buffer, min)| {
                shape(
                    capacity,
                    target.min(capacity),
                    max,
                    buffer.min(max),
                    min.min(max),
                )
            },
        )
    }

    proptest! {
        #[test]
        fn every_input_is_placed_or_queued_and_the_limits_hold(
            shape in any_shape(),
            events in prop::collection::vec(event(), 1..200),
        ) {
            let mut pool: Placement<u32, ()> = Placement::new(shape);
            let mut starting: Vec<u64> = Vec::new();
            let mut submitted = 0usize;
            let mut done = 0usize;
            let mut failed = 0usize;
            let mut overflow = 0usize;
            // Start the minimum, as a pool does when it is made.
            while let Some(id) = pool.next_start(0) {
                starting.push(id);
            }
            for event in events {
                match event {
                    Event::Submit(reentrant) => {
                        submitted += 1;
                        while let Some(id) = pool.next_start(1) {
                            starting.push(id);
                        }
                        if pool.place().is_none()
                            && let Some(id) = pool.enqueue(0, reentrant)
                        {
                            overflow += 1;
                            starting.push(id);
                        }
                    }
                    Event::Start(n, ok) if !starting.is_empty() => {
                        let id = starting.remove(n % starting.len());
                        if ok {
                            let taken = pool.register(id, ()).expect("the pool is open");
                            prop_assert!(taken.len() <= shape.capacity);
                        } else {
                            failed += pool.start_failed().len();
                        }
                    }
                    Event::Finish(n) if !pool.instances.is_empty() => {
                        let index = n % pool.instances.len();
                        let instance = &pool.instances[index];
                        if instance.load > 0 {
                            let id = instance.id;
                            pool.finished(id);
                            done += 1;
                        }
                    }
                    Event::Idle(n) if !pool.instances.is_empty() => {
                        let id = pool.instances[n % pool.instances.len()].id;
                        let before = pool.instances.len();
                        if pool.retire_if_idle(id) {
                            prop_assert!(before > shape.min_instances, "retired below the minimum");
                        }
                    }
                    Event::Trap(n) if !pool.instances.is_empty() => {
                        let instance = &pool.instances[n % pool.instances.len()];
                        let (id, load) = (instance.id, instance.load);
                        pool.retire(id);
                        failed += load;
                        while let Some(id) = pool.next_start(0) {
                            starting.push(id);
                        }
                    }
                    _ => {}
                }
                // Never above the maximum, but for overflow instances.
                prop_assert!(
                    pool.instances.len() + pool.starting <= shape.max_instances + overflow,
                    "{} instances and {} starting, maximum {}",
                    pool.instances.len(), pool.starting, shape.max_instances
                );
                prop_assert_eq!(pool.starting, starting.len());
                // No instance beyond its capacity; loads add up.
                prop_assert!(pool.instances.iter().all(|instance| instance.load <= shape.capacity));
                let loads: usize = pool.instances.iter().map(|instance| instance.load).sum();
                prop_assert_eq!(loads, pool.in_flight);
                // Every input is running, queued, finished or failed with its instance.
                prop_assert_eq!(submitted, pool.in_flight + pool.queue.len() + done + failed);
                // Queued inputs always have an instance coming or serving to take them.
                if !pool.queue.is_empty() {
                    prop_assert!(!pool.instances.is_empty() || pool.starting > 0);
                }
            }
        }
    }
}
