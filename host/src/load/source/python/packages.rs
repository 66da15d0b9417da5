//! An app's images (Modal's `Image.pip_install`), read from its source and installed with pip
//! before its build.
//!
//! `images.py` reads the image chains with CPython's `ast`: it parses the app's files and
//! never runs them, so nothing of an app runs on the host outside its component. pip installs
//! wheels only (`--only-binary=:all:`), tagged for any platform or for `wasi_0_0_0_wasm32`
//! (a wasm build, from an index the image names), for the CPython the component embeds: no
//! package's code runs at install, and a package with native code and no wasm build is
//! refused by name (a dependency too, which pip reports only as a conflict of the versions
//! that need it: each requirement of the conflict is then tried alone). The packages are kept in the compile cache under a digest of everything
//! that chose them (the requirements, the requirement files' text, the index options, pip's
//! `PIP_*` settings from the environment, the CPython version, the interpreter that runs
//! pip), so an unchanged app installs nothing
//! twice; a change of any of them installs afresh. Without the digest covering all of them a
//! build would bundle stale packages.

use crate::load::CompileCache;
use serde::Deserialize;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The CPython componentize-py 0.25.1 embeds: what wheels are chosen for.
pub const GUEST_PYTHON: &str = "3.14";

/// The most requirements of a pip conflict tried alone to name the one without a wheel.
const MAX_PROBES: usize = 8;

/// The reader of image chains.
const IMAGES_PY: &str = include_str!("images.py");

/// What the app's images ask for, as `images.py` reads it.
#[derive(Debug, Default, Deserialize)]
struct Found {
    packages: Vec<String>,
    requirements: Vec<String>,
    index_url: Vec<String>,
    extra_index_url: Vec<String>,
    find_links: Vec<String>,
    pre: bool,
    local_sources: Vec<String>,
    python_versions: Vec<String>,
    refused: Vec<String>,
    ignored: Vec<String>,
    imports: Vec<String>,
}

/// The packages a build bundles.
#[derive(Debug)]
pub struct Packages {
    /// The requirements the images spell out, for the SDK's check at build.
    pub requirements: Vec<String>,
    /// Every module the app's sources import, at module level or in a body: the build
    /// imports them all, because a component has no files at run time (componentize-py's
    /// keep only what the build imported), so an import a body makes must find its module
    /// loaded already.
    pub imports: Vec<String>,
    /// The directory pip installed them into, when there are any.
    pub dir: Option<PathBuf>,
    /// A digest of what chose them (empty without packages), for the component's own.
    pub digest: String,
    /// A directory to remove once built, when there is no cache to keep them in.
    scratch: Option<PathBuf>,
}

impl Drop for Packages {
    fn drop(&mut self) {
        if let Some(scratch) = &self.scratch {
            let _ = std::fs::remove_dir_all(scratch);
        }
    }
}

/// Reads the images of the app in `dir` (its `.py` files `sources`, relative to it) and
/// installs their packages with the interpreter beside `componentize_py`.
pub fn prepare(
    dir: &Path,
    sources: &[String],
    componentize_py: &Path,
    cache: &CompileCache,
) -> Result<Packages, String> {
    let python = python(componentize_py);
    let found = read_images(&python, dir, sources)?;
    if !found.refused.is_empty() {
        return Err(found.refused.join("; "));
    }
    for module in &found.local_sources {
        check_local_source(dir, module)?;
    }
    warn_ignored(&found);
    let mut packages = Packages {
        requirements: found.packages.clone(),
        imports: found.imports.clone(),
        dir: None,
        digest: String::new(),
        scratch: None,
    };
    if found.packages.is_empty() && found.requirements.is_empty() {
        return Ok(packages);
    }
    let requirement_files = requirement_files(dir, &found.requirements)?;
    packages.digest = digest(&python, &found, &requirement_files);
    let root = match cache.usable_dir() {
        Some(cache) => cache.join("python-packages"),
        None => {
            let scratch = std::env::temp_dir().join(format!("fnhost-packages-{}", super::unique()));
            packages.scratch = Some(scratch.clone());
            scratch
        }
    };
    packages.dir = Some(installed_in(
        &root,
        &python,
        &found,
        &requirement_files,
        &packages.digest,
    )?);
    Ok(packages)
}

