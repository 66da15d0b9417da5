//! The apps a server deploys: loaded on its host, recorded in the manifest, each with its
//! log store.
//!
//! Invariants:
//! - Deploys and undeploys run one at a time (one lock), so manifest writes never interleave
//!   and versions count up by one.
//! - The manifest on disk is written before the host switches to a new version: after a crash
//!   the server restarts with what it last answered, or with the version before.
//! - A redeploy only swaps the app in the host's registry: calls in flight hold the old
//!   version's functions and finish there.
//! - In a cluster, the cluster counts versions: a deploy loads the app here first (so a broken
//!   one fails before any host hears of it), stores its components and record in the cluster,
//!   and installs it here under the cluster's version; every other host installs the record
//!   when it hears it ([`Apps::apply`]), fetching the components it lacks. A record already
//!   installed (this host's own deploy, heard back) is skipped.

use crate::app_logs::{AppSink, Logs};
use crate::state::StateDir;
use crate::state::components::check_id;
use crate::state::manifest::{Deployment, Manifest};
use crate::summary::{AppSummary, ClassSummary, FunctionSummary, HandlerSummary};
use crate::{DeploySettings, ServerError};
use fnhost::{App, Host};
use fnhost_cluster::{Change, Cluster};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;
use tokio::sync::watch;

/// The deployed apps of a server.
pub(crate) struct Apps {
    host: Host,
    state: StateDir,
    logs: Logs,
    /// What the manifest on disk says.
    manifest: Mutex<Manifest>,
    /// Held by a deploy or an undeploy from start to end.
    deploying: tokio::sync::Mutex<()>,
    /// The cluster the server's host is in, if any.
    cluster: Option<Arc<Cluster>>,
    /// Counts the changes of what is deployed here (deploys, undeploys, the restore).
    changed: watch::Sender<u64>,
    /// Whether the server has a token: without one, an app whose web endpoint requires it is
    /// refused (it would be served open).
    has_token: bool,
    /// The directories under which a deployment may grant one (the server's setting).
    grantable_dirs: Vec<PathBuf>,
}

impl Apps {
    /// The apps of the state at `state`, none deployed yet (see [`Apps::restore`]), on a
    /// server with a token or not (`has_token`) that grants directories under
    /// `grantable_dirs`.
    pub(crate) fn open(
        host: Host,
        state: StateDir,
        cluster: Option<Arc<Cluster>>,
        has_token: bool,
        grantable_dirs: Vec<PathBuf>,
    ) -> Result<Apps, ServerError> {
        let manifest = Manifest::read(&state.manifest_path())?;
        Ok(Apps {
            host,
            state,
            logs: Logs::default(),
            manifest: Mutex::new(manifest),
            deploying: tokio::sync::Mutex::new(()),
            cluster,
            changed: watch::Sender::new(0),
            has_token,
            grantable_dirs,
        })
    }

    /// The cluster the server's host is in, if any.
    pub(crate) fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Changes of what is deployed here: the value counts them.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn tell_changed(&self) {
        self.changed.send_modify(|count| *count += 1);
    }

    /// Every app deployed here now: its name, version, when it was deployed, and the app.
    pub(crate) fn deployed(&self) -> Vec<(String, u64, SystemTime, App)> {
        let manifest = self.manifest().clone();
        manifest
            .apps
            .into_iter()
            .filter_map(|(name, deployment)| {
                let app = self.host.deployed(&name)?;
                let at = deployment.deployed_time();
                Some((name, deployment.version, at, app))
            })
            .collect()
    }

    fn manifest(&self) -> MutexGuard<'_, Manifest> {
        self.manifest.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state directory.
    pub(crate) fn state(&self) -> &StateDir {
        &self.state
    }

    /// The apps' logs.
    pub(crate) fn logs(&self) -> &Logs {
        &self.logs
    }

    /// Deploys every app of the manifest on the host. An app that no longer loads stays in
    /// the manifest undeployed, with a warning and an event in its logs.
    pub(crate) async fn restore(&self) {
        let manifest = self.manifest().clone();
        for (name, deployment) in manifest.apps {
            let logs = self.logs.store(&name);
            let deployed = match self
                .load(&name, &deployment.components, &deployment.settings)
                .await
            {
                Ok(app) => self.host.deploy(&name, app).map_err(ServerError::from),
                Err(error) => Err(error),
            };
            match deployed {
                Ok(_) => logs.host_event(
                    None,
                    None,
                    &format!("restored version {}", deployment.version),
                ),
                Err(error) => {
                    let error = error.chain();
                    tracing::warn!(app = %name, %error, "cannot restore the app");
                    logs.host_event(
                        None,
                        None,
                        &format!("cannot restore version {}: {error}", deployment.version),
                    );
                }
            }
        }
        self.tell_changed();
    }

