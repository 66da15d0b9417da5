//! Apps written in Python: `app.py` built into a component with componentize-py.
//!
//! `fnhost run app.py::main` builds the file first, as a crate directory is built. The build
//! puts the app's directory and the Python SDK (`guest-sdk/python`, carried inside this
//! binary with the contract's WIT, so a build always matches the host that runs it) on the
//! Python path, with a main module that imports the app's module and the SDK's export. The
//! component is kept under the compile cache directory (`python/`), named by a digest of
//! everything it is built from: every `.py` file under the app's directory, the SDK, the WIT,
//! the module's name and the componentize-py that builds it (its path, size, inode and
//! modification time, so reinstalling it rebuilds once). A second run with nothing changed
//! does not rebuild; a changed source does. Without the digest covering all of them, an
//! edited helper module or a new SDK would run stale code.
//!
//! componentize-py is found, in this order, at `$FNHOST_COMPONENTIZE_PY`, in the project's
//! virtual environment (`guest-sdk/python/.venv`, made by the README's set-up command), and
//! on `PATH`.

mod interpreter;
mod packages;

use crate::LoadError;
use crate::load::CompileCache;
pub use interpreter::{Interpreter, build_interpreter};

/// `requirements` installed for a sandbox's `python` (see `packages::install_requirements`).
pub fn sandbox_packages(
    requirements: &[String],
    cache: &CompileCache,
) -> Result<PathBuf, LoadError> {
    let failed = |reason: String| LoadError::Build {
        path: PathBuf::from("sandbox image"),
        reason,
    };
    let tool = componentize_py().map_err(failed)?;
    packages::install_requirements(requirements, &tool.path, cache).map_err(failed)
}
use packages::Packages;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The componentize-py release the SDK is written for; the set-up command installs it.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The Python SDK's files, as the build lays them out.
const SDK: &[(&str, &str)] = &[
    (
        "fnhost/__init__.py",
        include_str!("../../../../guest-sdk/python/fnhost/__init__.py"),
    ),
    (
        "fnhost/_app.py",
        include_str!("../../../../guest-sdk/python/fnhost/_app.py"),
    ),
    (
        "fnhost/_cls.py",
        include_str!("../../../../guest-sdk/python/fnhost/_cls.py"),
    ),
    (
        "fnhost/_current.py",
        include_str!("../../../../guest-sdk/python/fnhost/_current.py"),
    ),
    (
        "fnhost/_export.py",
        include_str!("../../../../guest-sdk/python/fnhost/_export.py"),
    ),
    (
        "fnhost/_image.py",
        include_str!("../../../../guest-sdk/python/fnhost/_image.py"),
    ),
    (
        "fnhost/_function.py",
        include_str!("../../../../guest-sdk/python/fnhost/_function.py"),
    ),
    (
        "fnhost/_phase.py",
        include_str!("../../../../guest-sdk/python/fnhost/_phase.py"),
    ),
    (
        "fnhost/_sandbox.py",
        include_str!("../../../../guest-sdk/python/fnhost/_sandbox.py"),
    ),
    (
        "fnhost/_schedule.py",
        include_str!("../../../../guest-sdk/python/fnhost/_schedule.py"),
    ),
    (
        "fnhost/_secret.py",
        include_str!("../../../../guest-sdk/python/fnhost/_secret.py"),
    ),
    (
        "fnhost/_storage.py",
        include_str!("../../../../guest-sdk/python/fnhost/_storage.py"),
    ),
    (
        "fnhost/_volume.py",
        include_str!("../../../../guest-sdk/python/fnhost/_volume.py"),
    ),
    (
        "fnhost/_time.py",
        include_str!("../../../../guest-sdk/python/fnhost/_time.py"),
    ),
    (
        "fnhost/_webapp.py",
        include_str!("../../../../guest-sdk/python/fnhost/_webapp.py"),
    ),
    (
        "fnhost/_wire.py",
        include_str!("../../../../guest-sdk/python/fnhost/_wire.py"),
    ),
    (
        "fnhost/exception.py",
        include_str!("../../../../guest-sdk/python/fnhost/exception.py"),
    ),
    (
        "fnhost/container_process.py",
        include_str!("../../../../guest-sdk/python/fnhost/container_process.py"),
    ),
    (
        "fnhost/dict.py",
        include_str!("../../../../guest-sdk/python/fnhost/dict.py"),
    ),
    (
        "fnhost/functions.py",
        include_str!("../../../../guest-sdk/python/fnhost/functions.py"),
    ),
    (
        "fnhost/queue.py",
        include_str!("../../../../guest-sdk/python/fnhost/queue.py"),
    ),
    ("wit/fnhost.wit", include_str!("../../../../wit/fnhost.wit")),
];

