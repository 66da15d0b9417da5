//! Apps given as source: build a guest crate for `wasm32-wasip2` with cargo.
//!
//! `fnhost run path/to/crate` builds the crate first, as `modal run app.py` takes the source.
//! Cargo's JSON messages name the artifact, so workspaces, custom target directories and
//! renamed libraries all work. Cargo's own progress and errors go to stderr as usual.
//!
//! `fnhost run app.py::main` builds a Python file with componentize-py ([`build_python`]).

use crate::LoadError;
use cargo_metadata::Message;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod python;

pub use python::{
    COMPONENTIZE_PY_VERSION, Interpreter, PythonBuild, build_interpreter, build_python,
    sandbox_packages,
};

/// Builds the guest crate in `dir` in release mode for `wasm32-wasip2` and returns the path of
/// its component.
pub fn build_guest(dir: &Path) -> Result<PathBuf, LoadError> {
    let failed = |reason: String| LoadError::Build {
        path: dir.to_owned(),
        reason,
    };
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(failed("no Cargo.toml in this directory".into()));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|error| failed(format!("cannot run cargo: {error}")))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let manifest = manifest
        .canonicalize()
        .map_err(|error| failed(error.to_string()))?;
    let mut component = None;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message =
            message.map_err(|error| failed(format!("reading cargo's output: {error}")))?;
        if let Message::CompilerArtifact(artifact) = message
            && artifact.manifest_path.as_std_path() == manifest
            && artifact.target.is_cdylib()
        {
            component = artifact
                .filenames
                .into_iter()
                .find(|file| file.extension() == Some("wasm"))
                .map(PathBuf::from);
        }
    }
    let status = child
        .wait()
        .map_err(|error| failed(format!("waiting for cargo: {error}")))?;
    if !status.success() {
        return Err(failed(format!(
            "cargo build failed ({status}); is the target installed? \
             `rustup target add wasm32-wasip2`"
        )));
    }
    component.ok_or_else(|| {
        failed("the crate builds no cdylib; add `[lib] crate-type = [\"cdylib\"]`".into())
    })
}
