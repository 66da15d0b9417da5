//! The pool of a wasi:http handler: containers (stores with the app's grants, memory and CPU
//! limits) that serve `wasi:http/incoming-handler` requests, reused from one request to the
//! next.
//!
//! The reuse engine is wasmtime-wasi-http's `handler` module, the one `wasmtime serve` runs:
//! it starts a worker (one store and instance) when no worker is free, hands a worker the next
//! request while it still accepts them, and ends it when [`Expiry`] says so. fnhost sets its
//! rules from the handler's options, as for a function:
//! - `max_inputs`: requests one instance takes at once, where the component allows it (a
//!   wasi:http 0.2 handler is a synchronous export: one at a time);
//! - `max_containers`: at most that many requests run at once (each needing an instance of its
//!   own at worst), so at most that many instances serve; more wait, up to the host's
//!   `max_queued`, past which a request is refused at once with `overloaded`;
//! - `timeout`: a request that has not finished its response in time fails with `timeout`, and
//!   its instance is ended (wasmtime 48 cannot take one task back from an instance);
//! - `scaledown_window`: an instance idle that long is ended;
//! - `memory`, `cpu`: each store's limiter and CPU budget, as for a function's containers;
//! - a trap ends the instance, fails the requests it was running, and the next request gets a
//!   new instance.
//!
//! A request whose client went away (its response dropped before it ended) is cancelled the
//! only way wasmtime 48 allows: its instance is ended. Without that, a guest serving a vanished
//! client would run on until its timeout.
//!
//! A response whose instance ended in failure (a trap, a timeout) while the response was still
//! being written ends in an error, never cleanly: wasmtime-wasi-http ends a body whose
//! instance was dropped as if it were complete, and a client would take a cut response for a
//! whole one. Only the instance's latest request can be cut so (a wasi:http 0.2 instance runs
//! one request at a time); the responses before it were finished by their guest.

use crate::Error;
use crate::container::state::{ContainerContext, ContainerState, new_store};
use crate::options::FunctionConfig;
use crate::pool::PoolStats;
use crate::runtime::cpu::CpuBudget;
use crate::runtime::grants::OwnGrants;
use crate::runtime::output::Origin;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::time::Sleep;
use wasmtime::component::GuestTaskId;
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    ExpirationError, HandlerState, Instance, InstantiationError, Proxy, ProxyHandler, ShouldAccept,
    WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;

/// The name a handler's pool goes by in messages, stats and call chains.
pub const HANDLER_NAME: &str = "incoming-handler";

/// A wasi:http handler's pool.
pub(crate) struct HttpPool {
    handler: ProxyHandler<Handlers>,
}

impl Drop for HttpPool {
    /// The app is gone (undeployed, replaced, dropped): its idle instances end now, busy ones
    /// once their requests are done, rather than after the scale-down window.
    fn drop(&mut self) {
        self.handler.state().closed.send_replace(true);
    }
}

/// What every worker of the pool is made from, and the pool's counts.
struct Handlers {
    pre: ProxyPre<ContainerState>,
    context: Arc<ContainerContext>,
    config: FunctionConfig,
    /// One permit per request that may run at once.
    running: Arc<Semaphore>,
    /// How many requests may wait for a permit.
    max_queued: usize,
    counts: Arc<Counts>,
    /// True once the pool is dropped.
    closed: watch::Sender<bool>,
}

/// The pool's numbers, shared with its workers.
#[derive(Default)]
struct Counts {
    containers: AtomicUsize,
    started: AtomicUsize,
    peak_containers: AtomicUsize,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    peak_per_container: AtomicUsize,
    queued: AtomicUsize,
    cancelled: AtomicUsize,
    cpu_throttles: Arc<AtomicUsize>,
    next_id: AtomicUsize,
}

