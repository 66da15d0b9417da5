//! `fnhost serve`: a long-running host with apps deployed by name, reached over HTTP.
//!
//! A [`Server`] keeps its apps in a state directory (components by SHA-256, a manifest of
//! the deployed versions, the retained results of spawned calls), deploys them on one
//! [`fnhost::Host`], and answers the HTTP API of docs/server.md: calls (waiting, spawned,
//! mapped), deploys, logs, metrics. It stops gracefully: it stops accepting, lets what runs
//! finish within its grace, cancels the rest, and saves the retained results for the next
//! start.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let host = fnhost::Host::new(fnhost::HostSettings::default())?;
//! let server = fnhost_server::Server::start(host, Default::default()).await?;
//! server
//!     .deploy_files(
//!         "hello",
//!         &["target/wasm32-wasip2/release/hello.wasm".into()],
//!         &Default::default(),
//!     )
//!     .await?;
//! // curl -X POST localhost:7420/v1/apps/hello/functions/async_function/call  => 420
//! server.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Modules, each with one concern: `settings` (what the operator chooses), `state` (the
//! directory and its files), `apps` (deploys), `logs` (per-app events), `metrics`,
//! `spawned` (calls a shutdown waits for), `context` (what handlers share), `http` (the
//! routes), `serve` (the accept loop), `summary` (the API's view of an app), `schedules`
//! (the runs schedules start).

mod access;
mod app_logs;
mod context;
mod deploy_settings;
mod deployed_apps;
mod ephemeral;
mod error;
mod http;
mod metrics;
mod schedules;
mod serve;
mod settings;
mod spawned;
mod state;
mod summary;
mod web_limits;

pub use deploy_settings::{DeploySettings, DirSetting};
pub use error::ServerError;
pub use settings::{
    DEFAULT_GRACE, DEFAULT_LISTEN, DEFAULT_PORT, DEFAULT_SYNC_TIMEOUT, ServerSettings,
};
pub use summary::{AppSummary, FunctionSummary, HandlerSummary};

use crate::access::Access;
use crate::context::Context;
use crate::deployed_apps::Apps;
use crate::state::journal::Journal;
use crate::state::{StateDir, results};
use crate::web_limits::WebLimits;
use fnhost::{FunctionCall, Host};
use fnhost_cluster::Cluster;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long a shutdown waits for the calls it cancelled to end before it saves the results.
const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// A running server. [`Server::shutdown`] stops it gracefully, saves the retained results
/// and takes its apps off the host; dropping it only stops serving, at once (its apps stay
/// deployed on the host, and nothing is saved).
pub struct Server {
    context: Arc<Context>,
    addr: SocketAddr,
    grace: Duration,
    stop: oneshot::Sender<Instant>,
    serving: JoinHandle<()>,
    /// Applies the cluster's deployments here, when in one.
    following: Option<Task>,
    /// Fires the deployed apps' schedules.
    scheduling: Task,
}

