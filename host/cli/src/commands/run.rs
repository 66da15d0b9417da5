//! `fnhost run APP[::ENTRYPOINT]`: run a local entrypoint of the app, and exit with its exit
//! status. With `--cluster URL` the program's state is the cluster's (dicts, queues, volumes
//! and secrets shared with every host there), its calls still run on this machine.
//!
//! With `--detach` the app goes to a server (`--url`, else `FNHOST_URL`, else the default):
//! deployed there under its name and a random suffix, its entrypoint run there, the app's log
//! printed as it runs; when the entrypoint returns the command exits with its status and the
//! app stays deployed, so the calls it spawned run on to their end (Modal's `modal run
//! --detach`). Without it, everything the run started ends with the command, as on Modal.
//!
//! An entrypoint that returns exits with 0; one that calls `std::process::exit(N)` ends the
//! command with N, as under `wasmtime run`, and no error is printed (0 is a success, whatever
//! the entrypoint was doing). A WASI 0.2 guest's exit says only success or failure, so a
//! Rust guest's non-zero status arrives as 1. An entrypoint that returns an error or traps is
//! an error: one line on stderr, status 1.

use crate::app_args::{AppArgs, app_name, components};
use crate::cluster_args::ClusterArgs;
use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use anyhow::bail;
use clap::Args;
use fnhost_client::{Client, LogEvent, RunEvent};
use fnhost_cluster::ClusterSettings;
use futures::StreamExt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The arguments of `fnhost run`.
#[derive(Args)]
pub(crate) struct RunCommand {
    /// The app, optionally followed by `::ENTRYPOINT`.
    target: String,
    #[command(flatten)]
    app: AppArgs,
    /// With `--cluster URL`, keeps the program's dicts, queues, volumes and secrets on the
    /// cluster of that NATS server, shared with its hosts; the entrypoint and the calls it
    /// makes still run here (docs/storage.md).
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Runs the app on a server (`--url`, else `FNHOST_URL`) and leaves it deployed there, so
    /// that the calls the entrypoint spawned run on after it returns.
    #[arg(long)]
    detach: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl RunCommand {
    /// Loads the app, runs the entrypoint named (or its only one) and returns the exit code
    /// its exit status makes.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<ExitCode> {
        let (path, entrypoint) = match self.target.rsplit_once("::") {
            Some((path, name)) => (PathBuf::from(path), Some(name.to_owned())),
            None => (PathBuf::from(&self.target), None),
        };
        if self.detach {
            if self.cluster.cluster.is_some() {
                bail!("--cluster is for a run here; --detach runs on a server");
            }
            self.app.refuse("fnhost run --detach")?;
            let client = self.remote.client(&settings)?;
            return detached(&client, &path, entrypoint.as_deref()).await;
        }
        if self.remote.given() {
            bail!("--url and --token are for `fnhost run --detach`, which runs on a server");
        }
        let app = self.app.load(&path, settings.host).await?;
        if let Some(connection) = self.cluster.connection() {
            let host = app.host();
            fnhost_cluster::share_state(host, &ClusterSettings::new(connection, host)).await?;
        }
        // The entrypoint's log, here on the terminal, already holds the traceback.
        let ran = app.run_entrypoint(entrypoint.as_deref()).await;
        let status = ran.map_err(fnhost::Error::without_traceback)?;
        Ok(ExitCode::from(exit_code(status)))
    }
}

/// Deploys the app at `path` to the server under a name of its own, runs `entrypoint` there
/// with the app's log printed, and leaves the app deployed: the exit code is the entrypoint's.
async fn detached(
    client: &Client,
    path: &Path,
    entrypoint: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let stem: String = app_name(path)?.chars().take(55).collect();
    let name = format!("{stem}-{:08x}", rand::random::<u32>());
    let files = components(path, &[]).await?;
    client.deploy(&name, &files, &Default::default()).await?;
    eprintln!("deployed `{name}`; running its entrypoint there");
    let mut events = client.run_entrypoint(&name, entrypoint).await?;
    while let Some(event) = events.next().await {
        match event? {
            RunEvent::Log(event) => print_event(&event)?,
            RunEvent::Exit(status) => {
                eprintln!(
                    "the app stays deployed as `{name}`: its spawned calls run on (`fnhost \
                     undeploy {name}` ends it)"
                );
                return Ok(ExitCode::from(exit_code(status)));
            }
        }
    }
    bail!("the server ended the run's answer before the entrypoint's exit")
}

/// Prints an event of a detached run's log: the entrypoint's own output as it wrote it, the
/// containers' lines and the server's notes prefixed with their source (to stderr).
fn print_event(event: &LogEvent) -> std::io::Result<()> {
    let message = event.message.as_deref().unwrap_or_default();
    match (event.container.as_deref(), event.stream.as_deref()) {
        (None, Some("stdout")) => writeln!(std::io::stdout().lock(), "{message}"),
        (None, Some("stderr")) => writeln!(std::io::stderr().lock(), "{message}"),
        (source, _) => writeln!(
            std::io::stderr().lock(),
            "[{}] {message}",
            source.or(event.function.as_deref()).unwrap_or("host")
        ),
    }
}

/// The process's exit code for an exit status: the status itself from 0 to 255; any other
/// (which WASI 0.2 cannot send, but wasmtime-wasi's status is an `i32`) is a failure, 1,
/// rather than whatever the operating system would keep of it (256 would read as 0).
fn exit_code(status: i32) -> u8 {
    u8::try_from(status).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::exit_code;

    #[test]
    fn statuses_past_a_byte_fail() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(3), 3);
        assert_eq!(exit_code(255), 255);
        assert_eq!(exit_code(256), 1);
        assert_eq!(exit_code(-1), 1);
    }
}
