//! Python guests beside Rust ones, in the same run: the build with componentize-py and the
//! first compile, loading from the caches, container start (also of an app whose module-level
//! code builds a large table), calls across the two languages, and `fnhost run` of the
//! seed's program in each.

use crate::run::cargo_build;
use crate::start::starts_p50;
use crate::{Report, median, micros};
use fnhost::{App, CompileCache};
use fnhost_tests::{python_guest, workspace};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Every Python row: `starts` container starts and `calls` calls per row, `runs` runs of
/// `fnhost run`.
pub(crate) async fn python(
    report: &mut Report,
    bench: &Path,
    hello: &Path,
    cache: &CompileCache,
    (starts_count, calls_count, runs): (usize, u32, usize),
) {
    build_and_compile(report, hello).await;
    starts(report, bench, cache, starts_count).await;
    calls(report, bench, cache, calls_count).await;
    fnhost_run(report, hello, runs);
}

/// The build of examples/hello-py with componentize-py into an empty cache, the same build
/// found again, and the component's first compile; then loading it and the Rust hello from
/// warm caches.
async fn build_and_compile(report: &mut Report, hello: &Path) {
    let dir = std::env::temp_dir().join(format!("fnhost-bench-python-{}", std::process::id()));
    let fresh = CompileCache::in_dir(&dir);
    let file = workspace().join("examples/hello-py/app.py");
    let start = Instant::now();
    let build = fnhost::source::build_python(&file, &fresh).expect("hello-py builds");
    report.row(
        "python_build_s",
        "Python hello: build (componentize-py)",
        start.elapsed().as_secs_f64(),
        "s",
        "once per change of its sources",
    );
    let start = Instant::now();
    drop(fnhost::source::build_python(&file, &fresh).unwrap());
    report.row(
        "python_build_cached_ms",
        "Python hello: build found in the cache",
        micros(start.elapsed()) / 1e3,
        "ms",
        "hashes the sources",
    );
    let start = Instant::now();
    drop(App::load_with([build.component()], &fresh).await.unwrap());
    report.row(
        "python_first_compile_s",
        "Python hello: first load (compile)",
        start.elapsed().as_secs_f64(),
        "s",
        "",
    );
    let load = |path: &Path| {
        let (path, cache) = (path.to_owned(), fresh.clone());
        async move {
            let mut samples = Vec::new();
            for _ in 0..5 {
                let start = Instant::now();
                drop(App::load_with([&path], &cache).await.unwrap());
                samples.push(start.elapsed());
            }
            median(samples)
        }
    };
    drop(App::load_with([hello], &fresh).await.unwrap());
    let python = load(build.component()).await;
    let rust = load(hello).await;
    report.row(
        "python_load_cached_ms",
        "Python hello: load, compile cache warm (p50)",
        micros(python) / 1e3,
        "ms",
        "",
    );
    report.row(
        "rust_load_cached_ms",
        "Rust hello: load, compile cache warm (p50)",
        micros(rust) / 1e3,
        "ms",
        "",
    );
    drop(build);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Container start of the Python bench app and of the table app, against the Rust bench
/// app's, from precompiled code.
async fn starts(report: &mut Report, bench: &Path, cache: &CompileCache, count: usize) {
    let python = python_guest("tests/guests-py/bench/app.py");
    let table = python_guest("tests/guests-py/table/app.py");
    let python_start = starts_p50(&python, cache, "py_noop", count).await;
    let table_start = starts_p50(&table, cache, "lookup", count).await;
    let rust_start = starts_p50(bench, cache, "noop_blocking", count).await;
    report.row(
        "python_container_start_us",
        "Python container start, precompiled (p50)",
        micros(python_start),
        "us",
        "target <= 1000 us",
    );
    report.row(
        "python_table_container_start_us",
        "Python container start, 200k-entry table (p50)",
        micros(table_start),
        "us",
        "table built at build time",
    );
    report.row(
        "python_container_start_ratio",
        "container start ratio, Python / Rust",
        micros(python_start) / micros(rust_start),
        "x",
        "",
    );
}

/// Round trips across the languages, mean of `count` sequential blocking calls: Rust →
/// Python, Python → Rust, Python → Python, and Rust → Rust beside them.
async fn calls(report: &mut Report, bench: &Path, cache: &CompileCache, count: u32) {
    let python = python_guest("tests/guests-py/bench/app.py");
    let app = App::load_with([bench, &python], cache).await.unwrap();
    let rows = [
        (
            "ping_py",
            "rust_to_python",
            "Rust -> Python round trip (mean)",
            "target <= 50 us",
        ),
        (
            "py_ping_rust",
            "python_to_rust",
            "Python -> Rust round trip (mean)",
            "target <= 50 us",
        ),
        (
            "py_ping_py",
            "python_to_python",
            "Python -> Python round trip (mean)",
            "",
        ),
        (
            "ping_blocking",
            "rust_to_rust",
            "Rust -> Rust round trip (mean)",
            "",
        ),
    ];
    for (function, key, label, target) in rows {
        let ping = app.function(function).unwrap();
        ping.remote::<()>((100,)).await.unwrap();
        let start = Instant::now();
        ping.remote::<()>((count,)).await.unwrap();
        let mean = micros(start.elapsed()) / f64::from(count);
        report.row(&format!("{key}_us"), label, mean, "us", target);
    }
}

/// `fnhost run` of the seed's program in Python and in Rust, as new processes, with every
/// cache warm.
fn fnhost_run(report: &mut Report, hello: &Path, runs: usize) {
    cargo_build(&["-p", "fnhost-cli"]);
    let fnhost = workspace().join("target/release/fnhost");
    let dir = std::env::temp_dir().join(format!("fnhost-bench-pyrun-{}", std::process::id()));
    let python_target = format!(
        "{}::blocking_main",
        workspace().join("examples/hello-py/app.py").display()
    );
    let rust_target = format!("{}::blocking_main", hello.display());
    let run = |target: &str| {
        let start = Instant::now();
        let output = Command::new(&fnhost)
            .args(["run", target])
            .env("FNHOST_CACHE_DIR", &dir)
            .output()
            .expect("fnhost runs");
        assert_eq!(output.stdout, b"420\n", "{output:?}");
        start.elapsed()
    };
    run(&python_target);
    run(&rust_target);
    let python = median((0..runs).map(|_| run(&python_target)).collect());
    let rust = median((0..runs).map(|_| run(&rust_target)).collect());
    report.row(
        "fnhost_run_python_warm_ms",
        "fnhost run hello-py, caches warm (p50)",
        micros(python) / 1e3,
        "ms",
        "",
    );
    report.row(
        "fnhost_run_python_ratio",
        "fnhost run ratio, hello-py / hello (Rust)",
        micros(python) / micros(rust),
        "x",
        "target <= 3x",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
