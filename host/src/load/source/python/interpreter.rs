//! The `python` of sandboxes: CPython as a `wasi:cli` command component, built once per host
//! with componentize-py from `interpreter/fnhost_python.py`, and the standard library its
//! processes import from.
//!
//! componentize-py bundles into a component only what its build imported; the standard library
//! is on disk during the build alone. The build therefore copies it out (the module does, at
//! build time) beside the component, and a process mounts it read-only at `/python`, where the
//! build's interpreter found it: without it, `import fractions` in a sandbox fails. Both are
//! kept in the compile cache under a digest of the interpreter's sources and the
//! componentize-py that builds it; a second host finds them built.

use super::{Tool, componentize_py, unique};
use crate::LoadError;
use crate::load::CompileCache;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The interpreter's sources, as its build lays them out.
const SOURCES: &[(&str, &str)] = &[
    (
        "fnhost_python.py",
        include_str!("interpreter/fnhost_python.py"),
    ),
    ("wit/world.wit", include_str!("interpreter/world.wit")),
    ("wit/deps/cli.wit", include_str!("interpreter/deps/cli.wit")),
];

/// A built interpreter: the component, and the standard library to mount at `/python`.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// The command component.
    pub component: PathBuf,
    /// The standard library's directory.
    pub stdlib: PathBuf,
}

/// The interpreter, built now unless `cache` holds it. Without a usable cache it is built in a
/// directory of the system's temporary one, kept for the process's life.
pub fn build_interpreter(cache: &CompileCache) -> Result<Interpreter, LoadError> {
    let failed = |reason: String| LoadError::Build {
        path: PathBuf::from("python"),
        reason,
    };
    let tool = componentize_py().map_err(failed)?;
    let key = key(&tool);
    let dir = match cache.usable_dir() {
        Some(dir) => dir.join("python"),
        None => std::env::temp_dir().join("fnhost-interpreter"),
    };
    let built = Interpreter {
        component: dir.join(format!("interpreter-{key}.wasm")),
        stdlib: dir.join(format!("interpreter-{key}.stdlib")),
    };
    if built.component.is_file() && built.stdlib.is_dir() {
        return Ok(built);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|error| failed(format!("cannot create {}: {error}", dir.display())))?;
    eprintln!("building the sandboxes' python with componentize-py (once)");
    let stage = dir.join(format!(".interpreter-{key}-{}", unique()));
    let result = build(&tool.path, &stage, &built);
    let _ = std::fs::remove_dir_all(&stage);
    result.map_err(failed)?;
    Ok(built)
}

/// The digest naming a build: the sources and the tool.
fn key(tool: &Tool) -> String {
    let mut digest = blake3::Hasher::new();
    let mut field = |bytes: &[u8]| {
        digest.update(&(bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    };
    field(b"fnhost python interpreter 1");
    field(tool.identity.as_bytes());
    for (name, text) in SOURCES {
        field(name.as_bytes());
        field(text.as_bytes());
    }
    digest.finalize().to_hex()[..32].to_owned()
}

/// Builds in `stage` and moves the component and the standard library to where `built` says.
fn build(tool: &Path, stage: &Path, built: &Interpreter) -> Result<(), String> {
    let sources = stage.join("sources");
    let output = stage.join("output");
    for (relative, text) in SOURCES {
        let path = sources.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    }
    std::fs::create_dir_all(&output)
        .map_err(|error| format!("cannot create {}: {error}", output.display()))?;
    let component = stage.join("interpreter.wasm");
    // The module copies the standard library to the second path entry, mounted as `/1`.
    let result = Command::new(tool)
        .arg("-d")
        .arg(sources.join("wit"))
        .args(["-w", "interpreter", "componentize", "-p"])
        .arg(&sources)
        .arg("-p")
        .arg(&output)
        .arg("fnhost_python")
        .arg("-o")
        .arg(&component)
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .output()
        .map_err(|error| format!("cannot run componentize-py at {}: {error}", tool.display()))?;
    if !result.status.success() {
        return Err(super::build_error(&String::from_utf8_lossy(&result.stderr)));
    }
    // The library first: a component found means its library is there.
    let moved = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|error| {
            format!(
                "cannot move {} to {}: {error}",
                from.display(),
                to.display()
            )
        })
    };
    if let Err(error) = moved(&output.join("stdlib"), &built.stdlib)
        && !built.stdlib.is_dir()
    {
        return Err(error);
    }
    moved(&component, &built.component)
}