    /// Loads the components `ids` as the app `name` with `settings`, its output going to its
    /// logs.
    async fn load(
        &self,
        name: &str,
        ids: &[String],
        settings: &DeploySettings,
    ) -> Result<App, ServerError> {
        for id in ids {
            self.state.verify_component(id).await?;
        }
        let sink = Arc::new(AppSink::new(self.logs.store(name)));
        let paths: Vec<_> = ids.iter().map(|id| self.state.component_path(id)).collect();
        let builder = settings.apply(name, self.host.app().output(sink), &self.grantable_dirs)?;
        let app = builder
            .load(paths)
            .await
            .map_err(|source| ServerError::Load {
                app: name.to_owned(),
                source,
            })?;
        let guarded = app
            .functions()
            .iter()
            .find(|info| info.web.as_ref().is_some_and(|web| web.requires_auth));
        if let Some(info) = guarded
            && !self.has_token
        {
            return Err(ServerError::OpenEndpoint {
                app: name.to_owned(),
                function: info.name.clone(),
            });
        }
        Ok(app)
    }

    /// Deploys the uploaded components `ids` as the app `name` with `settings`: a new version
    /// when it exists. Returns the app as deployed.
    pub(crate) async fn deploy(
        &self,
        name: &str,
        ids: Vec<String>,
        settings: DeploySettings,
    ) -> Result<AppSummary, ServerError> {
        fnhost::check_app_name(name)?;
        if ids.is_empty() {
            return Err(ServerError::NoComponents);
        }
        for id in &ids {
            check_id(id)?;
            if !self.state.has_component(id) {
                return Err(ServerError::MissingComponent { sha256: id.clone() });
            }
        }
        let _deploying = self.deploying.lock().await;
        let known = self.manifest().apps.contains_key(name);
        let app = match self.load(name, &ids, &settings).await {
            Ok(app) => app,
            Err(error) => {
                if !known {
                    self.logs.remove(name);
                }
                return Err(error);
            }
        };
        let deployed_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let record = |version| Deployment {
            version,
            components: ids.clone(),
            deployed_at: deployed_at.clone(),
            settings: settings.clone(),
        };
        let version = match &self.cluster {
            None => self
                .manifest()
                .apps
                .get(name)
                .map_or(1, |previous| previous.version.saturating_add(1)),
            Some(cluster) => {
                for id in &ids {
                    let bytes = self.state.read_component(id).await?;
                    cluster.publish_component(id, &bytes).await?;
                }
                cluster
                    .publish_deployment(name, |version| {
                        serde_json::to_vec(&record(version)).unwrap_or_default()
                    })
                    .await?
            }
        };
        self.install(name, record(version), app).await
    }

    /// Records `deployment` of `name` in the manifest, then switches the host to `app`.
    async fn install(
        &self,
        name: &str,
        deployment: Deployment,
        app: App,
    ) -> Result<AppSummary, ServerError> {
        let mut next = self.manifest().clone();
        let version = deployment.version;
        next.apps.insert(name.to_owned(), deployment.clone());
        self.write_manifest(next.clone()).await?;
        self.host.deploy(name, app.clone())?;
        *self.manifest() = next;
        self.tell_changed();
        self.logs
            .store(name)
            .host_event(None, None, &format!("deployed version {version}"));
        tracing::info!(app = %name, version, "deployed");
        Ok(summary(name, &deployment, &app))
    }

    /// Applies a change of the cluster's deployments here: installs a record not installed
    /// yet (fetching its missing components from the cluster), or undeploys.
    pub(crate) async fn apply(&self, cluster: &Cluster, change: Change) {
        match change {
            Change::Removed { app } => {
                if let Err(error) = self.undeploy_here(&app).await {
                    tracing::warn!(app = %app, error = %error.chain(), "cannot undeploy");
                }
            }
            Change::Deployed { app, record } => {
                if let Err(error) = self.install_record(cluster, &app, &record).await {
                    let error = error.chain();
                    tracing::warn!(app = %app, %error, "cannot deploy what the cluster holds");
                    self.logs.store(&app).host_event(
                        None,
                        None,
                        &format!("cannot deploy the cluster's version: {error}"),
                    );
                }
            }
        }
    }

