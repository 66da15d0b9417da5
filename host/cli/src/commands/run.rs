//! `fnhost run APP[::ENTRYPOINT]`: run a local entrypoint of the app, and exit with its exit
//! status. With `--cluster URL` the program's state is the cluster's (dicts, queues, volumes
//! and secrets shared with every host there), its calls still run on this machine.
//!
//! An entrypoint that returns exits with 0; one that calls `std::process::exit(N)` ends the
//! command with N, as under `wasmtime run`, and no error is printed (0 is a success, whatever
//! the entrypoint was doing). A WASI 0.2 guest's exit says only success or failure, so a
//! Rust guest's non-zero status arrives as 1. An entrypoint that returns an error or traps is
//! an error: one line on stderr, status 1.

use crate::app_args::AppArgs;
use clap::Args;
use fnhost::HostSettings;
use fnhost_cluster::ClusterSettings;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `fnhost run`.
#[derive(Args)]
pub(crate) struct RunCommand {
    /// The app, optionally followed by `::ENTRYPOINT`.
    target: String,
    #[command(flatten)]
    app: AppArgs,
    /// Keeps the program's dicts, queues, volumes and secrets on the cluster of the NATS
    /// server at URL, shared with its hosts; the entrypoint and the calls it makes still run
    /// here (docs/storage.md).
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,
}

impl RunCommand {
    /// Loads the app, runs the entrypoint named (or its only one) and returns the exit code
    /// its exit status makes.
    pub(crate) async fn execute(self, settings: HostSettings) -> anyhow::Result<ExitCode> {
        let (path, entrypoint) = match self.target.rsplit_once("::") {
            Some((path, name)) => (PathBuf::from(path), Some(name.to_owned())),
            None => (PathBuf::from(self.target), None),
        };
        let app = self.app.load(&path, settings).await?;
        if let Some(url) = self.cluster {
            let host = app.host();
            fnhost_cluster::share_state(host, &ClusterSettings::new(url, host)).await?;
        }
        let status = app.run_entrypoint(entrypoint.as_deref()).await?;
        Ok(ExitCode::from(exit_code(status)))
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
