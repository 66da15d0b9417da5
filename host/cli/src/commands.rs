//! The subcommands, one module each (as wasmtime's `src/commands/`): each holds its arguments
//! and the `execute` that carries it out.
//!
//! `run`, `call`, `list` and `map` load the app here; `serve` runs the HTTP server; `secret` and
//! `volume` open the state directory's store, `dict` and `queue` too unless given a server; the others talk to a server (`--url`, `FNHOST_URL`), as `call`, `list` and `map` do when given one.

mod apps;
mod call;
mod cancel;
mod deploy;
mod get;
mod list;
mod logs;
mod map;
mod run;
mod sandbox;
mod secret;
mod serve;
mod spawn;
mod storage;
mod token;
mod undeploy;
mod volume;

use crate::settings::Settings;
use clap::Subcommand;
use std::process::ExitCode;

/// What `fnhost` was asked to do.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run a local entrypoint: `fnhost run APP[::ENTRYPOINT]` (the only one if the name is left
    /// out), and exit with its exit status.
    Run(run::RunCommand),
    /// Call one function with JSON arguments (given, or read with `--input`) and print its JSON
    /// result; with `--url`, the function of an app deployed on that server.
    Call(call::CallCommand),
    /// List the app's functions and entrypoints, with their kind and options; with `--url`,
    /// those of an app deployed on that server.
    List(list::ListCommand),
    /// Call one function once per NDJSON input line (stdin or `--input`), in parallel, and
    /// print one NDJSON result line per input, in order; with `--url`, on that server.
    Map(map::MapCommand),
    /// Run the HTTP server, with the apps given deployed, until SIGINT or SIGTERM.
    // Boxed: it has many more arguments than any other command.
    Serve(Box<serve::ServeCommand>),
    /// Deploy an app to a server (a new app, or the next version of one).
    Deploy(deploy::DeployCommand),
    /// List the apps deployed on a server.
    Apps(apps::AppsCommand),
    /// Remove a deployed app from a server.
    Undeploy(undeploy::UndeployCommand),
    /// Start a call on a server and print its id.
    Spawn(spawn::SpawnCommand),
    /// Wait for a spawned call's result and print it.
    Get(get::GetCommand),
    /// Cancel a call running on a server.
    Cancel(cancel::CancelCommand),
    /// Print a deployed app's log (its containers' output, the server's notes).
    Logs(logs::LogsCommand),
    /// Read and change the host's dicts (in the state directory's store, or `--url`'s).
    Dict(storage::DictArgs),
    /// Read and change the host's queues (in the state directory's store, or `--url`'s).
    Queue(storage::QueueArgs),
    /// Create, list and delete the host's secrets (in the state directory's store, or
    /// `--url`'s: a cluster's secrets through any of its hosts).
    Secret(secret::SecretArgs),
    /// Make, fill, read and delete the host's volumes (in the state directory's store, or
    /// `--url`'s).
    Volume(volume::VolumeArgs),
    /// List, make, run in and terminate a server's sandboxes.
    Sandbox(sandbox::SandboxArgs),
    /// Make, list and revoke a server's app tokens (each reaches one app's functions and
    /// calls).
    Token(token::TokenArgs),
}

impl Command {
    /// Carries the command out with `settings` (apps loaded here run on a host with its host
    /// settings); returns the process's exit code (an entrypoint's exit status for `run`,
    /// success for the others).
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<ExitCode> {
        let done = |()| ExitCode::SUCCESS;
        match self {
            Command::Run(command) => command.execute(settings).await,
            Command::Call(command) => command.execute(settings).await.map(done),
            Command::List(command) => command.execute(settings).await.map(done),
            Command::Map(command) => command.execute(settings).await.map(done),
            Command::Serve(command) => command.execute(settings).await.map(done),
            Command::Deploy(command) => command.execute(settings).await.map(done),
            Command::Apps(command) => command.execute(settings).await.map(done),
            Command::Undeploy(command) => command.execute(settings).await.map(done),
            Command::Spawn(command) => command.execute(settings).await.map(done),
            Command::Get(command) => command.execute(settings).await.map(done),
            Command::Cancel(command) => command.execute(settings).await.map(done),
            Command::Logs(command) => command.execute(settings).await.map(done),
            Command::Dict(command) => command.execute(settings).await.map(done),
            Command::Queue(command) => command.execute(settings).await.map(done),
            Command::Secret(command) => command.execute(settings).await.map(done),
            Command::Volume(command) => command.execute(settings).await.map(done),
            Command::Sandbox(command) => command.execute(settings).await,
            Command::Token(command) => command.execute(settings).await.map(done),
        }
    }
}
