//! The subcommands, one module each (as wasmtime's `src/commands/`): each holds its arguments
//! and the `execute` that carries it out.

mod call;
mod list;
mod run;

use clap::Subcommand;
use fnhost::HostSettings;
use std::process::ExitCode;

/// What `fnhost` was asked to do.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run a local entrypoint: `fnhost run APP[::ENTRYPOINT]` (the only one if the name is left
    /// out), and exit with its exit status.
    Run(run::RunCommand),
    /// Call one function with JSON arguments (given, or read with `--input`) and print its JSON
    /// result.
    Call(call::CallCommand),
    /// List the app's functions and entrypoints, with their kind and options.
    List(list::ListCommand),
}

impl Command {
    /// Carries the command out, loading its app on a host with `settings`; returns the
    /// process's exit code (an entrypoint's exit status for `run`, success for the others).
    pub(crate) async fn execute(self, settings: HostSettings) -> anyhow::Result<ExitCode> {
        match self {
            Command::Run(command) => command.execute(settings).await,
            Command::Call(command) => command.execute(settings).await.map(|()| ExitCode::SUCCESS),
            Command::List(command) => command.execute(settings).await.map(|()| ExitCode::SUCCESS),
        }
    }
}
