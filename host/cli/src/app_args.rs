//! The arguments every subcommand takes to load its app (`--with`, `--option`, `--dir`,
//! `--dir-ro`, `--env`), and loading the app with them.

use anyhow::bail;
use clap::Args;
use fnhost::{App, FunctionOptions, Host, HostSettings, parse_override};
use std::path::{Path, PathBuf};

/// How to load the app: the other components, option overrides and sandbox grants.
#[derive(Args)]
pub(crate) struct AppArgs {
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

impl AppArgs {
    /// Loads the app on a host with `settings`: `path` and every `--with`, building crate
    /// directories first.
    pub(crate) async fn load(&self, path: &Path, settings: HostSettings) -> anyhow::Result<App> {
        let mut components = Vec::new();
        for path in std::iter::once(path).chain(self.with.iter().map(PathBuf::as_path)) {
            components.push(component_path(path).await?);
        }
        let mut builder = Host::new(settings)?.app();
        for (function, option, value) in &self.options {
            let mut options = FunctionOptions::default();
            options
                .set(option, value)
                .map_err(|reason| anyhow::anyhow!("--option {function}.{option}: {reason}"))?;
            builder = builder.options(function, options);
        }
        let dirs = self.dirs.iter().map(|dir| (dir, false));
        for (dir, read_only) in dirs.chain(self.read_only_dirs.iter().map(|dir| (dir, true))) {
            let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
            builder = builder.dir(host, guest, read_only);
        }
        for (key, value) in &self.env {
            builder = builder.env(key, value);
        }
        Ok(builder.load(&components).await?)
    }
}

/// The component at `path`: the file itself, or the crate directory built for `wasm32-wasip2`.
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

/// `KEY=VALUE`.
fn parse_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}`: expected KEY=VALUE"))
}