    /// Installs the record `record` of `name` heard from the cluster, unless it is installed.
    async fn install_record(
        &self,
        cluster: &Cluster,
        name: &str,
        record: &[u8],
    ) -> Result<(), ServerError> {
        fnhost::check_app_name(name)?;
        let deployment: Deployment =
            serde_json::from_slice(record).map_err(|source| ServerError::Corrupt {
                path: format!("the cluster's record of `{name}`").into(),
                source,
            })?;
        let _deploying = self.deploying.lock().await;
        let current = self.manifest().apps.get(name).cloned();
        if current.is_some_and(|current| {
            current.version == deployment.version
                && current.components == deployment.components
                && self.host.deployed(name).is_some()
        }) {
            return Ok(());
        }
        for id in &deployment.components {
            check_id(id)?;
            if !self.state.has_component(id) {
                let bytes = cluster.component(id).await?;
                let stored = self.state.store_component(&bytes).await?;
                if &stored != id {
                    return Err(ServerError::MissingComponent { sha256: id.clone() });
                }
            }
        }
        let app = self
            .load(name, &deployment.components, &deployment.settings)
            .await?;
        self.install(name, deployment, app).await.map(drop)
    }

    /// Undeploys the app `name` (from every host of the cluster, in one); false when there is
    /// none.
    pub(crate) async fn undeploy(&self, name: &str) -> Result<bool, ServerError> {
        fnhost::check_app_name(name)?;
        let Some(cluster) = &self.cluster else {
            return self.undeploy_here(name).await;
        };
        if !self.manifest().apps.contains_key(name) {
            return Ok(false);
        }
        cluster.remove_deployment(name).await?;
        // This host may have heard the removal and undeployed already.
        self.undeploy_here(name).await?;
        Ok(true)
    }

    /// Undeploys the app `name` from this host; false when there is none.
    async fn undeploy_here(&self, name: &str) -> Result<bool, ServerError> {
        fnhost::check_app_name(name)?;
        let _deploying = self.deploying.lock().await;
        let mut next = self.manifest().clone();
        if next.apps.remove(name).is_none() {
            return Ok(false);
        }
        self.write_manifest(next.clone()).await?;
        self.host.undeploy(name);
        *self.manifest() = next;
        self.tell_changed();
        self.logs.remove(name);
        tracing::info!(app = %name, "undeployed");
        Ok(true)
    }

    async fn write_manifest(&self, manifest: Manifest) -> Result<(), ServerError> {
        let path = self.state.manifest_path();
        tokio::task::spawn_blocking(move || manifest.write(&path))
            .await
            .unwrap_or_else(|error| {
                Err(ServerError::io("write", self.state.manifest_path())(
                    std::io::Error::other(error.to_string()),
                ))
            })
    }

    /// The app `name` as deployed now, with live counters.
    pub(crate) fn summary(&self, name: &str) -> Option<AppSummary> {
        let deployment = self.manifest().apps.get(name)?.clone();
        let app = self.host.deployed(name)?;
        Some(summary(name, &deployment, &app))
    }

    /// Every app deployed now, by name.
    pub(crate) fn summaries(&self) -> Vec<AppSummary> {
        let names: Vec<String> = self.manifest().apps.keys().cloned().collect();
        names.iter().filter_map(|name| self.summary(name)).collect()
    }

    /// Takes the server's apps off the host (the manifest keeps them for the next start).
    pub(crate) fn release(&self) {
        let names: Vec<String> = self.manifest().apps.keys().cloned().collect();
        for name in names {
            self.host.undeploy(&name);
        }
    }
}

/// What the API says of `app`, deployed as `deployment`.
fn summary(name: &str, deployment: &Deployment, app: &App) -> AppSummary {
    AppSummary {
        name: name.to_owned(),
        version: deployment.version,
        components: deployment.components.clone(),
        deployed_at: deployment.deployed_at.clone(),
        functions: app
            .functions()
            .iter()
            .map(|info| FunctionSummary::of(app, info, deployment.deployed_time()))
            .collect(),
        classes: app
            .classes()
            .map(|info| ClassSummary::of(app, info, deployment.deployed_time()))
            .collect(),
        http_handler: HandlerSummary::of(app),
    }
}
