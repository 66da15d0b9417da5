//! Helpers for the component tests: build the guest crates they run, once per test process.
//!
//! Guests are real components, built for `wasm32-wasip2` by the same code path `fnhost` uses
//! for a crate directory (and for a Python file, with componentize-py), so the tests cover
//! those paths too.

pub mod nats;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
}

/// Builds the guest crate at `dir` (relative to the workspace root) and returns its component.
///
/// Builds are serialized and remembered, so tests running in parallel build each guest once.
pub fn guest(dir: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(dir) {
        return path.clone();
    }
    let path = fnhost::source::build_guest(&workspace().join(dir))
        .unwrap_or_else(|error| panic!("building {dir}: {error}"));
    built.insert(dir.to_owned(), path.clone());
    path
}

/// Builds the `wasi:cli` command crate `package` (a member of the workspace, under
/// `tests/guests`) for `wasm32-wasip2` and returns its component. Remembered like [`guest`].
pub fn command(package: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(package) {
        return path.clone();
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            package,
        ])
        .current_dir(workspace())
        .status()
        .unwrap_or_else(|error| panic!("cannot run cargo: {error}"));
    assert!(status.success(), "building {package}: {status}");
    let path = workspace().join(format!("target/wasm32-wasip2/release/{package}.wasm"));
    built.insert(package.to_owned(), path.clone());
    path
}

/// Builds the Python app at `file` (relative to the workspace root) with componentize-py, into
/// the user's compile cache, and returns its component. Remembered like [`guest`].
pub fn python_guest(file: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, fnhost::source::PythonBuild>>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(build) = built.get(file) {
        return build.component().to_owned();
    }
    let build = fnhost::source::build_python(
        &workspace().join(file),
        &fnhost::CompileCache::user_default(),
    )
    .unwrap_or_else(|error| panic!("building {file}: {error}"));
    let component = build.component().to_owned();
    built.insert(file.to_owned(), build);
    component
}

/// `tests/guests/calls`, the test app with a function for every behaviour, loaded.
pub async fn calls_app() -> fnhost::App {
    fnhost::App::load([guest("tests/guests/calls")])
        .await
        .expect("tests/guests/calls loads")
}

/// A host with `settings`, and the guest crate at `dir` loaded on it.
pub async fn app_on(settings: fnhost::HostSettings, dir: &str) -> (fnhost::Host, fnhost::App) {
    let host = fnhost::Host::new(settings).expect("the host starts");
    let app = host
        .app()
        .load([guest(dir)])
        .await
        .unwrap_or_else(|error| panic!("{dir} loads: {error}"));
    (host, app)
}

/// `tests/guests/calls` loaded with `options` overriding those of its function `function`.
pub async fn calls_app_with(function: &str, options: fnhost::FunctionOptions) -> fnhost::App {
    fnhost::App::builder()
        .options(function, options)
        .load([guest("tests/guests/calls")])
        .await
        .expect("tests/guests/calls loads with the overrides")
}

/// Waits until `done` holds, checking every 10 ms; fails the test naming `what` if it does not
/// within 20 s. For states that come about in the background (a container retiring, a
/// cancellation reaching a callee), never as a timing claim.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs 4 inputs of `function` (each sleeping 300 ms, and returning the id of the instance it
/// ran on) at once; returns the distinct instances they ran on and the pool's counters.
pub async fn four_at_once(
    app: &fnhost::App,
    function: &str,
) -> (std::collections::HashSet<u64>, fnhost::PoolStats) {
    let worker = app.function(function).unwrap();
    let calls: Vec<_> = (0..4)
        .map(|_| worker.spawn::<u64>((300,)).unwrap())
        .collect();
    let mut instances = std::collections::HashSet::new();
    for call in calls {
        instances.insert(call.get().await.unwrap());
    }
    (instances, worker.stats())
}
