//! The arguments every subcommand takes to load its app (`--with`, `--option`, `--dir`,
//! `--dir-ro`, `--env`, `--allow-http`), and loading the app with them; and the components and name of an
//! app to deploy (`fnhost serve`, `fnhost deploy`).
//!
//! Invariant: a crate directory is built for `wasm32-wasip2`, and a `.py` file with
//! componentize-py, before anything loads or is sent; any other path is taken as a component
//! file.

use crate::settings;
use anyhow::bail;
use clap::Args;
use fnhost::source::{PythonBuild, build_python};
use fnhost::{App, FunctionOptions, Host, HostSettings, parse_override};
use std::collections::BTreeMap;
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
    #[command(flatten)]
    grants: GrantArgs,
}

impl AppArgs {
    /// Loads the app on a host with `settings`: `path` and every `--with`, building crate
    /// directories first.
    pub(crate) async fn load(&self, path: &Path, settings: HostSettings) -> anyhow::Result<App> {
        let components = components(path, &self.with).await?;
        let mut builder = Host::new(settings)?.app();
        for (function, option, value) in &self.options {
            let mut options = FunctionOptions::default();
            options
                .set(option, value)
                .map_err(|reason| anyhow::anyhow!("--option {function}.{option}: {reason}"))?;
            builder = builder.options(function, options);
        }
        for (host, guest, read_only) in self.grants.dirs() {
            builder = builder.dir(host, guest, read_only);
        }
        for (key, value) in last_of_each_key(&self.grants.env) {
            builder = builder.env(key, value);
        }
        for grant in &self.grants.allow_http {
            builder = builder.allow_http(grant)?;
        }
        Ok(builder.load(components.iter()).await?)
    }

    /// Fails when any of these arguments was given: they shape a local load, and `what` (a
    /// command run against a server) has none.
    pub(crate) fn refuse(&self, what: &str) -> anyhow::Result<()> {
        let given = [
            (!self.with.is_empty(), "--with"),
            (!self.options.is_empty(), "--option"),
            (!self.grants.dirs.is_empty(), "--dir"),
            (!self.grants.read_only_dirs.is_empty(), "--dir-ro"),
            (!self.grants.env.is_empty(), "--env"),
            (!self.grants.allow_http.is_empty(), "--allow-http"),
        ];
        if let Some((_, flag)) = given.iter().find(|(given, _)| *given) {
            bail!("{flag} is for an app loaded here; {what} uses the app deployed on the server");
        }
        Ok(())
    }
}

/// What the containers of an app may reach beyond WASI's defaults: host directories,
/// environment variables, outgoing HTTP.
#[derive(Args)]
pub(crate) struct GrantArgs {
    /// Grants every container the host directory HOST, read-write, as GUEST (default: the
    /// same path); repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Like `--dir`, read-only.
    #[arg(long = "dir-ro", value_name = "HOST[::GUEST]")]
    read_only_dirs: Vec<String>,
    /// Sets an environment variable in every container; repeatable (the last value given for
    /// a key wins).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Allows outgoing HTTP requests (wasi:http) to HOST (any port) or HOST:PORT, an exact
    /// host; repeatable. Without it, every outgoing request is denied.
    #[arg(long = "allow-http", value_name = "HOST[:PORT]")]
    allow_http: Vec<String>,
}

impl GrantArgs {
    /// `(host, guest, read_only)` of every directory granted, read-write ones first.
    fn dirs(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        let read_write = self.dirs.iter().map(|dir| (dir, false));
        let read_only = self.read_only_dirs.iter().map(|dir| (dir, true));
        read_write.chain(read_only).map(|(dir, read_only)| {
            let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
            (host, guest, read_only)
        })
    }
}

/// What an app is deployed with beside its components (`fnhost serve`, `fnhost deploy`):
/// grants and option overrides, kept by the server with the deployment.
#[derive(Args)]
pub(crate) struct DeployArgs {
    /// The app's grants: a directory is a path on the server's machine (a relative one is
    /// taken from here), granted only under one of the server's `--grantable-dir`.
    #[command(flatten)]
    grants: GrantArgs,
    /// Overrides a function's option in the deployment, e.g. `--option spin.timeout=5s`,
    /// `--option incoming-handler.max_containers=4` (the app's wasi:http handler); repeatable.
    #[arg(long = "option", value_name = "FUNCTION.OPTION=VALUE", value_parser = parse_override)]
    options: Vec<(String, String, String)>,
}

