//! The deployed apps' schedules (Modal's `schedule=`): each tick starts a call of the
//! function with no arguments, as `POST .../spawn` does.
//!
//! One timer task runs per scheduled function of each deployed version; a redeploy or an
//! undeploy stops the version's timers (a period counts again from the new deploy), and a
//! shutdown stops them all. Rules, as docs/server.md states them:
//! - a tick whose previous run (of the same timer) still runs is skipped, and the skip is told
//!   in the app's logs: runs of one schedule never overlap;
//! - ticks missed while no host ran are not replayed: after a start, or a run that outlasted
//!   several ticks, the next tick is the first one still to come;
//! - in a cluster every host's timer fires, with the tick's id derived from (app, version,
//!   function, tick time); JetStream keeps one message per id within its duplicate window, so
//!   exactly one call runs per tick whichever hosts are up, and any of them runs it.
//!
//! Invariant: a timer never fires a tick twice, and never one before its time.

use crate::context::Context;
use fnhost::{App, CallId, Error, FunctionCall, Schedule};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::task::JoinHandle;

/// The timers of one deployed version of an app: stopped when dropped.
struct Timers {
    version: u64,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Timers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Keeps one timer per scheduled function of every deployed app, following deploys and
/// undeploys, until the server stops.
pub(crate) async fn run(context: Arc<Context>) {
    let mut changes = context.apps.changes();
    let mut timers: HashMap<String, Timers> = HashMap::new();
    loop {
        reconcile(&context, &mut timers);
        if changes.changed().await.is_err() || context.is_stopping() {
            return;
        }
    }
}

/// Starts the timers of versions deployed since the last look; stops those of versions gone.
fn reconcile(context: &Arc<Context>, timers: &mut HashMap<String, Timers>) {
    let deployed = context.apps.deployed();
    timers.retain(|name, running| {
        deployed
            .iter()
            .any(|(app, version, ..)| app == name && *version == running.version)
    });
    for (name, version, deployed_at, app) in deployed {
        if timers.contains_key(&name) {
            continue;
        }
        let tasks = scheduled(&app)
            .map(|(function, schedule)| {
                let timer = Timer {
                    context: Arc::clone(context),
                    app: name.clone(),
                    version,
                    function,
                    schedule,
                    deployed_at,
                };
                tokio::spawn(timer.run())
            })
            .collect();
        timers.insert(name, Timers { version, tasks });
    }
}

/// The scheduled functions of `app`.
fn scheduled(app: &App) -> impl Iterator<Item = (String, Schedule)> + '_ {
    app.functions()
        .iter()
        .filter_map(|info| Some((info.name.clone(), info.schedule.clone()?)))
}

/// The timer of one scheduled function of one deployed version.
struct Timer {
    context: Arc<Context>,
    app: String,
    version: u64,
    function: String,
    schedule: Schedule,
    deployed_at: SystemTime,
}

impl Timer {
    async fn run(self) {
        let mut last: Option<CallId> = None;
        let mut after = SystemTime::now();
        while let Some(tick) = self.schedule.next_after(self.deployed_at, after) {
            let wait = tick.duration_since(SystemTime::now()).unwrap_or_default();
            tokio::time::sleep(wait).await;
            // The clock may be late or have jumped: never before the tick.
            while SystemTime::now() < tick {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if self.context.is_stopping() {
                return;
            }
            self.fire(tick, &mut last).await;
            // Ticks that passed while this one fired are not replayed.
            after = SystemTime::now().max(tick);
        }
        self.event(None, "its schedule fires no more".into());
    }

    /// Starts the run of `tick`, unless the last run still goes.
    async fn fire(&self, tick: SystemTime, last: &mut Option<CallId>) {
        let due = humantime::format_rfc3339_millis(tick);
        if let Some(previous) = *last
            && self.still_running(previous).await
        {
            self.event(
                Some(previous),
                format!("skipped the run due at {due}: run {previous} still goes"),
            );
            return;
        }
        match self.start(tick).await {
            Ok((id, true)) => {
                *last = Some(id);
                tracing::info!(app = %self.app, function = %self.function, call_id = %id, "scheduled run");
                self.event(
                    Some(id),
                    format!("scheduled run {id} started (due at {due})"),
                );
            }
            // Another host of the cluster stored this tick's call first.
            Ok((id, false)) => *last = Some(id),
            Err(error) => self.event(
                None,
                format!(
                    "cannot start the run due at {due}: {}: {error}",
                    error.kind()
                ),
            ),
        }
    }

    /// Starts the run of `tick`: its id, and whether this host started it.
    async fn start(&self, tick: SystemTime) -> Result<(CallId, bool), Error> {
        let context = &self.context;
        let function = context.function(&self.app, &self.function)?;
        let args = function.info().arguments(None)?;
        if let Some(cluster) = context.apps.cluster() {
            let id = self.tick_id(tick);
            let stored = cluster
                .spawn_once(&self.app, &self.function, args, id)
                .await?;
            return Ok((id, stored));
        }
        let started = Instant::now();
        let call = function.spawn_raw::<serde_json::Value>(args)?;
        let id = call.id();
        context.watch(call, function, (&self.app, &self.function), started);
        Ok((id, true))
    }

    /// The id of the run of `tick`: the same on every host of a cluster.
    fn tick_id(&self, tick: SystemTime) -> CallId {
        let millis = tick
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        CallId::derived(&format!(
            "schedule\0{}\0{}\0{}\0{millis}",
            self.app, self.version, self.function
        ))
    }

    /// Whether the run `id` has not finished (an id no longer known has).
    async fn still_running(&self, id: CallId) -> bool {
        if let Some(cluster) = self.context.apps.cluster() {
            return matches!(cluster.result(id, None, Duration::ZERO).await, Ok(None));
        }
        match FunctionCall::<serde_json::Value>::from_id(&self.context.host, &id.to_string()) {
            Ok(call) => call.result_within(Duration::ZERO).await.is_none(),
            Err(_) => false,
        }
    }

    fn event(&self, call: Option<CallId>, message: String) {
        if let Some(logs) = self.context.apps.logs().get(&self.app) {
            logs.host_event(Some(&self.function), call, &message);
        }
    }
}
