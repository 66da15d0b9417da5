//! `fnhost sandbox ...`: a server's sandboxes (Modal's `modal container`/`Sandbox`), through
//! its HTTP API: listed, made, run in, terminated.
//!
//! Invariant: `exec` passes this command's stdin to the process, and the process's stdout and
//! stderr back, as they come, and exits with the process's exit code, so a sandboxed command
//! composes in a shell as a local one.

use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use anyhow::Context;
use clap::{Args, Subcommand};
use fnhost_client::{ByteStream, ExecRequest, SandboxRequest};
use futures::StreamExt;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// `fnhost sandbox [--url URL] ...`.
#[derive(Args)]
pub(crate) struct SandboxArgs {
    #[command(subcommand)]
    command: SandboxCommand,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// `fnhost sandbox`: what to do.
#[derive(Subcommand)]
enum SandboxCommand {
    /// List the sandboxes alive: id, app, processes running and started, age.
    List {
        /// Ended sandboxes too (those the server keeps), with their exit.
        #[arg(long)]
        all: bool,
    },
    /// Make a sandbox and print its id.
    Create {
        /// The app it belongs to.
        #[arg(long)]
        app: Option<String>,
        /// Its lifetime.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
        /// How long it may stay idle.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        idle_timeout: Option<Duration>,
        /// Its memory limit, in MiB.
        #[arg(long, value_name = "MIB")]
        memory: Option<u64>,
    },
    /// Run a command in the sandbox ID, passing its output through; exits with its code.
    Exec {
        id: String,
        /// The program and its arguments (`python -c CODE`, `/path/tool.wasm ARGS`).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Terminate the sandbox ID.
    Terminate { id: String },
}

impl SandboxArgs {
    /// Carries the command out on the server.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<ExitCode> {
        let client = self.remote.client(&settings)?;
        match self.command {
            SandboxCommand::List { all } => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| since.as_secs());
                for sandbox in client.sandboxes(all).await? {
                    let age = Duration::from_secs(now.saturating_sub(sandbox.created));
                    let state = match &sandbox.exit {
                        Some(exit) => format!("ended {} ({})", exit.code, exit.reason),
                        None => format!("{} running", sandbox.running),
                    };
                    println!(
                        "{}\t{}\t{}\t{} started\t{} ago",
                        sandbox.id,
                        sandbox.app.as_deref().unwrap_or("-"),
                        state,
                        sandbox.started,
                        humantime::format_duration(age)
                    );
                }
            }
            SandboxCommand::Create {
                app,
                timeout,
                idle_timeout,
                memory,
            } => {
                let request = SandboxRequest {
                    app,
                    timeout: timeout.map(|timeout| timeout.as_secs_f64()),
                    idle_timeout: idle_timeout.map(|idle| idle.as_secs_f64()),
                    memory,
                    ..SandboxRequest::default()
                };
                println!("{}", client.create_sandbox(&request).await?.id());
            }
            SandboxCommand::Exec { id, command } => {
                let args: Vec<&str> = command.iter().map(String::as_str).collect();
                let process = client
                    .sandbox(&id)
                    .exec(&args, &ExecRequest::default())
                    .await?;
                // This command's stdin is the process's, as it comes.
                tokio::spawn(pass_stdin(process.clone()));
                let (out, err) = tokio::join!(
                    pass(process.stdout().await?, std::io::stdout()),
                    pass(process.stderr().await?, std::io::stderr())
                );
                out.and(err)?;
                let exit = process.wait().await?;
                if let Some(message) = exit.message {
                    eprintln!("fnhost: {} ({message})", exit.reason);
                }
                return Ok(ExitCode::from(u8::try_from(exit.code).unwrap_or(1)));
            }
            SandboxCommand::Terminate { id } => {
                client.sandbox(&id).terminate().await?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Copies this command's stdin to the process's, then closes it; a process that ended (or
/// stopped reading) ends the copy.
async fn pass_stdin(process: fnhost_client::SandboxProcess) {
    use tokio::io::AsyncReadExt;
    let mut stdin = tokio::io::stdin();
    let mut piece = vec![0u8; 64 << 10];
    loop {
        // An unreadable stdin ends the process's as an end of file does.
        let read: usize = stdin.read(&mut piece).await.unwrap_or_default();
        let sent = process.write_stdin(piece[..read].to_vec(), read == 0).await;
        if read == 0 || sent.is_err() {
            return;
        }
    }
}

/// Copies `stream` to `out` as it comes.
async fn pass(mut stream: ByteStream, mut out: impl Write) -> anyhow::Result<()> {
    while let Some(bytes) = stream.next().await {
        let bytes = bytes?;
        out.write_all(&bytes)
            .and_then(|()| out.flush())
            .context("cannot write the output")?;
    }
    Ok(())
}
