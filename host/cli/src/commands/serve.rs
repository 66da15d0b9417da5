//! `fnhost serve [APP ...]`: run the HTTP server (docs/server.md) until SIGINT or SIGTERM,
//! with the apps given deployed; with `--cluster`, as one host of a cluster (docs/cluster.md).
//!
//! Invariant: the line `fnhost serving on http://ADDR` (the address actually bound, so
//! `--listen 127.0.0.1:0` tells its port) is printed on stderr once the server listens and
//! every app given is deployed, and the signal handlers are in place before it, so a signal
//! after the line always shuts the server down gracefully (exit status 0) rather than killing
//! it. A second signal during the shutdown stops waiting for it (exit status 1).

use crate::app_args::{DeployArgs, app_name, components};
use crate::cluster_args::ClusterArgs;
use crate::settings::Settings;
use anyhow::{Context, bail};
use clap::Args;
use fnhost::{Host, HostSettings};
use fnhost_cluster::ClusterSettings;
use fnhost_server::{DeploySettings, DirSetting, Server, ServerSettings};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The arguments of `fnhost serve`.
#[derive(Args)]
pub(crate) struct ServeCommand {
    /// Apps (components or guest crates) to deploy at start, each named after its Python
    /// source's `App("name")`, else its crate directory or file stem; apps deployed before (in
    /// the state directory) are kept.
    #[arg(value_name = "APP")]
    apps: Vec<PathBuf>,
    /// The name to deploy the app under (only with one APP).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Another component (or guest crate) of the app; repeatable (only with one APP).
    #[arg(long = "with", value_name = "OTHER")]
    with: Vec<PathBuf>,
    /// Grants and option overrides of the apps given here.
    #[command(flatten)]
    deploy: DeployArgs,
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7420")]
    listen: SocketAddr,
    /// Where deployed apps, their components, retained results, dicts and queues are kept
    /// (default: `$FNHOST_STATE_DIR`, else the user's data directory's `fnhost`,
    /// `~/.local/share/fnhost` on Linux).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// The operator's token, which every request must carry (`Authorization: Bearer
    /// TOKEN`; default: `FNHOST_TOKEN`); required to listen beyond loopback. Every local user
    /// sees a flag's value in the process list: prefer `--token-file` or the environment.
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    token: Option<String>,
    /// A file holding the operator's token.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Listens beyond loopback without a token.
    #[arg(long)]
    insecure_no_auth: bool,
    /// How long a call request waits for its result before answering with the call's id.
    #[arg(long, value_name = "DURATION", default_value = "150s", value_parser = humantime::parse_duration)]
    sync_timeout: Duration,
    /// How long a client may take to send a request's head, and a request's body may send
    /// nothing, before the request is cut (a sandbox process's stdin has no such limit); also
    /// how long a web request waits for its app's share.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
    /// A directory under which deployments may grant their containers host directories
    /// (`--dir`, `--dir-ro`); repeatable. The directories granted to the apps given here are
    /// grantable too. Without any, a deploy that grants a directory is refused.
    #[arg(long = "grantable-dir", value_name = "DIR")]
    grantable_dirs: Vec<PathBuf>,
    /// The web requests (`/web/...`) one app may serve at once; past it a request waits up to
    /// the request timeout, then 429 (default: half the host's container slots).
    #[arg(long, value_name = "N")]
    max_web_requests_per_app: Option<usize>,
    /// How long a shutdown lets requests and calls in flight finish.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    grace: Duration,
    /// How long a spawned call's result stays readable by id once it finished.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = humantime::parse_duration)]
    retention: Duration,
    /// With `--cluster URL`, joins the cluster of that NATS server: deployments, calls that
    /// find this host full, and spawned calls are shared with the other hosts
    /// (docs/cluster.md).
    #[command(flatten)]
    cluster: ClusterArgs,
    /// This host's name in the cluster (default: the machine's name and the process id).
    #[arg(long, value_name = "NAME", requires = "cluster")]
    host_name: Option<String>,
    /// Makes `sb.exec("NAME", ...)` run the wasi:cli command component at PATH in every
    /// sandbox; repeatable.
    #[arg(long = "sandbox-program", value_name = "NAME=PATH")]
    sandbox_programs: Vec<String>,
}

impl ServeCommand {
    /// Builds the apps given, starts the server, deploys them, and serves until a signal.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        if self.apps.len() != 1 && (self.name.is_some() || !self.with.is_empty()) {
            bail!("--name and --with name one app: give exactly one APP with them");
        }
        let mut apps = Vec::with_capacity(self.apps.len());
        for path in &self.apps {
            let name = match &self.name {
                Some(name) => name.clone(),
                None => app_name(path)?,
            };
            apps.push((name, components(path, &self.with).await?));
        }
        // The server's state directory keeps the host's dicts and queues too.
        let state_dir = match self.state_dir {
            Some(dir) => dir,
            None => settings
                .host
                .state_dir
                .clone()
                .unwrap_or_else(ServerSettings::default_state_dir),
        };
        let token =
            crate::remote_args::token(self.token.as_ref(), self.token_file.as_deref(), &settings)?;
        let host = Host::new(HostSettings {
            retention: self.retention,
            state_dir: Some(state_dir.clone()),
            ..settings.host
        })?;
        for program in &self.sandbox_programs {
            let Some((name, path)) = program.split_once('=') else {
                bail!("--sandbox-program takes NAME=PATH (got `{program}`)");
            };
            if !std::path::Path::new(path).is_file() {
                bail!("--sandbox-program {name}: no file at {path}");
            }
            host.sandboxes().register_program(name, path);
        }
        let requested = self.deploy.settings()?;
        let mut grantable_dirs = self.grantable_dirs;
        grantable_dirs.extend(requested.dirs.iter().map(|dir| dir.host.clone()));
        let deploy = DeploySettings {
            allow_http: requested.allow_http,
            env: requested.env,
            dirs: requested
                .dirs
                .into_iter()
                .map(|dir| DirSetting {
                    host: dir.host,
                    guest: dir.guest,
                    read_only: dir.read_only,
                })
                .collect(),
            options: requested.options,
        };
        let server_settings = ServerSettings {
            listen: self.listen,
            state_dir,
            token,
            insecure_no_auth: self.insecure_no_auth,
            sync_timeout: self.sync_timeout,
            grace: self.grace,
            request_timeout: self.request_timeout,
            max_web_requests_per_app: self.max_web_requests_per_app,
            grantable_dirs,
            cluster: self.cluster.connection().map(|connection| {
                let mut cluster = ClusterSettings::new(connection, &host);
                if let Some(name) = self.host_name {
                    cluster.host_name = name;
                }
                cluster
            }),
        };
        let mut signals = Signals::new()?;
        let server = Server::start(host, server_settings).await?;
        for (name, components) in &apps {
            if let Err(error) = server.deploy_files(name, components, &deploy).await {
                server.shutdown().await?;
                return Err(error).with_context(|| format!("cannot deploy `{name}`"));
            }
        }
        eprintln!("fnhost serving on http://{}", server.local_addr());
        signals.next().await;
        eprintln!("fnhost shutting down");
        tokio::select! {
            stopped = server.shutdown() => Ok(stopped?),
            () = signals.next() => bail!("interrupted while shutting down"),
        }
    }
}

/// SIGINT and SIGTERM, handled from their creation on.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        let handle = |kind| signal(kind).context("cannot handle signals");
        Ok(Signals {
            interrupt: handle(SignalKind::interrupt())?,
            terminate: handle(SignalKind::terminate())?,
        })
    }

    /// Waits for the next of either.
    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