/// The main module the build generates; an app's module may not take its name.
const MAIN_MODULE: &str = "fnhost_component";

/// The most source files, and bytes of them, a build hashes: an app file in a directory that
/// holds a whole tree (a home directory) is refused rather than read through.
const MAX_SOURCE_FILES: usize = 10_000;
const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// A built Python app: its component, and the scratch directory to remove when there is no
/// compile cache to keep it in.
#[derive(Debug)]
pub struct PythonBuild {
    component: PathBuf,
    scratch: Option<PathBuf>,
}

impl PythonBuild {
    /// The component file.
    pub fn component(&self) -> &Path {
        &self.component
    }
}

impl Drop for PythonBuild {
    fn drop(&mut self) {
        if let Some(scratch) = &self.scratch {
            let _ = std::fs::remove_dir_all(scratch);
        }
    }
}

/// Builds the Python app `file` (`app.py`) into a component, or finds it built in `cache`.
pub fn build_python(file: &Path, cache: &CompileCache) -> Result<PythonBuild, LoadError> {
    let failed = |reason: String| LoadError::Build {
        path: file.to_owned(),
        reason,
    };
    if !file.is_file() {
        return Err(failed("no such Python file".into()));
    }
    let module = module_name(file).map_err(failed)?;
    let dir = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let tool = componentize_py().map_err(failed)?;
    let mut sources = Vec::new();
    collect_sources(&dir, &dir, &mut sources).map_err(failed)?;
    sources.sort();
    let names: Vec<String> = sources.iter().map(|(name, _)| name.clone()).collect();
    let packages = packages::prepare(&dir, &names, &tool.path, cache).map_err(failed)?;
    let key = build_key(&module, &tool, &sources, &packages.digest).map_err(failed)?;
    let (out_dir, scratch) = match cache.usable_dir() {
        Some(dir) => (dir.join("python"), None),
        None => {
            let scratch = std::env::temp_dir().join(format!("fnhost-python-{}", unique()));
            (scratch.clone(), Some(scratch))
        }
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&out_dir)
        .map_err(|error| failed(format!("cannot create {}: {error}", out_dir.display())))?;
    let component = out_dir.join(format!("{key}.wasm"));
    let build = PythonBuild { component, scratch };
    if build.component.is_file() {
        return Ok(build);
    }
    eprintln!(
        "building {} with componentize-py ({})",
        file.display(),
        tool.path.display()
    );
    let stage = out_dir.join(format!(".build-{key}-{}", unique()));
    let result = componentize(
        &tool.path,
        &dir,
        &module,
        &packages,
        &stage,
        &build.component,
    );
    let _ = std::fs::remove_dir_all(&stage);
    result.map_err(failed)?;
    Ok(build)
}

/// The module `file` is imported as: its name without `.py`, a Python identifier.
fn module_name(file: &Path) -> Result<String, String> {
    let stem = file
        .file_stem()
        .and_then(|stem| stem.to_str())
        .filter(|_| file.extension().is_some_and(|extension| extension == "py"))
        .ok_or("a Python app is a `.py` file")?;
    let identifier = stem
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_alphabetic())
        && stem.chars().all(|c| c == '_' || c.is_alphanumeric());
    if !identifier {
        return Err(format!(
            "`{stem}` is not a Python module name: rename the file"
        ));
    }
    if stem == MAIN_MODULE || stem == "fnhost" {
        return Err(format!(
            "`{stem}.py` would hide fnhost's own module: rename the file"
        ));
    }
    Ok(stem.to_owned())
}

/// The componentize-py executable, and what identifies the installation.
struct Tool {
    path: PathBuf,
    identity: String,
}