/// A task of the server's (applying the cluster's deployments, firing schedules): stopped
/// when dropped, so that a server dropped without a shutdown leaves no task behind (it holds
/// the server's context).
struct Task(JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Server {
    /// Opens the state directory (made if missing), binds `settings.listen`, deploys the apps
    /// of the manifest on `host` and restores the retained results, then serves in a
    /// background task. Refuses a non-loopback address without a token unless
    /// `insecure_no_auth`.
    pub async fn start(host: Host, settings: ServerSettings) -> Result<Server, ServerError> {
        settings.check()?;
        let root = settings.state_dir.clone();
        let state = tokio::task::spawn_blocking(move || StateDir::open(&root))
            .await
            .map_err(|error| {
                ServerError::io("open", &settings.state_dir)(std::io::Error::other(
                    error.to_string(),
                ))
            })??;
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| ServerError::Bind {
                listen: settings.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            listen: settings.listen,
            source,
        })?;
        let cluster = match settings.cluster.clone() {
            Some(cluster) => Some(Arc::new(Cluster::join(host.clone(), cluster).await?)),
            None => None,
        };
        let has_token = settings.token.is_some();
        let apps = Apps::open(
            host.clone(),
            state.clone(),
            cluster.clone(),
            has_token,
            settings.grantable_dirs.clone(),
        )?;
        apps.restore().await;
        let journal = Journal::open(&state.journal_path(), host.settings().retention)?;
        // The journal's calls were given out after the last graceful save: both are kept.
        host.restore_calls(results::load(&state.results_path())?);
        host.restore_calls(journal.load()?);
        let journal = Arc::new(journal);
        host.set_result_journal(&(journal.clone() as Arc<dyn fnhost::ResultJournal>));
        let access = Access::open(state.tokens_path(), settings.token.as_deref())?;
        let web_requests = settings
            .max_web_requests_per_app
            .unwrap_or(host.settings().max_instances as usize / 2);
        let context = Arc::new(Context::new(
            host,
            apps,
            access,
            settings.sync_timeout,
            settings.request_timeout,
            WebLimits::new(web_requests, settings.request_timeout),
            journal,
        ));
        // The cluster's deployments, the last of each app first, then each change.
        let following = cluster.map(|cluster| {
            let mut changes = cluster.changes();
            let context = Arc::clone(&context);
            Task(tokio::spawn(async move {
                while let Some(change) = changes.recv().await {
                    context.apps.apply(&cluster, change).await;
                }
            }))
        });
        let scheduling = Task(tokio::spawn(schedules::run(Arc::clone(&context))));
        let router = http::router(Arc::clone(&context));
        let (stop, stopped) = oneshot::channel();
        let serving = tokio::spawn(serve::serve(
            listener,
            router,
            settings.request_timeout,
            stopped,
        ));
        tracing::info!(%addr, state = %state.root().display(), "serving");
        Ok(Server {
            context,
            addr,
            grace: settings.grace,
            stop,
            serving,
            following,
            scheduling,
        })
    }

    /// The address the server listens on (with the port picked, when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Deploys the components at `components` (built `.wasm` files) as the app `name`, with
    /// `settings` (outgoing HTTP grants, option overrides): stores them by SHA-256 in the
    /// state directory and records the new version in the manifest, as `PUT /v1/apps/{name}`
    /// does.
    pub async fn deploy_files(
        &self,
        name: &str,
        components: &[PathBuf],
        settings: &DeploySettings,
    ) -> Result<AppSummary, ServerError> {
        if self.context.is_stopping() {
            return Err(ServerError::ShuttingDown);
        }
        let mut ids = Vec::with_capacity(components.len());
        for path in components {
            // Read as loading reads: a regular file within the component cap, never a device
            // or FIFO, which would never end.
            let file = path.clone();
            let bytes = tokio::task::spawn_blocking(move || fnhost::read_component(&file))
                .await
                .map_err(|error| {
                    ServerError::io("read", path)(std::io::Error::other(error.to_string()))
                })?
                .map_err(|source| ServerError::Load {
                    app: name.to_owned(),
                    source,
                })?;
            ids.push(self.context.apps.state().store_component(&bytes).await?);
        }
        self.context.apps.deploy(name, ids, settings.clone()).await
    }

    /// Stops gracefully: refuses new requests, lets requests and spawned calls in flight
    /// finish within the grace period, cancels what is left, saves the retained results, and
    /// takes the server's apps off the host.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        let Server {
            context,
            grace,
            stop,
            serving,
            following,
            scheduling,
            ..
        } = self;
        let deadline = Instant::now() + grace;
        tracing::info!(grace = ?grace, "shutting down");
        context.begin_stopping();
        drop(scheduling);
        // Their processes end now: their output streams end with them.
        context.host.sandboxes().shutdown().await;
        // The loop may have ended already (its task panicked): nothing more to stop then.
        let _ = stop.send(deadline);
        let _ = serving.await;
        drop(following);
        if let Some(cluster) = context.apps.cluster() {
            cluster
                .leave(deadline.saturating_duration_since(Instant::now()))
                .await;
        }
        if tokio::time::timeout_at(deadline, context.spawned.wait_empty())
            .await
            .is_err()
        {
            let left = context.spawned.ids();
            tracing::warn!(calls = left.len(), "cancelling the calls still running");
            for id in left {
                if let Ok(call) =
                    FunctionCall::<serde_json::Value>::from_id(&context.host, &id.to_string())
                {
                    call.cancel();
                }
            }
            let _ = tokio::time::timeout(CANCEL_WAIT, context.spawned.wait_empty()).await;
        }
        let retained = context.host.retained_calls();
        let path = context.apps.state().results_path();
        let saved = tokio::task::spawn_blocking(move || results::save(&path, &retained))
            .await
            .map_err(|error| {
                ServerError::io("write", context.apps.state().results_path())(
                    std::io::Error::other(error.to_string()),
                )
            })
            .and_then(|saved| saved);
        // Everything the journal held is in the saved set now.
        let saved = saved.and_then(|()| context.journal.clear());
        context.apps.release();
        saved
    }
}