impl DeployArgs {
    /// The settings, as the server's API takes them.
    pub(crate) fn settings(&self) -> anyhow::Result<fnhost_client::DeploySettings> {
        let mut options: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (function, option, value) in &self.options {
            options
                .entry(function.clone())
                .or_default()
                .insert(option.clone(), value.clone());
        }
        let mut dirs = Vec::new();
        for (host, guest, read_only) in self.grants.dirs() {
            dirs.push(fnhost_client::DirSetting {
                host: std::path::absolute(host)?,
                guest: guest.to_owned(),
                read_only,
            });
        }
        // Collected in order: the last value given for a key wins.
        let env = self.grants.env.iter().cloned().collect();
        Ok(fnhost_client::DeploySettings {
            allow_http: self.grants.allow_http.clone(),
            env,
            dirs,
            options,
        })
    }
}

/// The component files of an app: what it is loaded or deployed from.
pub(crate) struct ComponentFiles {
    paths: Vec<PathBuf>,
    /// Kept until the files are read: a Python build made without a compile cache lives in a
    /// scratch directory that goes when its build is dropped.
    _python_builds: Vec<PythonBuild>,
}

impl std::ops::Deref for ComponentFiles {
    type Target = [PathBuf];

    fn deref(&self) -> &[PathBuf] {
        &self.paths
    }
}

/// The component files of `path` and of every one of `with`: crate directories and Python
/// files built first.
pub(crate) async fn components(path: &Path, with: &[PathBuf]) -> anyhow::Result<ComponentFiles> {
    let mut files = ComponentFiles {
        paths: Vec::with_capacity(1 + with.len()),
        _python_builds: Vec::new(),
    };
    for path in std::iter::once(path).chain(with.iter().map(PathBuf::as_path)) {
        if path.extension().is_some_and(|extension| extension == "py") {
            let file = path.to_owned();
            let build =
                tokio::task::spawn_blocking(move || build_python(&file, &settings::cache()))
                    .await??;
            files.paths.push(build.component().to_owned());
            files._python_builds.push(build);
        } else {
            files.paths.push(component_path(path).await?);
        }
    }
    Ok(files)
}

/// The name an app at `path` is deployed under unless given one: for a Python file that names
/// its app (`modal.App("example")`), that name, as Modal deploys it; else its crate
/// directory's name, or its file's name without the extension (`hello` for `examples/hello`
/// and for `target/wasm32-wasip2/release/hello.wasm`); for a Python file named `app.py`, the
/// name of its directory (`hello-py` for `examples/hello-py/app.py`).
pub(crate) fn app_name(path: &Path) -> anyhow::Result<String> {
    let is_python = path.extension().is_some_and(|extension| extension == "py");
    // A file that cannot be read names nothing here: the build reports why.
    let source = is_python
        .then(|| std::fs::read_to_string(path).ok())
        .flatten();
    if let Some(named) = source.as_deref().and_then(python_app_name) {
        return Ok(named);
    }
    let name = if path.is_dir() {
        // Resolved, so that `.` and `..` name the directory they stand for.
        std::fs::canonicalize(path)?
            .file_name()
            .map(std::ffi::OsStr::to_owned)
    } else if path.extension().is_some_and(|extension| extension == "py")
        && path.file_stem().is_some_and(|stem| stem == "app")
    {
        std::fs::canonicalize(path)?
            .parent()
            .and_then(Path::file_name)
            .map(std::ffi::OsStr::to_owned)
    } else {
        path.file_stem().map(std::ffi::OsStr::to_owned)
    };
    match name.as_deref().and_then(std::ffi::OsStr::to_str) {
        Some(name) => Ok(name.to_owned()),
        None => bail!("{} gives no app name: name it with --name", path.display()),
    }
}