fn componentize_py() -> Result<Tool, String> {
    // The workspace root is the host crate's parent.
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("/"))
        .join("guest-sdk/python/.venv/bin/componentize-py");
    let path = match std::env::var_os("FNHOST_COMPONENTIZE_PY").filter(|path| !path.is_empty()) {
        Some(path) => PathBuf::from(path),
        None if venv.is_file() => venv,
        None => on_path("componentize-py").ok_or_else(|| {
            format!(
                "componentize-py is not installed: run the README's set-up command (it \
                 installs componentize-py {COMPONENTIZE_PY_VERSION} into guest-sdk/python/.venv), \
                 or set FNHOST_COMPONENTIZE_PY"
            )
        })?,
    };
    let metadata = std::fs::metadata(&path)
        .map_err(|error| format!("cannot use componentize-py at {}: {error}", path.display()))?;
    let identity = format!(
        "{}:{}:{}:{}.{}",
        path.display(),
        metadata.len(),
        metadata.ino(),
        metadata.mtime(),
        metadata.mtime_nsec()
    );
    Ok(Tool { path, identity })
}

fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The digest of everything the component is built from, in hexadecimal: the main module the
/// build generates, `sources` the app's `.py` files (relative name and path, in order),
/// `packages` the digest of its images' packages.
fn build_key(
    module: &str,
    tool: &Tool,
    sources: &[(String, PathBuf)],
    packages: &str,
) -> Result<String, String> {
    let mut digest = blake3::Hasher::new();
    let mut field = |bytes: &[u8]| {
        digest.update(&(bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    };
    field(b"fnhost python build 3");
    field(module.as_bytes());
    field(main_module(module, "", "", "").as_bytes());
    field(tool.identity.as_bytes());
    field(packages.as_bytes());
    for (name, text) in SDK {
        field(name.as_bytes());
        field(text.as_bytes());
    }
    let mut total = 0;
    for (relative, path) in sources {
        // Read no further than the budget left: a huge file (or a link to one) is refused
        // without being read whole.
        let mut text = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| {
                file.take(MAX_SOURCE_BYTES - total + 1)
                    .read_to_end(&mut text)
            })
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        total += text.len() as u64;
        if total > MAX_SOURCE_BYTES {
            return Err(format!(
                "the app directory's `.py` files hold more than {} MiB: put the app in a \
                 directory of its own",
                MAX_SOURCE_BYTES >> 20
            ));
        }
        field(relative.as_bytes());
        field(&text);
    }
    Ok(digest.finalize().to_hex().to_string())
}

/// Every `.py` file under `dir` (hidden directories, `__pycache__`, virtual environments —
/// a directory holding `pyvenv.cfg`, as `python -m venv` makes one in a project — and
/// symbolic links to directories skipped), by its path relative to `root`.
fn collect_sources(
    root: &Path,
    dir: &Path,
    sources: &mut Vec<(String, PathBuf)>,
) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry
            .file_type()
            .map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
        let path = entry.path();
        if kind.is_dir() {
            let environment = path.join("pyvenv.cfg").is_file();
            if !name.starts_with('.') && name != "__pycache__" && !environment {
                collect_sources(root, &path, sources)?;
            }
        } else if name.ends_with(".py") && path.is_file() {
            if sources.len() == MAX_SOURCE_FILES {
                return Err(format!(
                    "more than {MAX_SOURCE_FILES} `.py` files under {}: put the app in a \
                     directory of its own",
                    root.display()
                ));
            }
            let relative = path.strip_prefix(root).unwrap_or(&path);
            sources.push((relative.to_string_lossy().into_owned(), path));
        }
    }
    Ok(())
}

/// The codecs a build loads (a component has no files to load one from later): Unicode's,
/// the web's (IDNA for host names, Latin-1 and cp1252 for headers), and the binary ones.
const CODECS: [&str; 16] = [
    "ascii",
    "latin-1",
    "cp1252",
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "idna",
    "punycode",
    "unicode-escape",
    "raw-unicode-escape",
    "base64",
    "hex",
    "rot13",
];

