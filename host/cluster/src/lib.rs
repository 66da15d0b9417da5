//! Several fnhost hosts on one NATS JetStream: deployments shared, calls spilled to hosts with
//! room, spawned calls stored durably and run by any host.
//!
//! A host joins with [`Cluster::join`] (what `fnhost serve --cluster` does); one that only
//! keeps its state there, taking no part in the calls, uses [`share_state`] (what `fnhost run
//! --cluster` does). From a join on:
//! - deployments go through the cluster ([`Cluster::publish_deployment`], [`Cluster::changes`]):
//!   components in an object store, records in a key-value bucket every host watches;
//! - a call that finds its local pool full is offered to another host with room, over NATS
//!   request/reply (`spill`), through the host's offload seam; calls that find room at home
//!   never touch NATS;
//! - [`Cluster::spawn`] stores a call in a JetStream work queue and returns once the server
//!   has it; any host takes it, runs it, stores its outcome by call id and only then acks it
//!   (`spawns`, `results`); [`Cluster::result`] and [`Cluster::cancel`] work from any host;
//! - the host's dicts, queues, volumes and secrets live on JetStream (`state`), shared by every
//!   host (docs/storage.md).
//!
//! docs/cluster.md has the design: subjects, streams, consumers, buckets, what happens when a
//! host or NATS goes away, and how it scales.
//!
//! Modules, one concern each: `connection` (the server's URL, credentials, TLS), `names`
//! (everything named on NATS), `wire` (headers and outcomes), `spill`, `spawns`, `results`,
//! `running` (calls running here, cancellations), `deployments`, `state`, `error`.

mod connection;
mod deployments;
mod error;
mod names;
mod results;
mod running;
mod spawns;
mod spill;
mod state;
mod wire;

pub use connection::{NatsConnection, NatsCredentials, NatsUrl};
pub use deployments::Change;
pub use error::ClusterError;

use crate::deployments::Deployments;
use crate::names::{CANCEL_SUBJECTS, SPAWN_STREAM, cancel_subject};
use crate::results::{Results, Stored};
use crate::running::Running;
use async_nats::jetstream;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use bytes::Bytes;
use fnhost::{CallId, Error, Host};
use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The default of [`ClusterSettings::ack_wait`].
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(5);
/// The default of [`ClusterSettings::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// The default of [`ClusterSettings::max_spawned_in_flight`].
pub const DEFAULT_MAX_SPAWNED_IN_FLIGHT: usize = 1024;
/// The default of [`ClusterSettings::max_waiting_spawns`].
pub const DEFAULT_MAX_WAITING_SPAWNS: usize = 1_000_000;
/// The default of [`ClusterSettings::max_outcomes`].
pub const DEFAULT_MAX_OUTCOMES: usize = 1_000_000;
/// The default of [`ClusterSettings::max_outcome_bytes`]: 1 GiB.
pub const DEFAULT_MAX_OUTCOME_BYTES: u64 = 1 << 30;

/// How a host joins a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The NATS server (`nats://HOST:PORT`, `tls://...`) and how to prove who the host is.
    pub connection: NatsConnection,
    /// This host's name in the cluster (default: the machine's name and the process id).
    pub host_name: String,
    /// How long a spawned call taken by a host may go without news of it before another host
    /// gets it (default 5 s): a host tells progress every third of it while the call runs, so
    /// this bounds how long a dead host's calls wait, not how long a call may run.
    pub ack_wait: Duration,
    /// How long a spawn waits for the server to store the call before it fails with
    /// `overloaded` (default 2 s): the bound on a spawn while NATS is away.
    pub request_timeout: Duration,
    /// Spawned calls one host runs (or holds queued) at once (default 1024).
    pub max_spawned_in_flight: usize,
    /// How long stored outcomes of spawned calls are kept (and calls waiting for a host).
    pub retention: Duration,
    /// Spawned calls the cluster keeps waiting for a host (default 1 000 000): past it a spawn
    /// fails with `overloaded`. Set when the stream is first made.
    pub max_waiting_spawns: usize,
    /// Outcomes the cluster keeps (default 1 000 000) and their bytes (default 1 GiB): past
    /// either, the oldest are forgotten first. Set when the bucket is first made.
    pub max_outcomes: usize,
    /// See [`ClusterSettings::max_outcomes`].
    pub max_outcome_bytes: u64,
}