impl HttpPool {
    /// The pool of `pre`'s handler, its containers started in `context`, with `config`, and
    /// at most `max_queued` requests waiting.
    pub(crate) fn new(
        pre: ProxyPre<ContainerState>,
        context: Arc<ContainerContext>,
        config: FunctionConfig,
        max_queued: usize,
    ) -> HttpPool {
        let running = Arc::new(Semaphore::new(config.max_containers as usize));
        HttpPool {
            handler: ProxyHandler::new(Handlers {
                pre,
                context,
                config,
                running,
                max_queued,
                counts: Arc::default(),
                closed: watch::Sender::new(false),
            }),
        }
    }

    /// The handler's options.
    pub(crate) fn config(&self) -> &FunctionConfig {
        &self.handler.state().config
    }

    /// What the pool is doing.
    pub(crate) fn stats(&self) -> PoolStats {
        let counts = &self.handler.state().counts;
        let load = |count: &AtomicUsize| count.load(Ordering::Relaxed);
        PoolStats {
            containers: load(&counts.containers),
            containers_started: load(&counts.started),
            peak_containers: load(&counts.peak_containers),
            in_flight: load(&counts.in_flight),
            peak_in_flight: load(&counts.peak_in_flight),
            peak_in_flight_per_container: load(&counts.peak_per_container),
            queued: load(&counts.queued),
            overflow_started: 0,
            cancelled: load(&counts.cancelled),
            cpu_throttles: load(&counts.cpu_throttles),
            batches: 0,
            batched_inputs: 0,
        }
    }

    /// Waits for a request's place when every one is taken, as one of at most `max_queued`
    /// waiting (refused with `overloaded` beyond), for at most the handler's timeout.
    async fn wait_for_room(&self) -> Result<OwnedSemaphorePermit, Error> {
        let state = self.handler.state();
        let counts = &state.counts;
        let _queued = Counted::enter(counts, |counts| &counts.queued, None);
        if counts.queued.load(Ordering::Relaxed) > state.max_queued
            && state.running.available_permits() == 0
        {
            return Err(Error::Overloaded(format!(
                "`{HANDLER_NAME}`: {} requests are waiting (the host's max_queued)",
                state.max_queued
            )));
        }
        tokio::time::timeout(
            state.config.timeout,
            Arc::clone(&state.running).acquire_owned(),
        )
        .await
        .map_err(|_| {
            Error::Timeout(format!(
                "`{HANDLER_NAME}`: no instance was free within the timeout ({})",
                humantime::format_duration(state.config.timeout)
            ))
        })?
        .map_err(|_| Error::Cancelled("the app is shutting down".into()))
    }

    /// Serves `request`: waits for room (refused with `overloaded` past the queue's bound),
    /// hands it to a worker, and returns the response once its head is ready; its body streams
    /// from the guest as the client reads it. Dropping the returned body before its end, or
    /// this future before it resolves, cancels the request.
    pub(crate) async fn handle(
        &self,
        request: wasmtime_wasi_http::handler::Request,
    ) -> Result<http::Response<HttpBody>, Error> {
        let state = self.handler.state();
        let counts = &state.counts;
        let free = Arc::clone(&state.running).try_acquire_owned().ok();
        let permit = match free {
            Some(permit) => permit,
            None => self.wait_for_room().await?,
        };
        let running = Counted::enter(
            counts,
            |counts| &counts.in_flight,
            Some(|counts| &counts.peak_in_flight),
        );
        let (client, gone) = ClientWatch::new();
        let worker = Arc::clone(&gone.worker);
        let broken = Arc::clone(&gone.broken);
        let response = self.handler.handle(gone, request).await;
        match response {
            Ok(response) => Ok(response.map(|body| HttpBody {
                body,
                client: Some(client),
                broken,
                _permit: permit,
                _running: running,
            })),
            Err(error) => {
                client.finished();
                // A worker ended from outside its event loop (its guest computing, or blocked)
                // fails the request without saying why; the worker knows.
                let timed_out = worker
                    .get()
                    .is_some_and(|fate| fate.load(Ordering::Acquire));
                Err(match timed_out {
                    true => timed_out_error(),
                    false => handler_error(error),
                })
            }
        }
    }
}

