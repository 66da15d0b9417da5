//! `fnhost run` as a new process, cache warm and cold, against `wasmtime run` and `wasmtime
//! compile` when the wasmtime CLI is installed.

use crate::{Report, median, micros};
use fnhost_tests::workspace;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `fnhost run` of examples/hello, as a new process, with the compile cache warm and cold;
/// against `wasmtime run` of a plain wasi:cli component printing the same, when the wasmtime
/// CLI is installed.
pub(crate) fn fnhost_run(report: &mut Report, hello: &Path, runs: usize) {
    cargo_build(&["-p", "fnhost-cli"]);
    let fnhost = workspace().join("target/release/fnhost");
    let target = format!("{}::blocking_main", hello.display());
    let dir = std::env::temp_dir().join(format!("fnhost-bench-run-{}", std::process::id()));
    // Cold: a new, empty cache directory each run (so it compiles and writes the entry).
    let cold_runs = std::cell::Cell::new(0);
    let (warm, cold) = warm_and_cold(runs, |cache| {
        let name = cache.map_or_else(
            || format!("cold-{}", cold_runs.replace(cold_runs.get() + 1)),
            str::to_owned,
        );
        let mut command = Command::new(&fnhost);
        command
            .args(["run", &target])
            .env("FNHOST_CACHE_DIR", dir.join(name));
        command
    });
    report.row(
        "fnhost_run_warm_ms",
        "fnhost run hello, cache warm (p50)",
        micros(warm) / 1e3,
        "ms",
        "",
    );
    report.row(
        "fnhost_run_cold_ms",
        "fnhost run hello, cache cold (p50)",
        micros(cold) / 1e3,
        "ms",
        "",
    );
    match wasmtime_run(&dir, hello, runs) {
        Some(((raw_warm, raw_cold), compile)) => {
            report.row(
                "wasmtime_run_warm_ms",
                "wasmtime run hello (wasi:cli), cache warm (p50)",
                micros(raw_warm) / 1e3,
                "ms",
                "",
            );
            report.row(
                "wasmtime_run_cold_ms",
                "wasmtime run hello (wasi:cli), cache off (p50)",
                micros(raw_cold) / 1e3,
                "ms",
                "",
            );
            report.ratio(
                "fnhost_run_warm_ratio",
                "fnhost run ratio, cache warm",
                micros(warm),
                micros(raw_warm),
                "<= 1.0x",
            );
            report.ratio(
                "fnhost_run_cold_ratio",
                "fnhost run ratio, cache cold",
                micros(cold),
                micros(raw_cold),
                "<= 1.5x",
            );
            report.row(
                "wasmtime_compile_hello_ms",
                "wasmtime compile of examples/hello (p50)",
                micros(compile) / 1e3,
                "ms",
                "the same component fnhost runs cold",
            );
            report.ratio(
                "fnhost_run_cold_compile_ratio",
                "fnhost run cold / wasmtime compile, same component",
                micros(cold),
                micros(compile),
                "-",
            );
        }
        None => println!(
            "(no wasmtime CLI: install it with `cargo install wasmtime-cli@48.0.8 --locked`, or \
             name it in WASMTIME, for the `wasmtime run` rows)"
        ),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `wasmtime run` of tests/guests/hello-cli with its compile cache warm (in `dir`) and off, and
/// `wasmtime compile` of `hello` (the component `fnhost run` runs), if the wasmtime CLI is
/// there: `$WASMTIME`, else `wasmtime` on the PATH.
fn wasmtime_run(dir: &Path, hello: &Path, runs: usize) -> Option<((Duration, Duration), Duration)> {
    let wasmtime = std::env::var_os("WASMTIME").unwrap_or_else(|| "wasmtime".into());
    let found = Command::new(&wasmtime).arg("--version").output();
    if !found.is_ok_and(|output| output.status.success()) {
        return None;
    }
    cargo_build(&["-p", "hello-cli", "--target", "wasm32-wasip2"]);
    let component = workspace().join("target/wasm32-wasip2/release/hello-cli.wasm");
    std::fs::create_dir_all(dir).expect("the scratch directory can be made");
    let config = dir.join("wasmtime-cache.toml");
    let cache = dir.join("wasmtime-cache");
    std::fs::write(
        &config,
        format!("[cache]\ndirectory = {:?}\n", cache.display().to_string()),
    )
    .expect("the cache config can be written");
    let run = warm_and_cold(runs, |cached| {
        let mut command = Command::new(&wasmtime);
        command.arg("run");
        match cached {
            Some(_) => command
                .args(["-C", "cache=y", "-C"])
                .arg(format!("cache-config={}", config.display())),
            None => command.args(["-C", "cache=n"]),
        };
        command.arg(&component);
        command
    });
    let compiled = dir.join("hello.cwasm");
    let compiles = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(&wasmtime)
                .args(["compile", "-C", "cache=n", "-o"])
                .arg(&compiled)
                .arg(hello)
                .status()
                .expect("wasmtime compile runs");
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    Some((run, median(compiles)))
}

/// The p50 wall time of `runs` runs of a program printing `420`, with its compile cache warm
/// (after one run to fill it) and then cold; `program(Some(name))` runs it with the cache
/// named `name`, `program(None)` with none to take code from.
fn warm_and_cold(runs: usize, program: impl Fn(Option<&str>) -> Command) -> (Duration, Duration) {
    let run = |cache: Option<&str>| {
        let start = Instant::now();
        let output = program(cache).output().expect("the program runs");
        assert_eq!(output.stdout, b"420\n", "{output:?}");
        start.elapsed()
    };
    run(Some("warm"));
    let warm = (0..runs).map(|_| run(Some("warm"))).collect();
    let cold = (0..runs).map(|_| run(None)).collect();
    (median(warm), median(cold))
}

/// `cargo build --release` of what `args` name, in the workspace.
pub(crate) fn cargo_build(args: &[&str]) {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet"])
        .args(args)
        .current_dir(workspace())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build {args:?} failed");
}