impl ClusterSettings {
    /// The settings for joining the NATS server of `connection` (a URL, with the credentials
    /// it carries, or a [`NatsConnection`]), the defaults otherwise, outcomes kept as long as
    /// `host` keeps its spawned calls.
    pub fn new(connection: impl Into<NatsConnection>, host: &Host) -> Self {
        ClusterSettings {
            connection: connection.into(),
            host_name: default_host_name(),
            ack_wait: DEFAULT_ACK_WAIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_spawned_in_flight: DEFAULT_MAX_SPAWNED_IN_FLIGHT,
            retention: host.settings().retention,
            max_waiting_spawns: DEFAULT_MAX_WAITING_SPAWNS,
            max_outcomes: DEFAULT_MAX_OUTCOMES,
            max_outcome_bytes: DEFAULT_MAX_OUTCOME_BYTES,
        }
    }
}

/// Keeps `host`'s dicts, queues, volumes and secrets on the cluster of the NATS server in
/// `settings` from now on, without making it a member: it takes no calls from the cluster and
/// offers it none. What `fnhost run --cluster` does, so that a program run on one machine
/// shares its state with every host of the cluster; [`Cluster::join`] does it too. Fails
/// when the server cannot be reached, or when the host's own store is in use already.
pub async fn share_state(host: &Host, settings: &ClusterSettings) -> Result<(), ClusterError> {
    names::check_host_name(&settings.host_name).map_err(ClusterError::HostName)?;
    let state = state::SharedState::open(
        &settings.connection,
        &settings.host_name,
        settings.request_timeout,
        host.settings().storage.dict_entry_ttl,
    )
    .await?;
    host.share_state(Arc::new(state))
        .map_err(|error| ClusterError::Setup {
            what: "the cluster's state",
            reason: error.to_string(),
        })
}

/// The machine's name and the process id: unique among the hosts of one machine.
fn default_host_name() -> String {
    let machine: String = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_else(|_| "host".into())
        .trim()
        .chars()
        .take(48)
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '_' | '-' => c,
            _ => '-',
        })
        .collect();
    format!("{machine}-{}", std::process::id())
}

/// What the host has done for the cluster, counted since it joined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// Spawned calls this host stored in the stream.
    pub spawned: u64,
    /// Calls this host sent to another host, which answered (spilled calls).
    pub spilled: u64,
    /// Calls this host took from the cluster: spawned calls it ran, calls spilled to it.
    pub taken: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) spawned: AtomicU64,
    pub(crate) spilled: AtomicU64,
    pub(crate) taken: AtomicU64,
}

/// What the cluster's tasks share.
pub(crate) struct Shared {
    pub(crate) host: Host,
    pub(crate) name: String,
    pub(crate) settings: ClusterSettings,
    pub(crate) client: async_nats::Client,
    pub(crate) jetstream: jetstream::Context,
    pub(crate) spawns: jetstream::stream::Stream,
    pub(crate) results: Results,
    pub(crate) deployments: Deployments,
    pub(crate) running: Running,
    /// The replies to the calls this host spilled.
    pub(crate) replies: spill::Replies,
    pub(crate) counters: Counters,
    /// Set when the host leaves: its spawned calls go back to the stream.
    pub(crate) leaving: watch::Sender<bool>,
}

/// A host's membership of a cluster. Dropping it stops the cluster's tasks at once;
/// [`Cluster::leave`] hands the calls running here back first.
pub struct Cluster {
    shared: Arc<Shared>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Cluster {
    /// Joins the cluster of the NATS server in `settings` (started with JetStream): makes the
    /// stream, consumer and buckets if they are missing, starts taking spawned calls and
    /// spilled calls, and routes `host`'s full pools to the other hosts. Fails when the
    /// server cannot be reached now; once joined, the host reconnects by itself.
    pub async fn join(host: Host, settings: ClusterSettings) -> Result<Cluster, ClusterError> {
        // First, so that a host whose state cannot be shared starts none of the tasks below.
        share_state(&host, &settings).await?;
        let options = async_nats::ConnectOptions::new()
            .name(format!("fnhost {}", settings.host_name))
            // A host's own offers of spilled calls never come back to it: with echo off, the
            // server hands them to another member of the queue group.
            .no_echo()
            // A spilled call sets its own wait; a request has none of its own.
            .request_timeout(None)
            .max_reconnects(None);
        let client = settings
            .connection
            .connect(options, settings.request_timeout)
            .await?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(settings.request_timeout);
        let setup = |what: &'static str| {
            move |error: &dyn std::fmt::Display| ClusterError::Setup {
                what,
                reason: error.to_string(),
            }
        };
        let spawns = jetstream
            .get_or_create_stream(spawns::stream_config(
                settings.retention,
                settings.max_waiting_spawns,
            ))
            .await
            .map_err(|error| setup(SPAWN_STREAM)(&error))?;
        jetstream
            .get_or_create_stream(results::stream_config(
                settings.retention,
                settings.max_outcomes,
                settings.max_outcome_bytes,
            ))
            .await
            .map_err(|error| setup(names::RESULTS)(&error))?;
        let results = jetstream
            .get_key_value(names::RESULTS)
            .await
            .map_err(|error| setup(names::RESULTS)(&error))?;
        let apps = jetstream
            .create_or_update_key_value(deployments::apps_config())
            .await
            .map_err(|error| setup(names::APPS)(&error))?;
        let components = jetstream
            .create_object_store(deployments::components_config())
            .await
            .map_err(|error| setup(names::COMPONENTS)(&error))?;
        let cancels = client
            .subscribe(CANCEL_SUBJECTS)
            .await
            .map_err(|error| setup("cancellations")(&error))?;
        let replies = client
            .subscribe(names::replies_of(&settings.host_name))
            .await
            .map_err(|error| setup("replies")(&error))?;
        let shared = Arc::new(Shared {
            host: host.clone(),
            name: settings.host_name.clone(),
            settings,
            client,
            jetstream,
            spawns,
            results: Results::new(results),
            deployments: Deployments { apps, components },
            running: Running::default(),
            replies: spill::Replies::default(),
            counters: Counters::default(),
            leaving: watch::Sender::new(false),
        });
        let watching = Arc::clone(&shared);
        let tasks = vec![
            tokio::spawn(spawns::work(Arc::clone(&shared))),
            tokio::spawn(spill::serve(Arc::clone(&shared))),
            tokio::spawn(hear_cancellations(Arc::clone(&shared), cancels)),
            tokio::spawn(hear_replies(Arc::clone(&shared), replies)),
            tokio::spawn(async move { watching.results.watch().await }),
        ];
        host.set_offload(Some(Arc::new(spill::Spill {
            shared: Arc::downgrade(&shared),
        })));
        tracing::info!(host = %shared.name, url = %shared.settings.connection.url, "joined the cluster");
        Ok(Cluster {
            shared,
            tasks: Mutex::new(tasks),
        })
    }

