//! What every request handler shares: the host, the apps, the metrics, the spawned calls,
//! the ephemeral objects held for clients, the tokens, and whether the server is stopping.
//!
//! Invariant: every call the server starts is counted once in the metrics when it finishes,
//! and a failure is told in its app's logs with the call's id — for a spawned call by a
//! watcher task, so that it is counted even when nobody asks for its result.

use crate::access::Access;
use crate::deployed_apps::Apps;
use crate::ephemeral::Leases;
use crate::metrics::Metrics;
use crate::spawned::Spawned;
use crate::state::journal::Journal;
use crate::web_limits::WebLimits;
use fnhost::{CallId, Error, Function, FunctionCall, Host};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The longest part of an error message repeated in a log event.
const MAX_LOGGED_MESSAGE: usize = 1000;

/// The state the handlers share.
pub(crate) struct Context {
    pub(crate) host: Host,
    pub(crate) apps: Apps,
    pub(crate) metrics: Metrics,
    pub(crate) spawned: Spawned,
    /// The ephemeral dicts and queues the server holds for its clients.
    pub(crate) ephemeral: Leases,
    /// The tokens: who each request is.
    pub(crate) access: Access,
    /// How long `/call` waits before answering with the call's id.
    pub(crate) sync_timeout: Duration,
    /// How long a request's body may send nothing (`http::stall`).
    pub(crate) body_idle: Duration,
    /// The web requests each app may serve at once.
    pub(crate) web_limits: WebLimits,
    /// The results given out by id, on disk before the answer.
    pub(crate) journal: Arc<Journal>,
    /// True once a shutdown began.
    stopping: watch::Sender<bool>,
}

impl Context {
    pub(crate) fn new(
        host: Host,
        apps: Apps,
        access: Access,
        sync_timeout: Duration,
        body_idle: Duration,
        web_limits: WebLimits,
        journal: Arc<Journal>,
    ) -> Context {
        Context {
            metrics: Metrics::new(host.clone(), apps.cluster().cloned()),
            host,
            apps,
            spawned: Spawned::default(),
            ephemeral: Leases::default(),
            access,
            sync_timeout,
            body_idle,
            web_limits,
            journal,
            stopping: watch::Sender::new(false),
        }
    }

    /// From now on, requests are refused with `unavailable` and log followers end.
    pub(crate) fn begin_stopping(&self) {
        self.stopping.send_replace(true);
    }

    /// Whether a shutdown began.
    pub(crate) fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Changes to whether the server is stopping.
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// The function `function` of the deployed app `app`.
    pub(crate) fn function(&self, app: &str, function: &str) -> Result<Function, Error> {
        fnhost::check_app_name(app)?;
        self.host.function(&format!("{app}/{function}"))
    }

    /// Counts a finished call of `app/function` and logs its failure.
    pub(crate) fn finished(
        &self,
        app: &str,
        function: &str,
        id: Option<CallId>,
        outcome: Result<(), &Error>,
        took: Duration,
    ) {
        self.metrics
            .record(app, function, outcome.map_err(Error::kind), took);
        if let (Err(error), Some(logs)) = (outcome, self.apps.logs().get(app)) {
            let message: String = error.message().chars().take(MAX_LOGGED_MESSAGE).collect();
            let call = match id {
                Some(id) => format!("call {id}"),
                None => "a mapped call".to_owned(),
            };
            logs.host_event(
                Some(function),
                id,
                &format!("{call} of {function} failed: {}: {message}", error.kind()),
            );
        }
    }

    /// Watches the spawned call `call` of `app/function` until it finishes, then counts it; a
    /// shutdown waits for (then cancels) the calls watched. The watcher holds `handle`, so
    /// the version of the app the call runs on stays open until it finishes (a redeploy
    /// drops the registry's hold on it; queued inputs of a closed app would fail).
    pub(crate) fn watch(
        self: &Arc<Self>,
        call: FunctionCall<serde_json::Value>,
        handle: Function,
        (app, function): (&str, &str),
        started: Instant,
    ) {
        let id = call.id();
        self.spawned.insert(id);
        let context = Arc::clone(self);
        let (app, function) = (app.to_owned(), function.to_owned());
        tokio::spawn(async move {
            let result = call.get_raw().await;
            drop(handle);
            context.finished(
                &app,
                &function,
                Some(id),
                result.as_ref().map(|_| ()),
                started.elapsed(),
            );
            context.spawned.remove(id);
        });
    }
}
