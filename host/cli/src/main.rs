//! `fnhost`: run an app's local entrypoint, call one of its functions, list what it holds;
//! serve apps over HTTP, and deploy to and call a server.
//!
//! `APP` is a component (`.wasm`) or a guest crate directory, which is built for
//! `wasm32-wasip2` first (for a command run against a server, the deployed app's name). Errors print one line on stderr and exit with status 1; `fnhost run`
//! otherwise exits with its entrypoint's exit status (0 when it returned).
//!
//! This file parses the command line, sets up logging and the async runtime, and reports the
//! outcome; each subcommand lives in a module of [`commands`].

mod app_args;
mod cluster_args;
mod commands;
mod remote_args;
mod settings;

use clap::Parser;
use commands::Command;
use std::io::IsTerminal;
use std::process::ExitCode;

/// Small, short-lived allocations on every call: see the `mimalloc` feature in Cargo.toml.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A WebAssembly function host: sandboxed containers, blocking and async calls.
#[derive(Parser)]
#[command(name = "fnhost", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(settings::log_filter())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.command.execute(settings::from_env())) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
