//! `fnhost`: run an app's local entrypoint, call one of its functions, list what it holds.
//!
//! `APP` is a component (`.wasm`) or a guest crate directory, which is built for
//! `wasm32-wasip2` first. Errors print one line on stderr and exit non-zero.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use fnhost::{App, BodyKind, FunctionInfo, FunctionOptions, parse_override};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

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

#[derive(Subcommand)]
enum Command {
    /// Run a local entrypoint: `fnhost run APP[::ENTRYPOINT]` (the only one if the name is left
    /// out).
    Run {
        /// The app, optionally followed by `::ENTRYPOINT`.
        target: String,
        #[command(flatten)]
        app: AppArgs,
    },
    /// Call one function with JSON arguments and print its JSON result.
    Call {
        /// The app.
        app_path: PathBuf,
        /// The function's name.
        function: String,
        /// The arguments: the value itself for a one-parameter function, a JSON array for
        /// several, nothing (or `[]`) for none.
        args: Option<String>,
        /// Overrides the function's timeout for this call (e.g. `2s`, `500ms`, `1m`).
        #[arg(long, value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
        /// Overrides the function's retries for this call.
        #[arg(long)]
        retries: Option<u32>,
        #[command(flatten)]
        app: AppArgs,
    },
    /// List the app's functions and entrypoints, with their kind and options.
    List {
        /// The app.
        app_path: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        app: AppArgs,
    },
}

#[derive(Args)]
struct AppArgs {
    /// Another component (or guest crate) to load into the same app; repeatable.
    #[arg(long = "with", value_name = "OTHER")]
    with: Vec<PathBuf>,
    /// Overrides a function's option for this run, e.g. `--option spin.timeout=5s`,
    /// `--option worker.max_containers=4`; repeatable.
    #[arg(long = "option", value_name = "FUNCTION.OPTION=VALUE", value_parser = parse_override)]
    options: Vec<(String, String, String)>,
    /// Grants every container the host directory HOST, read-write, as GUEST (default: the
    /// same path); repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Like `--dir`, read-only.
    #[arg(long = "dir-ro", value_name = "HOST[::GUEST]")]
    read_only_dirs: Vec<String>,
    /// Sets an environment variable in every container; repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
}

/// `KEY=VALUE`.
fn parse_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}`: expected KEY=VALUE"))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FNHOST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
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
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run { target, app } => {
            let (path, entrypoint) = match target.rsplit_once("::") {
                Some((path, name)) => (PathBuf::from(path), Some(name.to_owned())),
                None => (PathBuf::from(target), None),
            };
            let app = load(&path, &app).await?;
            app.run_entrypoint(entrypoint.as_deref()).await?;
        }
        Command::Call {
            app_path,
            function,
            args,
            timeout,
            retries,
            app,
        } => {
            let app = load(&app_path, &app).await?;
            let function = app.function(&function)?.with_options(FunctionOptions {
                timeout,
                retries,
                ..FunctionOptions::default()
            })?;
            let args = arguments(function.info(), args.as_deref())?;
            let result = function.remote_raw(args).await?;
            let result: serde_json::Value =
                serde_json::from_slice(&result).context("the function returned invalid JSON")?;
            println!("{result}");
        }
        Command::List {
            app_path,
            json,
            app,
        } => {
            let app = load(&app_path, &app).await?;
            let entrypoints: Vec<&FunctionInfo> = app.entrypoints().collect();
            if json {
                let listing = serde_json::json!({
                    "functions": app.functions(),
                    "entrypoints": entrypoints,
                });
                println!("{listing:#}");
            } else {
                print_table(app.functions(), &entrypoints);
            }
        }
    }
    Ok(())
}

/// Loads the app: `path` and every `--with`, building crate directories first.
async fn load(path: &Path, args: &AppArgs) -> anyhow::Result<App> {
    let mut components = Vec::new();
    for path in std::iter::once(path).chain(args.with.iter().map(PathBuf::as_path)) {
        components.push(component_path(path).await?);
    }
    let mut builder = App::builder();
    for (function, option, value) in &args.options {
        let mut options = FunctionOptions::default();
        options
            .set(option, value)
            .map_err(|reason| anyhow::anyhow!("--option {function}.{option}: {reason}"))?;
        builder = builder.options(function, options);
    }
    let dirs = args.dirs.iter().map(|dir| (dir, false));
    for (dir, read_only) in dirs.chain(args.read_only_dirs.iter().map(|dir| (dir, true))) {
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
        builder = builder.dir(host, guest, read_only);
    }
    for (key, value) in &args.env {
        builder = builder.env(key, value);
    }
    Ok(builder.load(&components).await?)
}

async fn component_path(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_dir() {
        let dir = path.to_owned();
        return Ok(tokio::task::spawn_blocking(move || fnhost::source::build_guest(&dir)).await??);
    }
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    Ok(path.to_owned())
}

/// The JSON array of arguments for `function`, from what was given on the command line.
fn arguments(function: &FunctionInfo, given: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let name = &function.name;
    let value: serde_json::Value = match given {
        Some(text) => serde_json::from_str(text)
            .with_context(|| format!("the arguments for `{name}` are not valid JSON"))?,
        None => serde_json::Value::Array(Vec::new()),
    };
    let args = match (function.params.len(), value) {
        (1, value) => serde_json::Value::Array(vec![value]),
        (0, serde_json::Value::Null) => serde_json::Value::Array(Vec::new()),
        (_, serde_json::Value::Array(values)) => serde_json::Value::Array(values),
        (count, _) => bail!(
            "`{name}` takes {count} arguments ({}): pass them as a JSON array",
            function.params.join(", ")
        ),
    };
    Ok(serde_json::to_vec(&args)?)
}

fn print_table(functions: &[FunctionInfo], entrypoints: &[&FunctionInfo]) {
    let kind = |info: &FunctionInfo| match info.kind {
        BodyKind::Blocking => "blocking",
        BodyKind::Async => "async",
    };
    println!(
        "FUNCTION\tKIND\tINPUTS (TARGET/MAX)\tCONTAINERS (MIN/BUFFER/MAX)\tSCALEDOWN\tTIMEOUT\t\
         MEMORY\tCPU\tRETRIES (INITIAL x COEFFICIENT, MAX)\tPARAMS"
    );
    for info in functions {
        let config = &info.config;
        let cpu = match config.cpu_millicores {
            0 => "unlimited".to_owned(),
            millicores => format!("{}", f64::from(millicores) / 1000.0),
        };
        println!(
            "{}\t{}\t{}/{}\t{}/{}/{}\t{}s\t{}s\t{}MiB\t{cpu}\t{} ({}ms x {}, {}ms)\t({})",
            info.name,
            kind(info),
            config.target_inputs,
            config.max_inputs,
            config.min_containers,
            config.buffer_containers,
            config.max_containers,
            config.scaledown_window_secs,
            config.timeout_secs,
            config.memory_mib,
            config.retries,
            config.retry_delay_ms,
            config.backoff_coefficient,
            config.max_retry_delay_ms,
            info.params.join(", ")
        );
    }
    if !entrypoints.is_empty() {
        println!("\nLOCAL ENTRYPOINT\tKIND");
        for info in entrypoints {
            println!("{}\t{}", info.name, kind(info));
        }
    }
}