/// The name a Python app's source gives its app: the string literal of the first
/// `App("name")` or `App(name="name")` outside a comment (`modal.App(...)`, `fnhost.App(...)`).
fn python_app_name(source: &str) -> Option<String> {
    source.match_indices("App(").find_map(|(at, _)| {
        let line_start = source[..at].rfind('\n').map_or(0, |newline| newline + 1);
        let before = &source[line_start..at];
        let joined = before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if joined || before.trim_start().starts_with('#') {
            return None;
        }
        let rest = source[at + "App(".len()..].trim_start();
        let rest = match rest.strip_prefix("name") {
            Some(keyword) => keyword.trim_start().strip_prefix('=')?.trim_start(),
            None => rest,
        };
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let literal = &rest[1..];
        let end = literal.find(quote)?;
        let name = &literal[..end];
        let plain = !name.is_empty() && !name.contains(['\\', '\n']);
        plain.then(|| name.to_owned())
    })
}

/// The component at `path`: the file itself, or the crate directory built for `wasm32-wasip2`.
///
/// Only looks at the path (`stat`), never opens it: a device or FIFO given as the app is
/// refused by the library's load, which neither reads it nor waits on it.
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

/// `KEY=VALUE`: the key is what comes before the first `=` (so it never holds one), and must
/// not be empty; neither may hold a NUL byte, which would cut the variable short in a guest's
/// C library.
fn parse_env(text: &str) -> Result<(String, String), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(format!("`{text}`: expected KEY=VALUE"));
    };
    if key.is_empty() {
        return Err(format!(
            "`{text}`: the variable has no name (expected KEY=VALUE)"
        ));
    }
    if text.contains('\0') {
        return Err(format!(
            "`{}`: a variable cannot hold a NUL byte",
            text.escape_debug()
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// The variables of `env`, one per key, with the last value given for it, in the order the
/// keys first appear: repeating `--env KEY=...` replaces the variable rather than adding a
/// second one.
fn last_of_each_key(env: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut variables: Vec<(&str, &str)> = Vec::with_capacity(env.len());
    for (key, value) in env {
        match variables.iter().position(|&(known, _)| known == key) {
            Some(at) => variables[at].1 = value.as_str(),
            None => variables.push((key.as_str(), value.as_str())),
        }
    }
    variables
}

#[cfg(test)]
mod tests {
    use super::{last_of_each_key, parse_env, python_app_name};

    #[test]
    fn a_python_app_is_named_by_its_app_literal() {
        let named = |source: &str| python_app_name(source);
        assert_eq!(
            named("app = modal.App(\"example\")\n").as_deref(),
            Some("example")
        );
        assert_eq!(named("app = App(name='x', image=i)").as_deref(), Some("x"));
        assert_eq!(
            named("app = fnhost.App(\n    \"multi\",\n)").as_deref(),
            Some("multi")
        );
        let commented = "# app = modal.App(\"old\")\napp = modal.App(\"new\")";
        assert_eq!(named(commented).as_deref(), Some("new"));
        assert_eq!(named("app = modal.App()"), None);
        assert_eq!(named("app = modal.App(image=image)"), None);
        assert_eq!(named("app = MyApp(\"x\")"), None);
        assert_eq!(named("app = modal.App(NAME)"), None);
        assert_eq!(named("app = modal.App(\"\")"), None);
    }

    #[test]
    fn a_variable_needs_a_name_and_no_nul() {
        assert_eq!(parse_env("A=b=c"), Ok(("A".to_owned(), "b=c".to_owned())));
        assert_eq!(parse_env("A="), Ok(("A".to_owned(), String::new())));
        assert!(parse_env("=x").unwrap_err().contains("no name"));
        assert!(parse_env("A").unwrap_err().contains("expected KEY=VALUE"));
        assert!(parse_env("A\0B=x").unwrap_err().contains("NUL"));
        assert!(parse_env("A=x\0").unwrap_err().contains("NUL"));
    }

    #[test]
    fn the_last_value_of_a_key_wins() {
        let env = [("A", "1"), ("B", "2"), ("A", "3")]
            .map(|(key, value)| (key.to_owned(), value.to_owned()));
        assert_eq!(last_of_each_key(&env), [("A", "3"), ("B", "2")]);
    }
}