/// The modules pip installed at the top of `dir`: its packages (directories named as Python
/// names, `.dist-info` and `bin` left out) and its single-file modules.
fn top_level_modules(dir: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    let mut modules = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = match path.is_dir() {
            true => path.file_name(),
            false if path.extension().is_some_and(|extension| extension == "py") => {
                path.file_stem()
            }
            false => None,
        };
        let Some(name) = name.and_then(|name| name.to_str()) else {
            continue;
        };
        let identifier = !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if identifier && name != "bin" && name != "__pycache__" {
            modules.push(name.to_owned());
        }
    }
    modules.sort();
    Ok(modules)
}

/// Runs componentize-py in a staging directory and moves the component to `component`.
fn componentize(
    tool: &Path,
    dir: &Path,
    module: &str,
    packages: &Packages,
    stage: &Path,
    component: &Path,
) -> Result<(), String> {
    let write = |relative: &str, text: &str| -> Result<(), String> {
        let path = stage.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
    };
    for (relative, text) in SDK {
        write(relative, text)?;
    }
    // A JSON list of strings is a Python literal.
    let requirements = serde_json::to_string(&packages.requirements)
        .map_err(|error| format!("cannot write the requirements: {error}"))?;
    let imports = serde_json::to_string(&packages.imports)
        .map_err(|error| format!("cannot write the imports: {error}"))?;
    let installed = match &packages.dir {
        Some(dir) => top_level_modules(dir)?,
        None => Vec::new(),
    };
    let installed = serde_json::to_string(&installed)
        .map_err(|error| format!("cannot write the packages' modules: {error}"))?;
    write(
        &format!("{MAIN_MODULE}.py"),
        &main_module(module, &requirements, &imports, &installed),
    )?;
    let built = stage.join("component.wasm");
    let mut command = Command::new(tool);
    command
        .arg("-d")
        .arg(stage.join("wit"))
        .args(["-w", "app", "componentize", "-p"])
        .arg(dir);
    if let Some(installed) = &packages.dir {
        command.arg("-p").arg(installed);
    }
    let output = command
        .arg("-p")
        .arg(stage)
        .arg(MAIN_MODULE)
        .arg("-o")
        .arg(&built)
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .output()
        .map_err(|error| format!("cannot run componentize-py at {}: {error}", tool.display()))?;
    if !output.status.success() {
        return Err(build_error(&String::from_utf8_lossy(&output.stderr)));
    }
    std::fs::rename(&built, component).map_err(|error| {
        format!(
            "cannot move the component to {}: {error}",
            component.display()
        )
    })
}

/// The component's main module: the app's module `module`, then what the build loads so that
/// a body finds it at run time (`requirements`, `imports` and `installed` are JSON lists of
/// strings). Part of [`build_key`], so that a change of it builds every app again.
fn main_module(module: &str, requirements: &str, imports: &str, installed: &str) -> String {
    format!(
        "# Generated by fnhost: the component's main module.\n\
         import fnhost._image\n\
         fnhost._image.INSTALLED = frozenset(map(fnhost._image.normalized, {requirements}))\n\
         import {module}  # noqa: F401  (the app: its decorators fill fnhost's table)\n\
         import importlib, pkgutil, sys\n\
         # A component has no files at run time: what a body imports is loaded now. One\n\
         # that fails fails again, with its own error, where the body imports it.\n\
         for name in {imports} + [\"_strptime\"]:\n\
         \x20   try:\n\
         \x20       importlib.import_module(name)\n\
         \x20   except Exception:\n\
         \x20       pass\n\
         # So is every module of the image's packages, which import some only when used\n\
         # (anyio's task groups); a module that cannot load here (an optional dependency\n\
         # missing) is left out. `__main__` modules are programs: never run. Loading a\n\
         # submodule binds it on its package, over what the package defined under that\n\
         # name (primefac's function `primefac` beside its module `primefac`): that stays.\n\
         # Read from the package's namespace: a module `__getattr__` may import on access.\n\
         _UNSET = object()\n\
         def _load_all(name):\n\
         \x20   parent, _, child = name.rpartition(\".\")\n\
         \x20   package = sys.modules.get(parent)\n\
         \x20   defined = vars(package).get(child, _UNSET) if package is not None else _UNSET\n\
         \x20   try:\n\
         \x20       module = importlib.import_module(name)\n\
         \x20   except BaseException:\n\
         \x20       return\n\
         \x20   if defined is not _UNSET and defined is not module:\n\
         \x20       setattr(package, child, defined)\n\
         \x20   for found in pkgutil.iter_modules(getattr(module, \"__path__\", []), name + \".\"):\n\
         \x20       if not found.name.endswith(\".__main__\"):\n\
         \x20           _load_all(found.name)\n\
         for name in {installed}:\n\
         \x20   _load_all(name)\n\
         # Codecs load when first named (`host.encode(\"idna\")`): the common ones now.\n\
         import codecs\n\
         for name in {CODECS:?}:\n\
         \x20   codecs.lookup(name)\n\
         import fnhost._phase\n\
         fnhost._phase.built()  # what follows runs in containers, with the host\n\
         from fnhost._export import Guest  # noqa: F401  (what componentize-py exports)\n"
    )
}

