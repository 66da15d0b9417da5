//! Sandboxes: `Sandbox.create` + `exec` + `wait` end to end through the host library, for
//! `python -c 'print(1)'` (CPython in WebAssembly, its component compiled once) and for a Rust
//! wasi:cli command, against `python3 -c 'print(1)'` run as a native process in the same run
//! (the bar to beat); and sandboxes made per second from one caller.

use crate::{Report, median, micros};
use fnhost::sandbox::{ExecOptions, SandboxOptions, Sandboxes};
use fnhost::{Host, HostSettings};
use std::process::Command;
use std::time::{Duration, Instant};

/// p50 and p99 of `samples`, in microseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| micros(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    (at(0.5), at(0.99))
}

/// One sandbox made, `args` run in it to its end (its stdout read), and the sandbox ended.
async fn once(sandboxes: &Sandboxes, args: &[&str]) -> Duration {
    let started = Instant::now();
    let sandbox = sandboxes
        .create(SandboxOptions::default())
        .await
        .expect("a sandbox");
    let process = sandbox
        .exec(
            args.iter().map(|arg| arg.to_string()).collect(),
            ExecOptions::default(),
        )
        .await
        .expect("the process starts");
    let mut out = Vec::new();
    while let Some(bytes) = process.read_stdout(1 << 16).await {
        out.extend_from_slice(&bytes);
    }
    let exit = process.wait().await;
    let elapsed = started.elapsed();
    assert_eq!(
        (exit.code, out.as_slice()),
        (0, b"1\n".as_slice()),
        "{args:?}"
    );
    sandbox.terminate().await;
    elapsed
}

async fn rows(
    report: &mut Report,
    sandboxes: &Sandboxes,
    key: &str,
    label: &str,
    args: &[&str],
    runs: usize,
) -> f64 {
    once(sandboxes, args).await;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.push(once(sandboxes, args).await);
    }
    let (p50, p99) = percentiles(samples);
    report.row(
        &format!("{key}_p50_ms"),
        &format!("{label} (p50)"),
        p50 / 1e3,
        "ms",
        "create + exec + wait",
    );
    report.row(
        &format!("{key}_p99_ms"),
        &format!("{label} (p99)"),
        p99 / 1e3,
        "ms",
        "",
    );
    p50
}

pub(crate) async fn sandboxes(report: &mut Report, runs: usize) {
    let host = Host::new(HostSettings::default()).expect("a host");
    let sandboxes = host.sandboxes();
    let tool = fnhost_tests::command("tool");
    sandboxes.register_program("tool", tool);
    let python = rows(
        report,
        sandboxes,
        "sandbox_python",
        "sandbox: python -c print(1)",
        &["python", "-c", "print(1)"],
        runs,
    )
    .await;
    let rust = rows(
        report,
        sandboxes,
        "sandbox_command",
        "sandbox: Rust wasi:cli command",
        &["tool", "echo", "1"],
        runs,
    )
    .await;
    let native: Vec<Duration> = (0..runs.min(50))
        .map(|_| {
            let started = Instant::now();
            let output = Command::new("python3")
                .args(["-c", "print(1)"])
                .output()
                .expect("python3 runs");
            assert_eq!(output.stdout, b"1\n");
            started.elapsed()
        })
        .collect();
    let native = micros(median(native));
    report.row(
        "native_python_ms",
        "python3 -c print(1), native process (p50)",
        native / 1e3,
        "ms",
        "the bar to beat",
    );
    report.row(
        "sandbox_python_vs_native",
        "sandbox python / native python3",
        python / native,
        "x",
        "goal < 1",
    );
    report.row(
        "sandbox_command_vs_python",
        "sandbox Rust command / sandbox python",
        rust / python,
        "x",
        "",
    );
    // Sandboxes made (and terminated) per second by one caller, nothing run in them.
    let count = runs * 20;
    let started = Instant::now();
    for _ in 0..count {
        let sandbox = sandboxes
            .create(SandboxOptions::default())
            .await
            .expect("a sandbox");
        sandbox.terminate().await;
    }
    let per_second = count as f64 / started.elapsed().as_secs_f64();
    report.row(
        "sandboxes_per_second",
        "sandboxes made and ended per second, one caller",
        per_second,
        "/s",
        "",
    );
    // What an idle sandbox costs the host: 1 000 held at once.
    let before = crate::memory::resident_kib();
    let mut idle = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let sandbox = sandboxes.create(SandboxOptions::default()).await;
        idle.push(sandbox.expect("a sandbox"));
    }
    let held = (crate::memory::resident_kib() - before) as f64 / idle.len() as f64;
    report.row(
        "idle_sandbox_kib",
        "resident memory per idle sandbox (1 000 held)",
        held,
        "KiB",
        "host memory only: an idle sandbox has no instance",
    );
    sandboxes.shutdown().await;
}