fn timed_out_error() -> Error {
    Error::Timeout(format!(
        "`{HANDLER_NAME}` did not answer within its timeout"
    ))
}

/// The error a handler's failure becomes. An `error-code` the handler answered instead of a
/// response is the guest's own answer (a `User` error, `500` at the HTTP edge, the status
/// `wasmtime serve` gives it), not a trap.
fn handler_error(error: wasmtime::Error) -> Error {
    if error.is::<ExpirationError>() {
        return timed_out_error();
    }
    if let Some(code) = error.downcast_ref::<ErrorCode>() {
        return Error::User(format!(
            "`{HANDLER_NAME}` answered the error code {code:?} instead of a response"
        ));
    }
    if let Some(failed) = error.downcast_ref::<InstantiationError<ClientGone>>() {
        return Error::Overloaded(format!(
            "`{HANDLER_NAME}`: its instance could not start: {:#}",
            failed.error
        ));
    }
    Error::Trapped(format!(
        "`{HANDLER_NAME}` failed before its response (the app's logs have the guest's side): \
         {error:#}"
    ))
}

impl HandlerState for Handlers {
    type StoreData = ContainerState;
    type WorkerExpiration = Expiry;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<ContainerState, Expiry, Worker>> {
        let id = self.counts.next_id.fetch_add(1, Ordering::Relaxed);
        let name: Arc<str> = Arc::from(HANDLER_NAME);
        let label: Arc<str> = Arc::from(format!("{HANDLER_NAME}#{id}"));
        let cpu = self
            .config
            .cpu_millicores()
            .map(|millicores| CpuBudget::new(millicores, Arc::clone(&self.counts.cpu_throttles)));
        let state = ContainerState::new(
            &self.context,
            name,
            Arc::clone(&label),
            &Origin::Container(label),
            Some(self.config.memory_bytes()),
            cpu,
            OwnGrants::default(),
        );
        let mut store = new_store(self.pre.engine(), state);
        let proxy = self.pre.instantiate_async(&mut store).await?;
        let live = Counted::enter(
            &self.counts,
            |counts| &counts.containers,
            Some(|counts| &counts.peak_containers),
        );
        self.counts.started.fetch_add(1, Ordering::Relaxed);
        let clients = Arc::new(Clients::default());
        let timed_out = Arc::new(AtomicBool::new(false));
        Ok(Instance {
            store,
            proxy: Proxy::P2(proxy),
            view: <ContainerState as WasiHttpView>::http,
            expiration: Expiry {
                timeout: self.config.timeout,
                idle: self.config.scaledown_window,
                timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
                armed: None,
                clients: Arc::clone(&clients),
                counts: Arc::clone(&self.counts),
                timed_out: Arc::clone(&timed_out),
                closed: Mutex::new(Box::pin({
                    let mut closed = self.closed.subscribe();
                    async move {
                        // An error: the sender is gone, which closes the pool too.
                        let _ = closed.wait_for(|closed| *closed).await;
                    }
                })),
            },
            state: Worker {
                max_inputs: self.config.max_inputs as usize,
                timeout: self.config.timeout,
                clients,
                latest: Mutex::default(),
                timed_out,
                counts: Arc::clone(&self.counts),
                _live: live,
            },
        })
    }
}

/// One worker's rules: how many requests it takes, how long each may run, and what its end
/// reports.
struct Worker {
    max_inputs: usize,
    timeout: Duration,
    clients: Arc<Clients>,
    /// The `broken` flag of the latest request it took: set if the worker ends in failure.
    latest: Mutex<Option<Arc<AtomicBool>>>,
    /// Set when the worker is ended for a request past its timeout.
    timed_out: Arc<AtomicBool>,
    counts: Arc<Counts>,
    /// Counts the worker's instance while it lives.
    _live: Counted,
}

