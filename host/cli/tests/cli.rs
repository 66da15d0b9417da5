//! The `fnhost` command line, run as a user runs it: from the workspace root, on the examples.

use std::path::Path;
use std::process::{Command, Output};

fn fnhost(args: &[&str]) -> Output {
    // The crate is `host/cli`: the workspace root is two levels up.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_fnhost"))
        .args(args)
        .current_dir(root)
        .output()
        .expect("fnhost runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn run_builds_the_crate_and_prints_420() {
    let output = fnhost(&["run", "examples/hello::blocking_main"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "420\n");
}

#[test]
fn call_prints_the_json_result() {
    let built = fnhost(&["list", "examples/hello"]);
    assert!(built.status.success(), "{}", stderr(&built));
    let output = fnhost(&[
        "call",
        "target/wasm32-wasip2/release/hello.wasm",
        "async_function",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "420\n");
}

#[test]
fn list_shows_kinds_and_options() {
    let output = fnhost(&["list", "examples/hello", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let functions = listing["functions"].as_array().unwrap();
    let async_function = functions
        .iter()
        .find(|f| f["name"] == "async_function")
        .unwrap();
    assert_eq!(async_function["kind"], "async");
    assert_eq!(async_function["config"]["max_inputs"], 1);
    let entrypoints: Vec<&str> = listing["entrypoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(entrypoints, ["blocking_main", "main"]);
}

#[test]
fn the_fanout_example_runs_its_hundred_calls() {
    let output = fnhost(&["run", "examples/fanout"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("100 calls of 1 s each finished in"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn bad_input_exits_non_zero_with_one_clear_line() {
    let dir = std::env::temp_dir().join(format!("fnhost-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_wasm = dir.join("not-a-component.wasm");
    std::fs::write(&not_wasm, b"hello").unwrap();
    let not_wasm = not_wasm.to_str().unwrap();

    let cases: [(&[&str], &str); 9] = [
        (
            &["call", not_wasm, "f"],
            "not a valid WebAssembly component",
        ),
        (
            &["call", "examples/hello", "no_such_function"],
            "no function `no_such_function`",
        ),
        (
            &["call", "examples/hello", "async_function", "[1"],
            "not valid JSON",
        ),
        (&["run", "examples/hello"], "several local entrypoints"),
        (&["call", "does/not/exist.wasm", "f"], "does not exist"),
        (
            &["call", "examples/faults", "grow", "\"ten\""],
            "bad arguments: `grow`: invalid type: string \"ten\", expected u32",
        ),
        (
            &["list", "examples/faults", "--option", "grow.memory=0"],
            "function `grow`: option `memory` is 0 MiB; it must be from 1 to 4096 MiB",
        ),
        (
            &["list", "examples/faults", "--option", "nosuch.timeout=1s"],
            "options given for `nosuch`, which is not a function of the app",
        ),
        (
            &["list", "examples/faults", "--option", "grow.colour=blue"],
            "unknown option `colour`",
        ),
    ];
    for (args, message) in cases {
        let output = fnhost(args);
        let error = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded");
        let last = error.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: ") && last.contains(message),
            "{args:?}: {error}"
        );
        assert!(!error.contains("panicked"), "{args:?}: {error}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_guest_panic_is_an_error_not_a_host_crash() {
    let output = fnhost(&["call", "tests/guests/calls", "boom", "\"from the cli\""]);
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(
        error.contains("error: trapped: boom#0: panicked at"),
        "{error}"
    );
    assert!(error.contains("from the cli"), "{error}");
    // The guest's own report is forwarded with its prefix, from its first line on.
    let forwarded: Vec<&str> = error
        .lines()
        .filter(|line| line.starts_with("[boom#0]"))
        .collect();
    assert!(
        forwarded
            .first()
            .is_some_and(|line| line.starts_with("[boom#0] panicked at ")),
        "{error}"
    );
    assert!(forwarded.contains(&"[boom#0] from the cli"), "{error}");
}

#[test]
fn a_guest_that_loops_forever_times_out_with_an_error() {
    let output = fnhost(&["call", "examples/faults", "spin"]);
    assert!(!output.status.success());
    let error = stderr(&output);
    let last = error.lines().last().unwrap_or_default();
    assert_eq!(
        last, "error: timed out: `spin` ran past its timeout of 2s",
        "{error}"
    );
}

#[test]
fn call_options_override_the_timeout() {
    let output = fnhost(&["call", "examples/faults", "spin", "--timeout", "1s"]);
    assert!(!output.status.success());
    let error = stderr(&output);
    let last = error.lines().last().unwrap_or_default();
    assert_eq!(
        last, "error: timed out: `spin` ran past its timeout of 1s",
        "{error}"
    );
}

#[test]
fn run_options_override_what_functions_declare() {
    let output = fnhost(&[
        "list",
        "examples/faults",
        "--json",
        "--option",
        "grow.memory=128",
        "--option",
        "spin.timeout=5s",
        "--option",
        "sleepy.cpu=0.5",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let config = |name: &str| {
        listing["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()["config"]
            .clone()
    };
    assert_eq!(config("grow")["memory"], 128);
    assert_eq!(config("spin")["timeout"], 5);
    assert_eq!(config("sleepy")["cpu"], 0.5);
    assert_eq!(config("boom")["timeout"], 300, "others keep theirs");
}

#[test]
fn granted_variables_and_directories_reach_the_guest() {
    let output = fnhost(&[
        "call",
        "tests/guests/calls",
        "env_var",
        "\"GREETING\"",
        "--env",
        "GREETING=hi there",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "\"hi there\"\n");

    let dir = std::env::temp_dir().join(format!("fnhost-cli-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("note.txt"), "granted").unwrap();
    let grant = format!("{}::/data", dir.display());
    let output = fnhost(&[
        "call",
        "tests/guests/calls",
        "read_file",
        "\"/data/note.txt\"",
        "--dir-ro",
        &grant,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "\"granted\"\n");
    std::fs::remove_dir_all(&dir).unwrap();
}
