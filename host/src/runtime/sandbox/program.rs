//! What a process of a sandbox runs: a compiled `wasi:cli` command ([`Program`]), and where
//! programs are found by name and packages installed ([`FindProgram`], which the loading layer
//! implements: `load::programs`).
//!
//! Invariant: a program is found either among the operator's registrations or in the
//! sandbox's own directories, never elsewhere on the host (the finder's to keep); a process's
//! store holds nothing of the host but its WASI context and its limits.

use crate::Error;
use crate::runtime::sandbox::store::ProcessState;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use wasmtime::Engine;
use wasmtime_wasi::p2::bindings::CommandPre;

/// A compiled command, ready to instantiate.
pub(crate) struct Program {
    pre: CommandPre<ProcessState>,
    /// The standard library to mount at `/python` (the interpreter's).
    stdlib: Option<PathBuf>,
}

impl Program {
    /// A program instantiated from `pre`, with `stdlib` mounted at `/python` when given.
    pub(crate) fn new(pre: CommandPre<ProcessState>, stdlib: Option<PathBuf>) -> Program {
        Program { pre, stdlib }
    }

    /// This program, with `stdlib` mounted at `/python`.
    pub(crate) fn with_stdlib(self, stdlib: PathBuf) -> Program {
        Program {
            stdlib: Some(stdlib),
            ..self
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        self.pre.engine()
    }

    pub(crate) fn pre(&self) -> &CommandPre<ProcessState> {
        &self.pre
    }

    pub(crate) fn stdlib(&self) -> Option<&Path> {
        self.stdlib.as_deref()
    }
}

/// A sandbox's directories as its processes see them: host directory, guest path.
pub(crate) type Mounts = [(PathBuf, String)];

/// What `find` returns.
pub(crate) type Found<'a> = Pin<Box<dyn Future<Output = Result<Arc<Program>, Error>> + Send + 'a>>;

/// Where a host's sandboxes find their programs.
pub(crate) trait FindProgram: Send + Sync {
    /// The program `name` names for a process working in `workdir` of a sandbox with `mounts`.
    fn find<'a>(&'a self, name: &'a str, workdir: &'a str, mounts: &'a Mounts) -> Found<'a>;

    /// Makes `name` run the command component at `path` (a file of the host).
    fn register(&self, name: &str, path: PathBuf);

    /// The directory holding `requirements` (pip's spelling) installed for `python`.
    fn packages<'a>(&'a self, requirements: &'a [String]) -> Installed<'a>;
}

/// What `packages` returns.
pub(crate) type Installed<'a> = Pin<Box<dyn Future<Output = Result<PathBuf, Error>> + Send + 'a>>;