impl WorkerState for Worker {
    type StoreData = ContainerState;
    type RequestData = ClientGone;

    fn should_accept_request(&self, concurrent: usize, _total: usize) -> ShouldAccept {
        if concurrent < self.max_inputs {
            ShouldAccept::Yes
        } else {
            ShouldAccept::No
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, ContainerState>,
        gone: ClientGone,
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        // A wasi:http 0.2 handler is a synchronous export: one request per instance at a time.
        self.counts
            .peak_per_container
            .fetch_max(1, Ordering::Relaxed);
        // The requester asks it why the worker ended, if it did.
        let _ = gone.worker.set(Arc::clone(&self.timed_out));
        *lock(&self.latest) = Some(Arc::clone(&gone.broken));
        // Watched by the worker's `Expiry`, which is polled even while the guest computes.
        self.clients.watch(gone);
        Box::pin(tokio::time::sleep(self.timeout))
    }

    fn drop(&self, store: Store<ContainerState>, result: wasmtime::Result<()>) {
        let Err(error) = result else { return };
        // Before the store (and the body it may still be writing) is dropped.
        if let Some(broken) = lock(&self.latest).take() {
            broken.store(true, Ordering::Release);
        }
        let label = &store.data().label;
        if self.timed_out.load(Ordering::Acquire) {
            tracing::warn!(container = %label, timeout = ?self.timeout, "wasi:http instance ended: a request ran past its timeout");
        } else if self.clients.one_left() || dropped_unfinished(&error) {
            // The handler calls every early end an error ("guest timed out" when a client
            // left, "worker panicked" when the worker was dropped with the server): neither
            // is the guest's fault.
            tracing::debug!(container = %label, "wasi:http instance ended early: {error:#}");
        } else {
            tracing::warn!(container = %label, "wasi:http instance ended: {error:#}");
        }
    }
}

/// Whether `error` is how the handler reports a worker whose future was dropped before it
/// ended (the server stopping, its tasks dropped): it says "worker panicked" then, panicking
/// or not; only a panic unwinding now is one.
fn dropped_unfinished(error: &wasmtime::Error) -> bool {
    !std::thread::panicking() && error.to_string() == "worker panicked"
}

/// When a worker ends: idle past the scale-down window or once its pool is closed, a request
/// past its timeout, or a request whose client went away.
///
/// It is polled outside the store's event loop, so it sees a request's end even while the
/// guest computes (the event loop, and every future inside it, waits then).
pub(crate) struct Expiry {
    timeout: Duration,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    clients: Arc<Clients>,
    counts: Arc<Counts>,
    /// The worker's: set when this ends it for a request past its timeout.
    timed_out: Arc<AtomicBool>,
    /// Resolves once the pool is closed. (In a mutex only to be `Sync`.)
    closed: Mutex<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl WorkerExpiration for Expiry {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let this = self.get_mut();
        if this.clients.any_gone(cx) && status != WorkerStatus::Idle {
            this.counts.cancelled.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(());
        }
        if status == WorkerStatus::Idle {
            let mut closed = lock(&this.closed);
            if closed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        let deadline = start
            + match status {
                WorkerStatus::Idle => this.idle,
                WorkerStatus::Requests | WorkerStatus::PostReturn => this.timeout,
            };
        if this.armed != Some(deadline) {
            this.armed = Some(deadline);
            this.timer.as_mut().reset(deadline.into());
        }
        let expired = this.timer.as_mut().poll(cx);
        if expired.is_ready() && status != WorkerStatus::Idle {
            this.timed_out.store(true, Ordering::Release);
        }
        expired
    }
}

/// The clients of the requests a worker took: one gone before its response ended ends the
/// worker; whether one did is kept.
#[derive(Default)]
struct Clients(Mutex<Vec<oneshot::Receiver<()>>>, AtomicBool);

impl Clients {
    fn watch(&self, gone: ClientGone) {
        self.lock().push(gone.gone);
    }