    /// This host's name in the cluster.
    pub fn host_name(&self) -> &str {
        &self.shared.name
    }

    /// Whether the connection to NATS is up now.
    pub fn is_connected(&self) -> bool {
        self.shared.client.connection_state() == async_nats::connection::State::Connected
    }

    /// What this host has done for the cluster.
    pub fn stats(&self) -> ClusterStats {
        let counters = &self.shared.counters;
        ClusterStats {
            spawned: counters.spawned.load(Ordering::Relaxed),
            spilled: counters.spilled.load(Ordering::Relaxed),
            taken: counters.taken.load(Ordering::Relaxed),
        }
    }

    /// Spawns a call of `app/function` with `args` (a JSON array, as the function takes it):
    /// returns its id once JetStream stored it. Fails with `not-found` for a function not
    /// deployed, and with `overloaded` when NATS cannot store it within the request timeout.
    pub async fn spawn(&self, app: &str, function: &str, args: Vec<u8>) -> Result<CallId, Error> {
        spawns::spawn(&self.shared, app, function, args).await
    }

    /// Spawns the call `id` of `app/function` with `args` unless a call of that id was
    /// stored within the last two minutes (JetStream's duplicate window): true when this
    /// host stored it. Hosts that all spawn the same id (a schedule's tick) store it once.
    pub async fn spawn_once(
        &self,
        app: &str,
        function: &str,
        args: Vec<u8>,
        id: CallId,
    ) -> Result<bool, Error> {
        spawns::store(&self.shared, app, function, args, id).await
    }

    /// The outcome of the spawned call `id`, waiting for it at most `wait`: `Ok(None)` while
    /// it waits for a host or runs; `not-found` for an id the cluster does not know (never
    /// spawned through it, or past its retention) and, when `app` is given, for a call of
    /// another app (the same answer: an app learns nothing of another's calls).
    pub async fn result(
        &self,
        id: CallId,
        app: Option<&str>,
        wait: Duration,
    ) -> Result<Option<Result<Vec<u8>, Error>>, Error> {
        let shared = &self.shared;
        let visible = |stored: Stored| match (app, stored) {
            (Some(app), (owner, _)) if owner.as_deref() != Some(app) => Err(not_found(id)),
            (_, (_, outcome)) => Ok(Some(outcome)),
        };
        if let Some(stored) = shared.results.get(id).await.map_err(unavailable)? {
            return visible(stored);
        }
        match self.spawned_app(id).await? {
            Some(owner) if app.is_none_or(|app| app == owner) => {}
            Some(_) => return Err(not_found(id)),
            // Stored and acked between the two reads?
            None => {
                return match shared.results.get(id).await.map_err(unavailable)? {
                    Some(stored) => visible(stored),
                    None => Err(not_found(id)),
                };
            }
        }
        match shared.results.wait(id, wait).await.map_err(unavailable)? {
            Some(stored) => visible(stored),
            None => Ok(None),
        }
    }