/// One message for a failed build: the Python error componentize-py reports (after `Caused
/// by:`), with the app's line that raised it; else the end of what it printed.
fn build_error(stderr: &str) -> String {
    let Some((before, cause)) = stderr.split_once("Caused by:") else {
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        return format!("componentize-py failed:\n{tail}");
    };
    let cause = cause
        .lines()
        .map(str::trim)
        .skip_while(|line| line.is_empty())
        .take_while(|line| !line.is_empty() && !line.starts_with("Stack backtrace"))
        .collect::<Vec<_>>()
        .join(" ");
    // The app's frames read `File "/0/app.py", line 3`: the build's path entries are mounted
    // as `/0`, `/1`, ...; the SDK's and the standard library's are skipped.
    let location = before.lines().rev().find_map(|line| {
        let rest = line.trim().strip_prefix("File \"/0/")?;
        let (file, rest) = rest.split_once('"')?;
        let line = rest.trim_start_matches(',').trim().split(',').next()?;
        Some(format!(" ({file}, {line})"))
    });
    format!("{cause}{}", location.unwrap_or_default())
}

/// A name no other build of this process or another one takes at the same time.
fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::{build_error, collect_sources, module_name};
    use std::path::Path;

    #[test]
    fn an_apps_sources_leave_out_a_virtual_environment_in_its_directory() {
        let dir = std::env::temp_dir().join(format!("fnhost-sources-{}", super::unique()));
        let site = dir.join("venv/lib/python3.12/site-packages/setuptools");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::create_dir_all(dir.join("helpers")).unwrap();
        std::fs::write(dir.join("venv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        std::fs::write(site.join("dist.py"), "dist.run_commands()\n").unwrap();
        std::fs::write(dir.join("app.py"), "import helpers.util\n").unwrap();
        std::fs::write(dir.join("helpers/util.py"), "").unwrap();
        let mut sources = Vec::new();
        collect_sources(&dir, &dir, &mut sources).unwrap();
        let mut names: Vec<String> = sources.into_iter().map(|(name, _)| name).collect();
        names.sort();
        assert_eq!(names, ["app.py", "helpers/util.py"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_module_name_is_an_identifier_of_the_app() {
        assert_eq!(module_name(Path::new("dir/app.py")).unwrap(), "app");
        assert!(
            module_name(Path::new("my-app.py"))
                .unwrap_err()
                .contains("rename")
        );
        assert!(module_name(Path::new("app.txt")).is_err());
        assert!(
            module_name(Path::new("fnhost.py"))
                .unwrap_err()
                .contains("hide")
        );
    }

    #[test]
    fn a_build_error_is_the_python_error_and_its_line() {
        let stderr = "AssertionError: Traceback (most recent call last):\n  \
            File \"/1/fnhost_component.py\", line 2, in <module>\n  \
            File \"/0/app.py\", line 2, in <module>\n    import numpyy\n\
            ModuleNotFoundError: No module named 'numpyy'\n\n\nCaused by:\n    \
            ModuleNotFoundError: No module named 'numpyy'\n\nStack backtrace:\n   0: x\n";
        assert_eq!(
            build_error(stderr),
            "ModuleNotFoundError: No module named 'numpyy' (app.py, line 2)"
        );
        assert!(build_error("boom\n").contains("boom"));
    }
}