    /// Whether a client went away before its response ended.
    fn one_left(&self) -> bool {
        self.1.load(Ordering::Acquire)
    }

    /// Whether a client went away since the last look; `cx` is woken when one does. Requests
    /// that ended as they should are forgotten.
    fn any_gone(&self, cx: &mut Context<'_>) -> bool {
        let mut gone = false;
        self.lock()
            .retain_mut(|client| match Pin::new(client).poll(cx) {
                Poll::Ready(Ok(())) => false,
                Poll::Ready(Err(_)) => {
                    gone = true;
                    self.1.store(true, Ordering::Release);
                    false
                }
                Poll::Pending => true,
            });
        gone
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<oneshot::Receiver<()>>> {
        lock(&self.0)
    }
}

/// The requester's side of a request: dropped before [`ClientWatch::finished`], it tells the
/// worker the client went away.
struct ClientWatch(oneshot::Sender<()>);

/// The worker's side: its receiver fails when the client went away (it receives when the
/// request finished); its worker slot tells the requester how the worker that took the
/// request ended.
pub(crate) struct ClientGone {
    gone: oneshot::Receiver<()>,
    worker: Arc<OnceLock<Arc<AtomicBool>>>,
    /// Set when the worker that took the request ended in failure while it was its latest:
    /// its response, if still being written, is cut.
    broken: Arc<AtomicBool>,
}

impl ClientWatch {
    fn new() -> (ClientWatch, ClientGone) {
        let (watch, gone) = oneshot::channel();
        let (worker, broken) = (Arc::default(), Arc::default());
        (
            ClientWatch(watch),
            ClientGone {
                gone,
                worker,
                broken,
            },
        )
    }

    /// The request ended as it should: nothing to cancel.
    fn finished(self) {
        // The worker may be gone already; then there is no one to tell.
        let _ = self.0.send(());
    }
}

/// A response body from a handler's guest, streamed as the client reads it. Holds the
/// request's place (its permit) until it ends or is dropped; dropped before its end, it
/// cancels the request.
pub struct HttpBody {
    body: wasmtime_wasi_http::WasiBody,
    client: Option<ClientWatch>,
    /// The request's `broken` flag (see [`ClientGone`]).
    broken: Arc<AtomicBool>,
    _permit: OwnedSemaphorePermit,
    _running: Counted,
}

impl http_body::Body for HttpBody {
    type Data = bytes::Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(None) = frame
            && let Some(client) = self.client.take()
        {
            if self.broken.load(Ordering::Acquire) {
                // Dropped with its instance, not finished by its guest: a cut response.
                return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpResponseIncomplete)));
            }
            client.finished();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A gauge of [`Counts`].
type Gauge = fn(&Counts) -> &AtomicUsize;

impl Drop for HttpBody {
    fn drop(&mut self) {
        // Read to its end (seen in `poll_frame`, or known from its length): the request ended
        // as it should. Dropped before: the client went away (the watch goes unsent).
        if let Some(client) = self.client.take()
            && http_body::Body::is_end_stream(&self.body)
        {
            client.finished();
        }
    }
}

/// Counts one thing (a request, an instance) in a gauge while it lives, and raises the gauge's
/// peak.
struct Counted {
    counts: Arc<Counts>,
    gauge: Gauge,
}

impl Counted {
    fn enter(counts: &Arc<Counts>, gauge: Gauge, peak: Option<Gauge>) -> Counted {
        let now = gauge(counts).fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(peak) = peak {
            peak(counts).fetch_max(now, Ordering::Relaxed);
        }
        Counted {
            counts: Arc::clone(counts),
            gauge,
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        (self.gauge)(&self.counts).fetch_sub(1, Ordering::Relaxed);
    }
}

/// Locks `mutex`, whatever a panic left in it (its values are replaced whole).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
