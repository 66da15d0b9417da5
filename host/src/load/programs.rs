//! What a sandbox can run, found by the name `exec` is given: `python` (CPython as a
//! `wasi:cli` command, built once per host), a program the operator registered by name, or a
//! `.wasm` command component inside the sandbox's own files; and the packages of a sandbox's
//! image, installed as an app's are.
//!
//! Invariant: a program is read either from the operator's registration or from the sandbox's
//! own directories, through cap-primitives, so a path (`..`, an absolute symlink a process
//! made) never reaches another file of the host. Any other name is refused with a message
//! naming it: `bash`, `node` or `apt` cannot exist in WebAssembly, and a sandbox that
//! pretended to run them would hide it.

use crate::Error;
use crate::load::MAX_COMPONENT_BYTES;
use crate::load::cache::{CompileCache, Digest};
use crate::load::component::compile_bytes;
use crate::load::source::{build_interpreter, sandbox_packages};
use crate::runtime::sandbox::program::{FindProgram, Found, Installed, Mounts, Program};
use crate::runtime::sandbox::store::ProcessState;
use crate::storage::VolumeDir;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use tokio::sync::OnceCell;
use wasmtime::Engine;
use wasmtime::component::Linker;
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p2::bindings::CommandPre;

/// The names `python` answers to.
const PYTHON_NAMES: [&str; 4] = ["python", "python3", "python3.14", "/usr/bin/python"];

/// How many compiled command components a host keeps ready, by the digest of their bytes.
const MAX_READY: usize = 64;

/// The programs of a host's sandboxes.
pub(crate) struct Programs {
    linker: Linker<ProcessState>,
    cache: CompileCache,
    python: OnceCell<Arc<Program>>,
    registered: RwLock<HashMap<String, PathBuf>>,
    ready: Mutex<HashMap<Digest, Arc<Program>>>,
}

impl Programs {
    pub(crate) fn new(engine: &Engine, cache: CompileCache) -> Result<Programs, Error> {
        Ok(Programs {
            linker: linker(engine).map_err(|error| {
                Error::Overloaded(format!("cannot set up sandboxes' programs: {error:#}"))
            })?,
            cache,
            python: OnceCell::new(),
            registered: RwLock::default(),
            ready: Mutex::default(),
        })
    }

    /// The names registered, sorted.
    fn registered(&self) -> Vec<String> {
        let registered = self
            .registered
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = registered.keys().cloned().collect();
        names.sort();
        names
    }

    async fn find_now(
        &self,
        name: &str,
        workdir: &str,
        mounts: &Mounts,
    ) -> Result<Arc<Program>, Error> {
        if PYTHON_NAMES.contains(&name) {
            return self.python().await;
        }
        let registered = self
            .registered
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned();
        if let Some(path) = registered {
            let bytes = crate::load::read_component(&path).map_err(|error| {
                Error::NotFound(format!("program `{name}` cannot be read: {error}"))
            })?;
            return self.ready(name, bytes).await;
        }
        if !name.contains('/') && !name.ends_with(".wasm") {
            return Err(self.not_runnable(name));
        }
        let bytes = read_in_sandbox(name, workdir, mounts)?;
        self.ready(name, bytes).await
    }

    /// The interpreter, built and compiled on first use.
    async fn python(&self) -> Result<Arc<Program>, Error> {
        self.python
            .get_or_try_init(|| async {
                let cache = self.cache.clone();
                let interpreter = tokio::task::spawn_blocking(move || build_interpreter(&cache))
                    .await
                    .map_err(|error| Error::Overloaded(error.to_string()))?
                    .map_err(|error| {
                        Error::Overloaded(format!("cannot build python for sandboxes: {error}"))
                    })?;
                let bytes =
                    crate::load::read_component(&interpreter.component).map_err(|error| {
                        Error::Overloaded(format!("cannot read python's component: {error}"))
                    })?;
                let program = self.compile("python", bytes).await?;
                Ok(Arc::new(program.with_stdlib(interpreter.stdlib)))
            })
            .await
            .cloned()
    }

    /// The command `bytes`, compiled now unless it is ready.
    async fn ready(&self, name: &str, bytes: Vec<u8>) -> Result<Arc<Program>, Error> {
        let digest = crate::load::cache::digest(&bytes);
        let lock = || self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(program) = lock().get(&digest) {
            return Ok(Arc::clone(program));
        }
        let program = Arc::new(self.compile(name, bytes).await?);
        let mut ready = lock();
        if ready.len() >= MAX_READY {
            ready.clear();
        }
        ready.insert(digest, Arc::clone(&program));
        Ok(program)
    }