/// `requirements` (pip's spelling) installed as an app's images install them, for a sandbox's
/// `python`: the directory that holds them, kept in `cache` (else in the system's temporary
/// directory, for the process's life) under the digest of what chose them.
pub fn install_requirements(
    requirements: &[String],
    componentize_py: &Path,
    cache: &CompileCache,
) -> Result<PathBuf, String> {
    let python = python(componentize_py);
    let found = Found {
        packages: requirements.to_vec(),
        ..Found::default()
    };
    let digest = digest(&python, &found, &[]);
    let root = match cache.usable_dir() {
        Some(cache) => cache.join("python-packages"),
        None => std::env::temp_dir().join("fnhost-packages"),
    };
    installed_in(&root, &python, &found, &[], &digest)
}

/// The directory of `root` named `digest`, installed now unless it was.
fn installed_in(
    root: &Path,
    python: &Path,
    found: &Found,
    requirement_files: &[(PathBuf, String)],
    digest: &str,
) -> Result<PathBuf, String> {
    let installed = root.join(digest);
    if !installed.is_dir() {
        install(python, found, requirement_files, root, &installed)?;
    }
    Ok(installed)
}

/// The Python that runs `images.py` and pip: the virtual environment's of componentize-py,
/// else `python3` on `PATH`.
fn python(componentize_py: &Path) -> PathBuf {
    let beside = componentize_py.with_file_name("python3");
    if beside.is_file() {
        beside
    } else {
        PathBuf::from("python3")
    }
}

