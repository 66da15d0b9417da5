//! The `fnhost` command line, run as a user runs it: from the workspace root, on the examples.

#[path = "support/serve.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{fnhost, fnhost_with_stdin, stderr, stdout};

/// A fresh directory for one test.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fnhost-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

    let output = fnhost(&["list", "tests/guests/calls", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let batched = listing["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "doubled_batch")
        .unwrap();
    assert_eq!(
        batched["batch"],
        serde_json::json!({"max_batch_size": 4, "wait_ms": 60000})
    );
    let output = fnhost(&["list", "tests/guests/calls"]);
    assert!(
        stdout(&output)
            .contains("doubled_batch\tblocking batched(max_batch_size=4, wait_ms=60000)"),
        "{}",
        stdout(&output)
    );
    // The Rust attribute's schedule, with its next time: New Year's midnight in Paris is
    // 23:00 UTC on 31 December.
    let new_year = stdout(&output)
        .lines()
        .find(|line| line.starts_with("new_year\tcron 0 0 1 1 * (Europe/Paris)\t"))
        .map(str::to_owned);
    assert!(
        new_year
            .as_ref()
            .is_some_and(|line| line.ends_with("-12-31T23:00:00Z")),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains("\ndaily\tevery 1d 1.5s\tone period after the deploy\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn list_shows_classes_with_their_parameters_and_methods() {
    let output = fnhost(&["list", "tests/guests/classes"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(
        table.contains(
            "Table\tblocking\t(size: u64, broken: bool = false)\tTable.lookup(index), \
             Table.who(), Table.shifted(numbers) batched(max_batch_size=4, wait_ms=60000)\tno\t1\t1\t4"
        ),
        "{table}"
    );
    assert!(
        table.contains("Meeting\tasync\t()\tMeeting.join(count), Meeting.join_late(count)\tno\t8"),
        "{table}"
    );

    let output = fnhost(&["list", "tests/guests/classes", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let table = listing["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|class| class["name"] == "Table")
        .unwrap();
    assert_eq!(table["name"], "Table");
    assert_eq!(table["params"], serde_json::json!(["size", "broken"]));
    assert_eq!(table["param_defaults"], serde_json::json!([null, false]));
    assert_eq!(table["methods"][0]["name"], "Table.lookup");
    assert_eq!(table["config"]["max_containers"], 4);
}

#[test]
fn call_prints_a_generators_items_one_json_line_each() {
    let output = fnhost(&["call", "tests/guests/classes", "count_to", "3"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "0\n1\n2\n");
    let failed = fnhost(&["call", "tests/guests/classes", "count_then_fail", "2"]);
    assert!(!failed.status.success());
    assert_eq!(stdout(&failed), "0\n1\n", "the items before the error");
    assert!(
        stderr(&failed).contains("failed at 2"),
        "{}",
        stderr(&failed)
    );
}

/// The numbers of the `containers: C, enters: E` line a model example prints.
fn containers_and_enters(output: &str) -> (u64, u64) {
    let line = output
        .lines()
        .find_map(|line| line.strip_prefix("containers: "))
        .unwrap_or_else(|| panic!("no containers line: {output}"));
    let (containers, enters) = line.split_once(", enters: ").unwrap();
    (containers.parse().unwrap(), enters.parse().unwrap())
}

#[test]
fn the_model_examples_enter_each_container_exactly_once() {
    for app in ["examples/model", "examples/model-py/app.py"] {
        let output = fnhost(&["run", app]);
        assert!(output.status.success(), "{app}: {}", stderr(&output));
        let printed = stdout(&output);
        let (containers, enters) = containers_and_enters(&printed);
        assert!(containers >= 1, "{app}: {printed}");
        assert_eq!(enters, containers, "{app}: {printed}");
        assert!(
            printed.contains("tokens: the quick brown fox jumps"),
            "{app}: {printed}"
        );
        assert!(printed.contains("predict: 100 calls"), "{app}: {printed}");
    }
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
fn the_python_seed_program_prints_420_and_is_built_once() {
    let output = fnhost(&["run", "examples/hello-py/app.py::blocking_main"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "420\n");
    // Built by the run above (or an earlier one): the second run finds the build.
    let again = fnhost(&["run", "examples/hello-py/app.py::blocking_main"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), "420\n");
    assert!(
        !stderr(&again).contains("building"),
        "a second run rebuilt: {}",
        stderr(&again)
    );
    let seed_main = fnhost(&["run", "examples/hello-py/app.py::main"]);
    assert!(seed_main.status.success(), "{}", stderr(&seed_main));
}

#[test]
fn the_python_fanout_example_runs_its_hundred_calls() {
    let output = fnhost(&["run", "examples/fanout-py/app.py"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("100 calls of 1 s each finished in")
            && stdout(&output).contains("(sum of squares: 328350)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn python_apps_list_call_and_fail_to_build_clearly() {
    let listing = fnhost(&["list", "examples/hello-py/app.py", "--json"]);
    assert!(listing.status.success(), "{}", stderr(&listing));
    let listing: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = listing["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("async_function", "async"),
            ("blocking_function", "blocking"),
            ("myfunc", "async")
        ]
    );
    let call = fnhost(&["call", "examples/hello-py/app.py", "async_function"]);
    assert!(call.status.success(), "{}", stderr(&call));
    assert_eq!(stdout(&call), "420\n");

    let dir = scratch_dir("python-build-error");
    std::fs::write(
        dir.join("app.py"),
        "import fnhost\napp = fnhost.App()\ndef f(:\n",
    )
    .unwrap();
    let broken = fnhost(&["run", dir.join("app.py").to_str().unwrap()]);
    assert!(!broken.status.success());
    let error = stderr(&broken);
    let last = error.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: cannot build")
            && last.contains("SyntaxError")
            && last.contains("app.py, line 3"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Builds `source` as `DIR/app.py`, which must fail: the last line of the error.
fn python_build_error(dir: &std::path::Path, source: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("app.py"), source).unwrap();
    let output = fnhost(&["run", dir.join("app.py").to_str().unwrap()]);
    let error = stderr(&output);
    assert!(!output.status.success(), "built: {error}");
    assert!(!error.contains("panicked"), "{error}");
    error.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn markers_above_app_function_stop_the_build_as_on_modal() {
    let dir = scratch_dir("python-marker-order");
    for (name, marker) in [
        ("web", "@fnhost.web_endpoint()"),
        ("batched", "@fnhost.batched(max_batch_size=2, wait_ms=10)"),
        ("concurrent", "@fnhost.concurrent(max_inputs=2)"),
    ] {
        let source = format!(
            "import fnhost\napp = fnhost.App()\n\n{marker}\n@app.function()\n\
             def f(x):\n    return x\n"
        );
        let error = python_build_error(&dir.join(name), &source);
        let name = marker.split('(').next().unwrap();
        assert!(
            error.contains(&format!("`{name}` is written above `@app.function()`")),
            "{error}"
        );
    }
    let on_method = python_build_error(
        &dir.join("method"),
        "import fnhost\napp = fnhost.App()\n\n@app.cls()\nclass C:\n    \
         @fnhost.concurrent(max_inputs=2)\n    @fnhost.method()\n    def m(self):\n        \
         return 1\n",
    );
    assert!(on_method.contains("put it on the class"), "{on_method}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_schedule_that_cannot_run_stops_the_load_naming_why() {
    let dir = scratch_dir("python-schedules");
    for (name, function, expected) in [
        (
            "params",
            "@app.function(schedule=fnhost.Period(minutes=5))\ndef f(x):\n    return x\n",
            "a scheduled function is run with no arguments, and this one takes x",
        ),
        (
            "zone",
            "@app.function(schedule=fnhost.Cron(\"0 9 * * *\", timezone=\"Mars/Olympus\"))\n\
             def f():\n    return 1\n",
            "`Mars/Olympus` is not a time zone",
        ),
        (
            "expression",
            "@app.function(schedule=fnhost.Cron(\"0 25 * * *\"))\ndef f():\n    return 1\n",
            "`0 25 * * *` is not a cron expression",
        ),
        (
            "short",
            "@app.function(schedule=fnhost.Period(seconds=0.5))\ndef f():\n    return 1\n",
            "a period is at least one second",
        ),
    ] {
        let source = format!("import fnhost\napp = fnhost.App()\n\n{function}");
        let error = python_build_error(&dir.join(name), &source);
        assert!(error.contains(expected), "{name}: {error}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_web_endpoint_that_cannot_be_served_stops_the_load_naming_why() {
    let dir = scratch_dir("python-web-endpoints");
    for (name, endpoint, expected) in [
        (
            "method",
            "@app.cls()\nclass C:\n    size: int = fnhost.parameter()\n\n    \
             @fnhost.fastapi_endpoint()\n    def web(self):\n        return self.size\n",
            "method `web` is a web endpoint, which runs on the instance of the class's defaults: \
             the parameter `size` needs a default",
        ),
        (
            "label",
            "@app.function()\n@fnhost.fastapi_endpoint(label=\"a/b\")\ndef f():\n    return 1\n",
            "the label `a/b` is not one path segment",
        ),
        (
            "factory",
            "@app.function()\n@fnhost.asgi_app()\ndef f(x):\n    return x\n",
            "f: an @asgi_app body takes no arguments; it returns the app",
        ),
    ] {
        let source = format!("import fnhost\napp = fnhost.App()\n\n{endpoint}");
        let error = python_build_error(&dir.join(name), &source);
        assert!(error.contains(expected), "{name}: {error}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_python_image_bundles_pip_packages_and_refuses_what_wasm_cannot_run() {
    // A real package from PyPI, installed by the build and imported by the function.
    let call = fnhost(&[
        "call",
        "tests/guests-py/packages/app.py",
        "describe",
        "1234567",
    ]);
    assert!(call.status.success(), "{}", stderr(&call));
    assert_eq!(stdout(&call), "\"hello: 1,234,567, 1.2 MB, six 1.17.0\"\n");
    let warned = stderr(&call);
    assert!(
        warned.contains("gpu= (app.py, line 19), region= (app.py, line 19)"),
        "{warned}"
    );
    assert!(warned.contains("asked=3.12 runs=3.14"), "{warned}");
    // Built once: the second call neither installs nor builds.
    // Modules a body imports, and nothing at module level, are there at run time.
    let lazy = fnhost(&["call", "tests/guests-py/packages/app.py", "lazy_imports"]);
    assert!(lazy.status.success(), "{}", stderr(&lazy));
    assert_eq!(stdout(&lazy), "[\"1/3,2.0 kB\", 6]\n");
    let factors = fnhost(&["call", "tests/guests-py/packages/app.py", "factors", "84"]);
    assert!(factors.status.success(), "{}", stderr(&factors));
    assert_eq!(stdout(&factors), "[2, 2, 3, 7]\n");
    let again = fnhost(&["call", "tests/guests-py/packages/app.py", "describe", "5"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!stderr(&again).contains("installing"), "{}", stderr(&again));
    assert!(!stderr(&again).contains("building"), "{}", stderr(&again));

    let dir = scratch_dir("python-images");
    let refused = |name: &str, image: &str| -> String {
        let source = format!(
            "import fnhost\nimage = {image}\napp = fnhost.App(image=image)\n\n\
             @app.function()\ndef f():\n    return 1\n"
        );
        python_build_error(&dir.join(name), &source)
    };
    let apt = refused("apt", r#"fnhost.Image.debian_slim().apt_install("git")"#);
    assert!(
        apt.contains("Image.apt_install (app.py, line 2)") && apt.contains("WebAssembly"),
        "{apt}"
    );
    let native = refused(
        "native",
        r#"fnhost.Image.debian_slim().pip_install("numpy")"#,
    );
    assert!(
        native.contains("`numpy` has no pure-Python wheel") && native.contains("native"),
        "{native}"
    );
    // A pure package whose dependency is native (Jinja's MarkupSafe), with several versions
    // to choose from: pip reports a conflict, the build names the dependency.
    let dependency = refused(
        "dependency",
        r#"fnhost.Image.debian_slim().pip_install("jinja2>=3.1.5")"#,
    );
    assert!(
        dependency.contains("`MarkupSafe>=2.0` has no pure-Python wheel")
            && dependency.contains("(pip: jinja2 3.")
            && dependency.contains("depends on it)"),
        "{dependency}"
    );
    let elsewhere = refused(
        "elsewhere",
        r#"fnhost.Image.debian_slim().add_local_python_source("nowhere")"#,
    );
    assert!(elsewhere.contains("`nowhere` is not in"), "{elsewhere}");
    // Packages the source does not spell out cannot be installed before the build: the SDK
    // stops the build at the call.
    let computed = refused(
        "computed",
        r#"fnhost.Image.debian_slim().pip_install(*"six".split())"#,
    );
    assert!(
        computed.contains("pip_install('six')") && computed.contains("string literals"),
        "{computed}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_exits_non_zero_with_one_clear_line() {
    let dir = std::env::temp_dir().join(format!("fnhost-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_wasm = dir.join("not-a-component.wasm");
    std::fs::write(&not_wasm, b"hello").unwrap();
    let not_wasm = not_wasm.to_str().unwrap();

    let cases: [(&[&str], &str); 12] = [
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
        (
            &["call", "examples/hello", "async_function", "[1,2,3]"],
            "`async_function` takes 0 arguments, 3 given",
        ),
        (
            &["call", "tests/guests/calls", "describe_sum", "[2, 3]"],
            "`describe_sum` takes 3 arguments (a, b, label), 2 given",
        ),
        (
            &["call", "tests/guests/calls", "greet"],
            "`greet` takes 1 argument (name), 0 given",
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

#[test]
fn large_arguments_come_from_a_file_stdin_or_a_fifo() {
    // 300 000 bytes of string: past what one command-line argument may hold (128 KiB).
    let text = "x".repeat(300_000);
    let json = serde_json::to_vec(&text).unwrap();
    let dir = scratch_dir("input");
    let file = dir.join("args.json");
    std::fs::write(&file, &json).unwrap();
    let file = file.to_str().unwrap();

    let output = fnhost(&["call", "tests/guests/calls", "text_len", "--input", file]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "300000\n");

    let output = fnhost_with_stdin(
        &["call", "tests/guests/calls", "text_len", "--input", "-"],
        json.clone(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "300000\n");

    let fifo = dir.join("args.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        // Opening a FIFO to write waits for its reader: fnhost.
        std::thread::spawn(move || std::fs::write(fifo, json))
    };
    let output = fnhost(&[
        "call",
        "tests/guests/calls",
        "text_len",
        "--input",
        fifo.to_str().unwrap(),
    ]);
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "300000\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_oversized_or_endless_input_fails_fast() {
    let started = Instant::now();
    let output = fnhost(&[
        "call",
        "tests/guests/calls",
        "text_len",
        "--input",
        "/dev/zero",
    ]);
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(
        error.starts_with("error: --input /dev/zero: more than ")
            && error.contains("arguments may take at most 16 MiB"),
        "{error}"
    );
    // It stopped reading at the limit, before building or loading anything.
    assert!(started.elapsed() < Duration::from_secs(20), "{error}");

    let output = fnhost_with_stdin(
        &["call", "tests/guests/calls", "text_len", "--input", "-"],
        vec![b' '; 17 << 20],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).starts_with("error: --input stdin: more than "),
        "{}",
        stderr(&output)
    );

    let output = fnhost(&[
        "call",
        "tests/guests/calls",
        "text_len",
        "\"x\"",
        "--input",
        "/dev/null",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );

    let output = fnhost(&[
        "call",
        "tests/guests/calls",
        "text_len",
        "--input",
        "does/not/exist.json",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).starts_with("error: --input does/not/exist.json: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn env_keys_are_checked_and_the_last_value_wins() {
    for (grant, message) in [
        ("=x", "the variable has no name"),
        ("GREETING", "expected KEY=VALUE"),
    ] {
        let output = fnhost(&["list", "examples/faults", "--env", grant]);
        assert!(!output.status.success(), "{grant}");
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
    }

    let output = fnhost(&[
        "call",
        "tests/guests/calls",
        "env_var",
        "\"GREETING\"",
        "--env",
        "GREETING=hello",
        "--env",
        "OTHER=1",
        "--env",
        "GREETING=hi=there",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "\"hi=there\"\n");

    // Repeating a key makes one variable, not two.
    let probe = |grants: &[&str]| {
        let mut args = vec!["call", "tests/guests/calls", "sandbox_probe"];
        for grant in grants {
            args.extend(["--env", grant]);
        }
        let output = fnhost(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        let report: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
        report
            .into_iter()
            .find(|line| line.starts_with("env: "))
            .unwrap()
    };
    assert_eq!(probe(&["A=1", "A=2", "A=3"]), probe(&["A=3"]));
    assert_ne!(probe(&["A=1", "B=2"]), probe(&["A=3"]));
}

#[test]
fn an_entrypoint_exit_status_is_the_commands() {
    let output = fnhost(&["run", "examples/faults::quits_early"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "done early\n");
    assert!(!stderr(&output).contains("error"), "{}", stderr(&output));

    // `exit(3)`: WASI 0.2's exit says failure, which wasmtime reports as status 1.
    let output = fnhost(&["run", "examples/faults::quits"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "quitting\n");
    assert!(!stderr(&output).contains("error"), "{}", stderr(&output));
}

#[test]
fn results_of_any_depth_are_printed() {
    for depth in [200, 100_000] {
        let output = fnhost(&["call", "tests/guests/calls", "nested", &depth.to_string()]);
        assert!(output.status.success(), "{depth}: {}", stderr(&output));
        let expected = format!("{}null{}\n", "[".repeat(depth), "]".repeat(depth));
        assert!(
            stdout(&output) == expected,
            "{depth}: not the nested arrays"
        );
    }
}

/// `fnhost dict` and `fnhost queue` on the store of `state_dir`.
fn in_state_dir(state_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    support::command(args)
        .env("FNHOST_STATE_DIR", state_dir)
        .output()
        .expect("fnhost runs")
}

#[test]
fn dict_and_queue_commands_read_and_change_the_store() {
    let state = scratch_dir("storage-commands");
    let ok = |args: &[&str]| {
        let output = in_state_dir(&state, args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };
    ok(&["dict", "put", "scores", "alice", "3"]);
    ok(&["dict", "put", "scores", r#"{"id":7}"#, r#"{"x": [1, 2]}"#]);
    assert_eq!(
        ok(&["dict", "put", "scores", "alice", "4", "--skip-if-exists"]),
        "false\n"
    );
    assert_eq!(ok(&["dict", "get", "scores", "alice"]), "3\n");
    assert_eq!(ok(&["dict", "get", "scores", "bob"]), "null\n");
    assert_eq!(
        ok(&["dict", "items", "scores"]),
        "[\"alice\",3]\n[{\"id\":7},{\"x\":[1,2]}]\n"
    );
    assert_eq!(ok(&["dict", "list"]), "scores\n");
    ok(&["queue", "put", "jobs", "1", "two", "--partition", "p"]);
    assert_eq!(ok(&["queue", "len", "jobs", "--total"]), "2\n");
    assert_eq!(
        ok(&["queue", "get", "jobs", "-n", "5", "--partition", "p"]),
        "1\n\"two\"\n"
    );
    assert_eq!(ok(&["queue", "get", "jobs", "--timeout", "10ms"]), "");
    let missing = in_state_dir(&state, &["dict", "get", "nothing", "k"]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no dict named `nothing`"),
        "{}",
        stderr(&missing)
    );
    ok(&["dict", "delete", "scores"]);
    assert_eq!(ok(&["dict", "list"]), "");
    std::fs::remove_dir_all(state).unwrap();
}

#[test]
fn what_a_killed_run_acknowledged_is_in_the_store() {
    use std::io::{BufRead, BufReader};
    let state = scratch_dir("storage-kill");
    let mut run = support::command(&["run", "tests/guests/storage::fill"])
        .env("FNHOST_STATE_DIR", &state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("fnhost runs");
    let mut lines = BufReader::new(run.stdout.take().unwrap()).lines();
    let mut acked = None;
    // Killed mid-stream, after some hundreds of acknowledged puts.
    for line in lines.by_ref() {
        let line = line.unwrap();
        let n: u64 = line.strip_prefix("acked ").unwrap().parse().unwrap();
        acked = Some(n);
        if n == 300 {
            run.kill().unwrap();
            break;
        }
    }
    // Lines written before the kill may still be in the pipe: each is acknowledged too.
    for line in lines.map_while(Result::ok) {
        acked = line
            .strip_prefix("acked ")
            .and_then(|n| n.parse().ok())
            .or(acked);
    }
    run.wait().unwrap();
    let acked = acked.expect("the run acknowledged puts before it was killed");
    let items = in_state_dir(&state, &["dict", "items", "durable"]);
    assert!(items.status.success(), "{}", stderr(&items));
    let kept: Vec<String> = stdout(&items).lines().map(str::to_owned).collect();
    for n in 0..=acked {
        assert!(
            kept.contains(&format!("[{n},{n}]")),
            "acknowledged key {n} was lost"
        );
    }
    let len = in_state_dir(&state, &["queue", "len", "durable"]);
    let len: u64 = stdout(&len).trim().parse().unwrap();
    assert!(len > acked, "{len} items kept, {} acknowledged", acked + 1);
    std::fs::remove_dir_all(state).unwrap();
}

#[test]
fn volume_commands_fill_a_volume_a_function_reads() {
    let state = scratch_dir("volume-commands");
    let ok = |args: &[&str]| {
        let output = in_state_dir(&state, args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };
    let local = state.join("upload");
    std::fs::create_dir_all(local.join("sub")).unwrap();
    std::fs::write(local.join("a.txt"), "alpha").unwrap();
    std::fs::write(local.join("sub/b.txt"), "beta!").unwrap();
    ok(&["volume", "create", "files"]);
    let again = in_state_dir(&state, &["volume", "create", "files"]);
    assert!(!again.status.success());
    ok(&["volume", "put", "files", local.to_str().unwrap(), "/in/"]);
    assert_eq!(
        ok(&["volume", "ls", "files", "/in/upload"]),
        "file               5 in/upload/a.txt\ndir                0 in/upload/sub\n"
    );
    assert_eq!(
        ok(&["volume", "get", "files", "in/upload/sub/b.txt", "-"]),
        "beta!"
    );
    // A function that mounts the volume, in another process, reads what was put.
    let read = ok(&[
        "call",
        "tests/guests/storage",
        "volume_read",
        r#""in/upload/a.txt""#,
    ]);
    assert_eq!(read, "\"alpha\"\n");
    let escape = in_state_dir(&state, &["volume", "get", "files", "../store.redb", "-"]);
    assert!(!escape.status.success());
    ok(&["volume", "rm", "files", "in", "-r"]);
    assert_eq!(ok(&["volume", "ls", "files"]), "");
    assert_eq!(ok(&["volume", "list"]), "files\n");
    ok(&["volume", "delete", "files"]);
    assert_eq!(ok(&["volume", "list"]), "");
    assert!(
        std::fs::read_dir(state.join("volumes"))
            .unwrap()
            .next()
            .is_none()
    );
    std::fs::remove_dir_all(state).unwrap();
}

#[test]
fn the_jobs_example_feeds_workers_through_a_queue_into_a_dict() {
    let state = scratch_dir("jobs-example");
    for _ in 0..2 {
        // A second run finds the named dict and queue of the first, and starts them afresh.
        let output = in_state_dir(&state, &["run", "examples/jobs-py/app.py"]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(
            stdout(&output),
            "done: 100, kept: 100, sum: 328350\nreport: squares.txt, 100 lines\n"
        );
    }
    std::fs::remove_dir_all(state).unwrap();
}

#[test]
fn a_secret_reaches_its_function_and_its_value_is_never_printed() {
    let state = scratch_dir("secrets");
    let value = "sk-live-do-not-print-7f3a9c";
    let dotenv = state.join("api.env");
    std::fs::write(&dotenv, "# the API\nexport REGION=eu\n").unwrap();
    let run = |args: &[&str]| {
        support::command(args)
            .env("FNHOST_STATE_DIR", &state)
            .env("FNHOST_LOG", "debug")
            .output()
            .expect("fnhost runs")
    };
    let outputs = [
        run(&[
            "secret",
            "create",
            "fnhost-test-api",
            &format!("API_KEY={value}"),
            "--from-dotenv",
            dotenv.to_str().unwrap(),
        ]),
        run(&[
            "secret",
            "create",
            "fnhost-test-api",
            &format!("API_KEY={value}"),
        ]),
        run(&["secret", "list"]),
        run(&[
            "call",
            "tests/guests/storage",
            "secret_length",
            "\"API_KEY\"",
        ]),
        run(&["call", "tests/guests/storage", "env_length", "\"API_KEY\""]),
        run(&["list", "tests/guests/storage", "--json"]),
    ];
    assert!(outputs[0].status.success(), "{}", stderr(&outputs[0]));
    assert!(
        !outputs[1].status.success(),
        "a second create without --force is refused"
    );
    assert!(
        stderr(&outputs[1]).contains("exists"),
        "{}",
        stderr(&outputs[1])
    );
    assert_eq!(stdout(&outputs[2]), "fnhost-test-api\tAPI_KEY, REGION\n");
    assert_eq!(
        stdout(&outputs[3]),
        format!("{}\n", value.len()),
        "{}",
        stderr(&outputs[3])
    );
    assert_eq!(stdout(&outputs[4]), "null\n");
    assert!(stdout(&outputs[5]).contains("fnhost-test-api"));
    for output in &outputs {
        let all = format!("{}{}", stdout(output), stderr(output));
        assert!(!all.contains(value), "a secret's value was printed: {all}");
    }
    let deleted = run(&["secret", "delete", "fnhost-test-api"]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert_eq!(stdout(&run(&["secret", "list"])), "");
    std::fs::remove_dir_all(state).unwrap();
}