    async fn compile(&self, name: &str, bytes: Vec<u8>) -> Result<Program, Error> {
        let engine = self.linker.engine().clone();
        let cache = self.cache.clone();
        let component = tokio::task::spawn_blocking(move || compile_bytes(&engine, &cache, &bytes))
            .await
            .map_err(|error| Error::Overloaded(error.to_string()))?
            .map_err(|error| {
                Error::BadArguments(format!(
                    "`{name}` is not a WebAssembly component: {error:#}"
                ))
            })?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(CommandPre::new)
            .map_err(|error| {
                Error::BadArguments(format!(
                    "`{name}` is not a wasi:cli command a sandbox can run (it must export \
                     wasi:cli/run and import only WASI): {error:#}"
                ))
            })?;
        Ok(Program::new(pre, None))
    }

    fn not_runnable(&self, name: &str) -> Error {
        let shown: String = name.chars().take(64).collect();
        let registered = self.registered();
        Error::NotFound(format!(
            "`{shown}` cannot run in a sandbox: a sandbox runs WebAssembly, so `python` (CPython \
             compiled to WebAssembly), a wasi:cli command component in its files \
             (`/path/tool.wasm`), or a program registered with the host ({}); native programs \
             such as `bash`, `node` or `apt` do not exist there",
            if registered.is_empty() {
                "none is".to_owned()
            } else {
                registered.join(", ")
            }
        ))
    }
}

impl FindProgram for Programs {
    fn find<'a>(&'a self, name: &'a str, workdir: &'a str, mounts: &'a Mounts) -> Found<'a> {
        Box::pin(self.find_now(name, workdir, mounts))
    }

    fn packages<'a>(&'a self, requirements: &'a [String]) -> Installed<'a> {
        Box::pin(async move {
            let cache = self.cache.clone();
            let requirements = requirements.to_vec();
            tokio::task::spawn_blocking(move || sandbox_packages(&requirements, &cache))
                .await
                .map_err(|error| Error::Overloaded(error.to_string()))?
                .map_err(|error| Error::BadArguments(format!("a sandbox's image: {error}")))
        })
    }

    fn register(&self, name: &str, path: PathBuf) {
        self.registered
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), path);
    }
}

/// The linker of processes: WASI p2, and the interpreter's `process.exit`.
fn linker(engine: &Engine) -> wasmtime::Result<Linker<ProcessState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    linker
        .instance("fnhost:interpreter/process@0.1.0")?
        .func_wrap("exit", |_, (status,): (u8,)| -> wasmtime::Result<()> {
            Err(I32Exit(i32::from(status)).into())
        })?;
    Ok(linker)
}

/// The bytes of the component at `path` in a sandbox with `mounts`, `path` taken relative to
/// `workdir` when it is not absolute; read beneath the mount that holds it, never outside.
fn read_in_sandbox(path: &str, workdir: &str, mounts: &Mounts) -> Result<Vec<u8>, Error> {
    let absolute = match path.starts_with('/') {
        true => PathBuf::from(path),
        false => Path::new(workdir).join(path),
    };
    let mut normal = PathBuf::from("/");
    for component in absolute.components() {
        match component {
            Component::Normal(part) => normal.push(part),
            Component::ParentDir => {
                normal.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let (host, guest) = mounts
        .iter()
        .filter(|(_, guest)| normal.starts_with(guest))
        .max_by_key(|(_, guest)| guest.len())
        .ok_or_else(|| Error::NotFound(format!("`{path}` is not in the sandbox's files")))?;
    let relative = normal.strip_prefix(guest).unwrap_or(&normal);
    let dir = VolumeDir::open(host, "the sandbox")
        .map_err(|error| Error::NotFound(format!("`{path}`: {error}")))?;
    dir.read(&relative.to_string_lossy(), MAX_COMPONENT_BYTES)
        .map_err(|error| Error::NotFound(format!("program `{path}` cannot be read: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_read_beneath_its_mount_only() {
        let root = tempfile::tempdir().unwrap();
        let scratch = root.path().join("scratch");
        std::fs::create_dir_all(scratch.join("bin")).unwrap();
        std::fs::write(scratch.join("bin/tool.wasm"), b"tool").unwrap();
        std::fs::write(root.path().join("secret"), b"host file").unwrap();
        std::os::unix::fs::symlink(root.path().join("secret"), scratch.join("link")).unwrap();
        let mounts = [(scratch.clone(), "/".to_owned())];
        assert_eq!(
            read_in_sandbox("/bin/tool.wasm", "/", &mounts).unwrap(),
            b"tool"
        );
        assert_eq!(
            read_in_sandbox("tool.wasm", "/bin", &mounts).unwrap(),
            b"tool"
        );
        // `..` stops at the sandbox's root; a symlink out of it is not followed.
        assert!(read_in_sandbox("../../secret", "/", &mounts).is_err());
        assert!(read_in_sandbox("/link", "/", &mounts).is_err());
    }
}