fn read_images(python: &Path, dir: &Path, sources: &[String]) -> Result<Found, String> {
    let output = Command::new(python)
        .args(["-I", "-c", IMAGES_PY])
        .arg(dir)
        .args(sources)
        .output()
        .map_err(|error| {
            format!(
                "cannot run {} to read the app's images: {error}",
                python.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "reading the app's images failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("reading the app's images gave no answer: {error}"))
}

/// A module `add_local_python_source` names must be in the app's directory, which the
/// component holds whole.
fn check_local_source(dir: &Path, module: &str) -> Result<(), String> {
    let top = module.split('.').next().unwrap_or(module);
    if dir.join(format!("{top}.py")).is_file() || dir.join(top).is_dir() {
        return Ok(());
    }
    Err(format!(
        "Image.add_local_python_source({module:?}): fnhost bundles the modules of the app's \
         directory, and `{top}` is not in {}: move it beside the app",
        dir.display()
    ))
}

fn warn_ignored(found: &Found) {
    if !found.ignored.is_empty() {
        tracing::warn!(
            options = found.ignored.join(", "),
            "options a WebAssembly guest runs without are ignored"
        );
    }
    if let Some(version) = found.python_versions.iter().find(|v| **v != GUEST_PYTHON) {
        tracing::warn!(
            asked = %version,
            runs = %GUEST_PYTHON,
            "the functions run on the CPython the component embeds, not the image's python_version"
        );
    }
}

/// The requirement files, inside the app's directory, with their text.
fn requirement_files(dir: &Path, paths: &[String]) -> Result<Vec<(PathBuf, String)>, String> {
    let root = dir
        .canonicalize()
        .map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    paths
        .iter()
        .map(|path| {
            let file = root.join(path).canonicalize().map_err(|error| {
                format!("Image.pip_install_from_requirements({path:?}): {error}")
            })?;
            if !file.starts_with(&root) {
                return Err(format!(
                    "Image.pip_install_from_requirements({path:?}): the file must be in the \
                     app's directory"
                ));
            }
            let text = std::fs::read_to_string(&file).map_err(|error| {
                format!("Image.pip_install_from_requirements({path:?}): {error}")
            })?;
            Ok((file, text))
        })
        .collect()
}

/// The digest of everything that chooses the packages, in hexadecimal.
fn digest(python: &Path, found: &Found, requirement_files: &[(PathBuf, String)]) -> String {
    let mut digest = blake3::Hasher::new();
    let mut field = |bytes: &[u8]| {
        digest.update(&(bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    };
    field(b"fnhost python packages 1");
    field(GUEST_PYTHON.as_bytes());
    field(interpreter_identity(python).as_bytes());
    for list in [
        &found.packages,
        &found.index_url,
        &found.extra_index_url,
        &found.find_links,
    ] {
        field(&(list.len() as u64).to_le_bytes());
        list.iter().for_each(|item| field(item.as_bytes()));
    }
    field(&[u8::from(found.pre)]);
    for (_, text) in requirement_files {
        field(text.as_bytes());
    }
    // pip's own settings from the environment (`PIP_FIND_LINKS`, `PIP_INDEX_URL`, ...).
    let mut settings: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with("PIP_"))
        .collect();
    settings.sort();
    for (name, value) in settings {
        field(name.as_bytes());
        field(value.as_bytes());
    }
    digest.finalize().to_hex().to_string()
}

/// The interpreter's path, size and change time: a reinstalled one (another pip) installs
/// afresh.
fn interpreter_identity(python: &Path) -> String {
    let resolved = python.canonicalize().unwrap_or_else(|_| python.to_owned());
    std::fs::metadata(&resolved).map_or_else(
        |_| resolved.display().to_string(),
        |metadata| {
            format!(
                "{}:{}:{}",
                resolved.display(),
                metadata.len(),
                metadata.mtime()
            )
        },
    )
}

/// Installs the packages into a staging directory of `root`, then moves it to `installed`
/// (another build that got there first wins, with the same packages).
fn install(
    python: &Path,
    found: &Found,
    requirement_files: &[(PathBuf, String)],
    root: &Path,
    installed: &Path,
) -> Result<(), String> {
    std::fs::create_dir_all(root)
        .map_err(|error| format!("cannot create {}: {error}", root.display()))?;
    let stage = root.join(format!(".stage-{}", super::unique()));
    let mut pip = pip_install(python, found);
    pip.arg("--target").arg(&stage).args(&found.packages);
    for (file, _) in requirement_files {
        pip.arg("-r").arg(file);
    }
    eprintln!(
        "installing {} with pip",
        describe(&found.packages, requirement_files)
    );
    let output = pip
        .output()
        .map_err(|error| format!("cannot run pip ({}): {error}", python.display()))?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&stage);
        return Err(pip_error(python, found, &output));
    }
    if std::fs::rename(&stage, installed).is_err() {
        // Another build installed the same packages meanwhile.
        let _ = std::fs::remove_dir_all(&stage);
        if !installed.is_dir() {
            return Err(format!(
                "cannot keep the packages in {}",
                installed.display()
            ));
        }
    }
    Ok(())
}

/// pip's `install` as the guest needs it: wheels only, for the CPython the component embeds,
/// pure or built for wasm32-wasi, from the indexes the images name; no package code runs.
fn pip_install(python: &Path, found: &Found) -> Command {
    let mut pip = Command::new(python);
    pip.args(["-I", "-m", "pip", "install"])
        .args([
            "--only-binary=:all:",
            "--no-compile",
            "--disable-pip-version-check",
        ])
        .args([
            "--no-input",
            "--progress-bar",
            "off",
            "--implementation",
            "cp",
        ])
        .args(["--python-version", GUEST_PYTHON])
        .args(["--platform", "any", "--platform", "wasi_0_0_0_wasm32"])
        .args([
            "--abi",
            "none",
            "--abi",
            &format!("cp{}", GUEST_PYTHON.replace('.', "")),
        ]);
    for (option, values) in [
        ("--index-url", &found.index_url),
        ("--extra-index-url", &found.extra_index_url),
        ("--find-links", &found.find_links),
    ] {
        values.iter().for_each(|value| {
            pip.args([option, value]);
        });
    }
    if found.pre {
        pip.arg("--pre");
    }
    pip
}

fn describe(packages: &[String], requirement_files: &[(PathBuf, String)]) -> String {
    let mut named: Vec<String> = packages.to_vec();
    named.extend(
        requirement_files
            .iter()
            .map(|(file, _)| format!("-r {}", file.display())),
    );
    named.join(" ")
}

/// One message for a failed install: a package without a wheel a wasm guest can load is
/// named with the reason, also when pip reports it only as a conflict of the packages that
/// need it (each requirement of the conflict is then tried alone); otherwise pip's errors.
fn pip_error(python: &Path, found: &Found, output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("ERROR:"))
        .collect();
    if let Some(name) = no_distribution(&errors) {
        return no_guest_wheel(name, &errors.join(" "));
    }
    let conflicts = conflicts(&stdout);
    if errors
        .iter()
        .any(|line| line.contains("ResolutionImpossible"))
    {
        // Each requirement once (pip repeats it per version that needs it), a few at most:
        // a probe is a run of pip.
        let mut tried = Vec::new();
        let unavailable = conflicts
            .iter()
            .filter(|conflict| {
                let new = !tried.contains(&conflict.requirement);
                tried.push(conflict.requirement);
                new
            })
            .take(MAX_PROBES)
            .find(|conflict| !installable_alone(python, found, conflict.requirement));
        if let Some(conflict) = unavailable {
            return no_guest_wheel(
                conflict.requirement,
                &format!("{} depends on it", conflict.dependent),
            );
        }
    }
    let mut message = match errors.is_empty() {
        true => format!("pip failed: {}", stderr.trim()),
        false => format!("pip failed: {}", errors.join(" ")),
    };
    if !conflicts.is_empty() {
        let lines: Vec<String> = conflicts.iter().map(Conflict::to_string).collect();
        message.push_str(&format!(" (the conflict: {})", lines.join("; ")));
    }
    message
}

fn no_guest_wheel(requirement: &str, why: &str) -> String {
    format!(
        "the package `{requirement}` has no pure-Python wheel for CPython {GUEST_PYTHON} and \
         no wasm32-wasi build on the index: fnhost's Python functions run in WebAssembly, \
         which cannot load native extensions (pip: {why})"
    )
}

/// The requirement pip found nothing at all for, from its errors.
fn no_distribution<'a>(errors: &[&'a str]) -> Option<&'a str> {
    errors
        .iter()
        .find_map(|line| line.split_once("No matching distribution found for "))
        .map(|(_, name)| name.trim())
}