    /// The app of call `id` while it waits in the stream or runs (its message is there until
    /// acked); `None` when it is not there.
    async fn spawned_app(&self, id: CallId) -> Result<Option<String>, Error> {
        match self
            .shared
            .spawns
            .get_last_raw_message_by_subject(&names::spawn_subject_of_any_app(id))
            .await
        {
            Ok(message) => Ok(Some(
                wire::CallHeaders::decode(Some(&message.headers))
                    .map_or_else(|_| String::new(), |call| call.app),
            )),
            Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Cancels the spawned call `id` unless it finished: its outcome becomes `cancelled`, and
    /// the host running it (if any) stops it; no host runs it afterwards. With `app`, only a
    /// call of that app (another's is `not-found`, as an unknown one).
    pub async fn cancel(&self, id: CallId, app: Option<&str>) -> Result<(), Error> {
        let Some(owner) = self.spawned_app(id).await? else {
            return match self.shared.results.get(id).await.map_err(unavailable)? {
                Some((owner, _)) if app.is_none_or(|app| owner.as_deref() == Some(app)) => Ok(()),
                _ => Err(not_found(id)),
            };
        };
        if app.is_some_and(|app| app != owner) {
            return Err(not_found(id));
        }
        let cancelled = Err(Error::Cancelled(format!("call {id} was cancelled")));
        self.shared
            .results
            .store(id, &owner, &cancelled)
            .await
            .map_err(unavailable)?;
        self.shared.running.cancel(id);
        self.shared
            .client
            .publish(cancel_subject(id), Bytes::new())
            .await
            .map_err(unavailable)
    }

    /// Stores component `id` (its SHA-256, checked by the caller) for every host.
    pub async fn publish_component(&self, id: &str, bytes: &[u8]) -> Result<(), ClusterError> {
        self.shared.deployments.put_component(id, bytes).await
    }

    /// The bytes of component `id`, as a deploy stored them.
    pub async fn component(&self, id: &str) -> Result<Vec<u8>, ClusterError> {
        self.shared.deployments.component(id).await
    }

    /// Deploys the next version of `app` on every host: `record` makes its record from the
    /// version's number (one more than the cluster's last). Returns the number.
    pub async fn publish_deployment(
        &self,
        app: &str,
        record: impl Fn(u64) -> Vec<u8>,
    ) -> Result<u64, ClusterError> {
        self.shared.deployments.publish(app, record).await
    }

    /// Undeploys `app` from every host.
    pub async fn remove_deployment(&self, app: &str) -> Result<(), ClusterError> {
        self.shared.deployments.remove(app).await
    }

    /// The cluster's deployments: every app's last record first, then each change, for as
    /// long as the receiver is kept.
    pub fn changes(&self) -> mpsc::UnboundedReceiver<Change> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::clone(&self.shared);
        let watching = tokio::spawn(async move { shared.deployments.watch(sender).await });
        // Stopped with the cluster's other tasks.
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(watching);
        receiver
    }

    /// Leaves the cluster: the host's full pools queue again and it takes no more calls; the
    /// spawned calls running here have `grace` to finish, then go back to the stream for
    /// other hosts at once.
    pub async fn leave(&self, grace: Duration) {
        self.shared.host.set_offload(None);
        self.stop_tasks();
        let deadline = tokio::time::Instant::now() + grace;
        while self.shared.running.len() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.shared.leaving.send_replace(true);
        // Give the calls still running the moment they need to hand their messages back.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.shared.running.len() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = self.shared.client.flush().await;
    }

    fn stop_tasks(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            task.abort();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shared.host.set_offload(None);
        self.stop_tasks();
    }
}

/// Stops the calls running here that another host cancelled, and remembers the others.
async fn hear_cancellations(shared: Arc<Shared>, mut cancels: async_nats::Subscriber) {
    while let Some(message) = cancels.next().await {
        let id = message
            .subject
            .rsplit('.')
            .next()
            .and_then(|id| id.parse().ok());
        if let Some(id) = id {
            shared.running.cancel(id);
        }
    }
}

/// Hands the replies to this host's spilled calls to the calls waiting for them.
async fn hear_replies(shared: Arc<Shared>, mut replies: async_nats::Subscriber) {
    while let Some(message) = replies.next().await {
        shared.replies.heard(message);
    }
}

/// The error of an operation NATS could not do now.
fn unavailable(error: impl std::fmt::Display) -> Error {
    Error::Overloaded(format!("the cluster is unavailable: {error}"))
}

/// The answer for a call the cluster does not know, or that the asker may not see.
fn not_found(id: CallId) -> Error {
    Error::NotFound(format!(
        "no call {id} in the cluster (never spawned, or past its retention)"
    ))
}