/// One line of pip's "The conflict is caused by:": a package and a requirement of it.
struct Conflict<'a> {
    dependent: &'a str,
    requirement: &'a str,
}

impl std::fmt::Display for Conflict<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} depends on {}", self.dependent, self.requirement)
    }
}

/// The `A depends on B` lines pip prints (on its output) under "The conflict is caused by:".
fn conflicts(stdout: &str) -> Vec<Conflict<'_>> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("The conflict is caused by:"))
        .skip(1)
        .take_while(|line| line.starts_with("    "))
        .filter_map(|line| line.trim().split_once(" depends on "))
        .map(|(dependent, requirement)| Conflict {
            dependent,
            requirement,
        })
        .collect()
}

/// Whether pip finds a wheel the guest can load for `requirement` alone (its dependencies
/// left out): a dry run, which installs nothing.
fn installable_alone(python: &Path, found: &Found, requirement: &str) -> bool {
    let mut pip = pip_install(python, found);
    pip.args(["--dry-run", "--no-deps", "--quiet"])
        .arg("--target")
        .arg(std::env::temp_dir().join(format!("fnhost-pip-probe-{}", super::unique())))
        .arg(requirement);
    // A probe that cannot run says nothing: pip's own errors are reported instead.
    pip.output().map_or(true, |output| output.status.success())
}
