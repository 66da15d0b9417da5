//! Sandboxes through the host library: `python` and `wasi:cli` commands run as processes of
//! isolated sandboxes, fed through stdin and read from stdout as they write, within their
//! limits; hostile programs end with a clear result and leave the host serving.

use fnhost::sandbox::{ExecOptions, ExitReason, Process, Sandbox, SandboxOptions};
use fnhost::{Error, Host, HostSettings};
use fnhost_tests::command;
use std::time::Duration;

/// A host of the test's own, with few slots (tests make many hosts at once, and each reserves
/// address space for its slots; a sandbox's process takes one while it runs).
fn host() -> Host {
    Host::new(HostSettings {
        max_instances: 64,
        ..HostSettings::default()
    })
    .expect("the host starts")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|arg| arg.to_string()).collect()
}

/// Everything the process writes to stdout, until its end.
async fn stdout(process: &Process) -> String {
    let mut out = Vec::new();
    while let Some(bytes) = process.read_stdout(1 << 16).await {
        out.extend_from_slice(&bytes);
    }
    String::from_utf8(out).unwrap()
}

async fn stderr(process: &Process) -> String {
    let mut out = Vec::new();
    while let Some(bytes) = process.read_stderr(1 << 16).await {
        out.extend_from_slice(&bytes);
    }
    String::from_utf8(out).unwrap()
}

async fn sandbox(host: &Host) -> Sandbox {
    host.sandboxes()
        .create(SandboxOptions::default())
        .await
        .expect("the sandbox is made")
}

/// Runs `list` in `sandbox` to its end: its stdout, stderr and exit.
async fn run(sandbox: &Sandbox, list: &[&str]) -> (String, String, fnhost::sandbox::ProcessExit) {
    let process = sandbox
        .exec(args(list), ExecOptions::default())
        .await
        .unwrap_or_else(|error| panic!("{list:?} starts: {error}"));
    let (out, err) = tokio::join!(stdout(&process), stderr(&process));
    (out, err, process.wait().await)
}

#[tokio::test(flavor = "multi_thread")]
async fn python_runs_code_files_and_modules_with_cpythons_exit_codes() {
    let host = host();
    let sandbox = sandbox(&host).await;
    let (out, _, exit) = run(&sandbox, &["python", "-c", "print(1)"]).await;
    assert_eq!(
        (out.as_str(), exit.code, exit.reason),
        ("1\n", 0, ExitReason::Exited)
    );
    // A module of the standard library the build did not load comes from `/python`.
    let (out, err, exit) = run(
        &sandbox,
        &[
            "python",
            "-c",
            "import fractions, sys; print(fractions.Fraction(2, 6), sys.argv)",
            "a",
        ],
    )
    .await;
    assert_eq!((out.as_str(), exit.code), ("1/3 ['-c', 'a']\n", 0), "{err}");
    let (_, _, exit) = run(&sandbox, &["python", "-c", "import sys; sys.exit(5)"]).await;
    assert_eq!((exit.code, exit.reason), (5, ExitReason::Exited));
    let (_, err, exit) = run(&sandbox, &["python", "-c", "1 / 0"]).await;
    assert_eq!(exit.code, 1);
    assert!(err.contains("ZeroDivisionError: division by zero"), "{err}");
    assert!(
        !err.contains("fnhost_python"),
        "the interpreter's own frames show: {err}"
    );
    // A file written by one process runs in the next: the sandbox's files are shared.
    let (_, err, exit) = run(
        &sandbox,
        &[
            "python",
            "-c",
            "open('/tmp/prog.py', 'w').write('import sys\\nprint(\"file\", sys.argv[1:])\\n')",
        ],
    )
    .await;
    assert_eq!(exit.code, 0, "{err}");
    let (out, _, _) = run(&sandbox, &["python", "/tmp/prog.py", "x"]).await;
    assert_eq!(out, "file ['x']\n");
    let (out, _, _) = run(&sandbox, &["python", "-m", "json.tool", "--help"]).await;
    assert!(out.contains("usage"), "{out}");
    sandbox.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_lived_interpreter_keeps_its_state_between_snippets() {
    // Modal's code interpreter: a driver reads JSON lines of code from stdin, runs each in one
    // namespace, and answers a JSON line on stdout.
    let driver = r#"
import json, sys
from contextlib import redirect_stdout
from io import StringIO
state = {}
for line in sys.stdin:
    out = StringIO()
    with redirect_stdout(out):
        try:
            exec(json.loads(line)["code"], state)
        except Exception as error:
            print("error:", error)
    print(json.dumps({"stdout": out.getvalue()}), flush=True)
"#;
    let host = host();
    let sandbox = sandbox(&host).await;
    let process = sandbox
        .exec(args(&["python", "-c", driver]), ExecOptions::default())
        .await
        .unwrap();
    let mut pending = String::new();
    let mut answer = async |code: &str| -> String {
        let line = format!("{}\n", serde_json::json!({ "code": code }));
        assert!(process.write_stdin(line.as_bytes()).await);
        process.drain_stdin().await;
        while !pending.contains('\n') {
            let bytes = process
                .read_stdout(1 << 16)
                .await
                .expect("the driver answers");
            pending.push_str(std::str::from_utf8(&bytes).unwrap());
        }
        let (line, rest) = pending.split_once('\n').unwrap();
        let answer: serde_json::Value = serde_json::from_str(line).unwrap();
        pending = rest.to_owned();
        answer["stdout"].as_str().unwrap().to_owned()
    };
    assert_eq!(answer("print('hello, world!')").await, "hello, world!\n");
    assert_eq!(answer("x = 10").await, "");
    assert_eq!(answer("y = 5").await, "");
    assert_eq!(
        answer("print(f'The result is: {x + y}')").await,
        "The result is: 15\n"
    );
    assert_eq!(answer("1 / 0").await, "error: division by zero\n");
    process.close_stdin();
    assert_eq!(process.wait().await.code, 0);
    sandbox.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn python_reads_stdin_as_a_script_and_interactively() {
    let host = host();
    let sandbox = sandbox(&host).await;
    let script = sandbox
        .exec(args(&["python"]), ExecOptions::default())
        .await
        .unwrap();
    assert!(script.write_stdin(b"x = 2\nprint(x * 21)\n").await);
    script.close_stdin();
    assert_eq!(stdout(&script).await, "42\n");
    let repl = sandbox
        .exec(args(&["python", "-i"]), ExecOptions::default())
        .await
        .unwrap();
    assert!(repl.write_stdin(b"x = 6\nx * 7\n").await);
    repl.close_stdin();
    // As CPython's: values on stdout, the banner and prompts on stderr.
    let (out, err) = tokio::join!(stdout(&repl), stderr(&repl));
    assert_eq!(out, "42\n");
    assert!(err.contains(">>> "), "{err}");
    sandbox.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_run_from_the_sandboxs_files_or_registered_by_name() {
    let tool = command("tool");
    let host = host();
    host.sandboxes().register_program("tool", &tool);
    let sandbox = host
        .sandboxes()
        .create(SandboxOptions {
            env: vec![("GREETING".into(), "hi".into())],
            workdir: Some("/tmp".into()),
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
    let (out, _, exit) = run(&sandbox, &["tool", "echo", "a", "b"]).await;
    assert_eq!((out.as_str(), exit.code), ("a b\n", 0));
    let (out, _, _) = run(&sandbox, &["tool", "env", "GREETING"]).await;
    assert_eq!(out, "hi\n");
    // The working directory is `initial-cwd`: python takes it (wasi-libc, and so a Rust
    // command, starts in `/` whatever it says).
    let (out, _, _) = run(&sandbox, &["python", "-c", "import os; print(os.getcwd())"]).await;
    assert_eq!(out, "/tmp\n");
    // WASI 0.2's `exit` carries success or failure only: a command's status is 0 or 1.
    let (_, _, exit) = run(&sandbox, &["tool", "exit", "3"]).await;
    assert_eq!((exit.code, exit.reason), (1, ExitReason::Exited));
    let (_, _, exit) = run(&sandbox, &["tool", "exit", "0"]).await;
    assert_eq!(exit.code, 0);
    // Put into the sandbox by a process (its bytes through stdin), then run by its path.
    let copier = sandbox
        .exec(
            args(&[
                "python",
                "-c",
                "import sys; open('/tmp/t.wasm', 'wb').write(sys.stdin.buffer.read())",
            ]),
            ExecOptions::default(),
        )
        .await
        .unwrap();
    assert!(copier.write_stdin(&std::fs::read(&tool).unwrap()).await);
    copier.close_stdin();
    assert_eq!(copier.wait().await.code, 0);
    let (out, _, _) = run(&sandbox, &["/tmp/t.wasm", "echo", "from", "files"]).await;
    assert_eq!(out, "from files\n");
    let (out, _, _) = run(&sandbox, &["./t.wasm", "echo", "relative"]).await;
    assert_eq!(out, "relative\n");
    // stdin piped through a command.
    let cat = sandbox
        .exec(args(&["tool", "cat"]), ExecOptions::default())
        .await
        .unwrap();
    assert!(cat.write_stdin(b"line 1\nline 2\n").await);
    cat.close_stdin();
    assert_eq!(stdout(&cat).await, "line 1\nline 2\n");
    for native in ["bash", "node", "apt"] {
        let Err(Error::NotFound(message)) = sandbox
            .exec(args(&[native, "-c", "true"]), ExecOptions::default())
            .await
        else {
            panic!("{native} ran");
        };
        assert!(
            message.contains(&format!("`{native}` cannot run in a sandbox")),
            "{message}"
        );
        assert!(
            message.contains("tool"),
            "registered programs are named: {message}"
        );
    }
    let missing = sandbox
        .exec(args(&["/tmp/none.wasm"]), ExecOptions::default())
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound(_))),
        "{:?}",
        missing.err()
    );
    run(&sandbox, &["tool", "write", "/tmp/bad.wasm", "not wasm"]).await;
    let Err(Error::BadArguments(message)) = sandbox
        .exec(args(&["/tmp/bad.wasm"]), ExecOptions::default())
        .await
    else {
        panic!("a text file ran");
    };
    assert!(
        message.contains("is not a WebAssembly component"),
        "{message}"
    );
    sandbox.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn processes_share_files_but_no_memory() {
    let host = host();
    let sandbox = sandbox(&host).await;
    let (_, _, exit) = run(
        &sandbox,
        &[
            "python",
            "-c",
            "import builtins; builtins.shared = 1; open('/data.txt', 'w').write('kept')",
        ],
    )
    .await;
    assert_eq!(exit.code, 0);
    let (out, _, _) = run(
        &sandbox,
        &[
            "python",
            "-c",
            "import builtins; print(open('/data.txt').read(), hasattr(builtins, 'shared'))",
        ],
    )
    .await;
    assert_eq!(out, "kept False\n");
    // Another sandbox has files of its own.
    let other = self::sandbox(&host).await;
    let (_, err, exit) = run(&other, &["python", "-c", "open('/data.txt')"]).await;
    assert_eq!(exit.code, 1);
    assert!(err.contains("FileNotFoundError"), "{err}");
    sandbox.terminate().await;
    other.terminate().await;
    // A volume is mounted read-write, shared with the host's functions and clients.
    let with_volume = host
        .sandboxes()
        .create(SandboxOptions {
            volumes: vec![fnhost::VolumeMount {
                path: "/data".into(),
                volume: "sandbox-data".into(),
                create_if_missing: true,
            }],
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
    let (_, err, exit) = run(
        &with_volume,
        &[
            "python",
            "-c",
            "open('/data/note.txt', 'w').write('from a sandbox')",
        ],
    )
    .await;
    assert_eq!(exit.code, 0, "{err}");
    let volume = host
        .storage()
        .unwrap()
        .volume("sandbox-data", false)
        .await
        .unwrap();
    assert_eq!(volume.read("note.txt").await.unwrap(), b"from a sandbox");
    with_volume.terminate().await;
    assert_eq!(
        volume.read("note.txt").await.unwrap(),
        b"from a sandbox",
        "the volume outlives the sandbox"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_programs_end_with_a_clear_result_and_the_host_serves_on() {
    let host = host();
    let bystander = sandbox(&host).await;
    let hostile = host
        .sandboxes()
        .create(SandboxOptions {
            memory: Some(256),
            cpu_time: Some(Duration::from_secs(2)),
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
    let quick = ExecOptions {
        timeout: Some(Duration::from_secs(2)),
        ..ExecOptions::default()
    };
    // An infinite loop: stopped at its timeout, or its CPU time, whichever comes first.
    let spin = hostile
        .exec(args(&["python", "-c", "while True: pass"]), quick.clone())
        .await
        .unwrap();
    let exit = spin.wait().await;
    assert!(
        matches!(exit.reason, ExitReason::Timeout | ExitReason::CpuTime),
        "{exit:?}"
    );
    // A memory bomb: stopped at the sandbox's limit, reported as such.
    let (_, _, exit) = run(
        &hostile,
        &[
            "python",
            "-c",
            "x = []\nwhile True: x.append(bytearray(1 << 20))",
        ],
    )
    .await;
    assert_eq!(
        (exit.reason, exit.code),
        (ExitReason::Memory, 137),
        "{exit:?}"
    );
    assert!(exit.message.unwrap().contains("memory limit of 256 MiB"));
    assert_eq!(
        host.memory_in_use(),
        0,
        "the process's memory is given back"
    );
    // An output flood nobody reads: the process waits on its full pipe until its timeout; the
    // host holds at most a pipe's worth of it.
    let flood = hostile
        .exec(
            args(&["python", "-c", "while True: print('x' * 1000)"]),
            quick.clone(),
        )
        .await
        .unwrap();
    assert_eq!(flood.wait().await.reason, ExitReason::Timeout);
    // The host's files, processes and network are not there.
    let (_, err, exit) = run(&hostile, &["python", "-c", "open('/etc/passwd').read()"]).await;
    assert_eq!(exit.code, 1);
    assert!(err.contains("FileNotFoundError"), "{err}");
    let (out, _, _) = run(
        &hostile,
        &["python", "-c", "import os\ntry:\n    os.fork()\nexcept Exception as e:\n    print(type(e).__name__)\ntry:\n    import subprocess; subprocess.run(['ls'])\nexcept Exception as e:\n    print(type(e).__name__)"],
    )
    .await;
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(!out.contains("passwd"), "{out}");
    let (out, err, _) = run(
        &hostile,
        &["python", "-c", "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n    print('connected')\nexcept Exception as e:\n    print('refused', type(e).__name__)"],
    )
    .await;
    assert!(out.starts_with("refused"), "{out}{err}");
    // The other sandbox served throughout.
    let (out, _, _) = run(&bystander, &["python", "-c", "print(6 * 7)"]).await;
    assert_eq!(out, "42\n");
    hostile.terminate().await;
    bystander.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commands_cpu_time_is_limited_and_reported() {
    let host = host();
    host.sandboxes().register_program("tool", command("tool"));
    let sandbox = host
        .sandboxes()
        .create(SandboxOptions {
            cpu_time: Some(Duration::from_millis(200)),
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
    let (_, _, exit) = run(&sandbox, &["tool", "spin"]).await;
    assert_eq!((exit.reason, exit.code), (ExitReason::CpuTime, 152));
    assert!(exit.cpu_ms >= 200, "{exit:?}");
    sandbox.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sandbox_ends_once_and_releases_what_it_held() {
    let host = host();
    let sandboxes = host.sandboxes();
    let sandbox = sandbox(&host).await;
    let id = sandbox.id().to_owned();
    assert!(id.starts_with("sb-") && id.len() == 35, "{id}");
    let running = sandbox
        .exec(
            args(&["python", "-c", "import time; time.sleep(600)"]),
            ExecOptions::default(),
        )
        .await
        .unwrap();
    assert!(
        sandboxes
            .list(false)
            .iter()
            .any(|info| info.id == id && info.running == 1)
    );
    // Found by id, as another process finds it (`Sandbox.from_id`).
    let found = sandboxes.get(&id).unwrap();
    assert_eq!(found.poll(), None);
    found.terminate().await;
    assert_eq!(sandbox.wait().await.code, 137);
    assert_eq!(running.wait().await.reason, ExitReason::Terminated);
    assert!(sandboxes.list(false).iter().all(|info| info.id != id));
    assert_eq!(
        sandboxes.get(&id).unwrap().poll().unwrap().reason,
        ExitReason::Terminated
    );
    assert!(
        sandbox
            .exec(args(&["python", "-c", "1"]), ExecOptions::default())
            .await
            .is_err()
    );
    // Its timeout and its idle timeout end it on their own.
    let short = sandboxes
        .create(SandboxOptions {
            timeout: Some(Duration::from_secs(1)),
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(short.wait().await.reason, ExitReason::Timeout);
    let idle = sandboxes
        .create(SandboxOptions {
            idle_timeout: Some(Duration::from_millis(300)),
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(idle.wait().await.reason, ExitReason::Idle);
    // An entrypoint's end is the sandbox's.
    let entry = sandboxes
        .create(SandboxOptions {
            command: args(&["python", "-c", "raise SystemExit(4)"]),
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(entry.wait().await.code, 4);
    // A host dropped ends its sandboxes.
    let host = self::host();
    let orphan = self::sandbox(&host).await;
    let sleeping = orphan
        .exec(
            args(&["python", "-c", "import time; time.sleep(600)"]),
            ExecOptions::default(),
        )
        .await
        .unwrap();
    drop(host);
    assert_eq!(sleeping.wait().await.reason, ExitReason::Terminated);
    assert_eq!(orphan.wait().await.reason, ExitReason::Terminated);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_keeps_a_thousand_idle_sandboxes() {
    let host = host();
    let sandboxes = host.sandboxes();
    let mut made = Vec::new();
    for _ in 0..1000 {
        made.push(sandboxes.create(SandboxOptions::default()).await.unwrap());
    }
    assert_eq!(sandboxes.stats().live, 1000);
    assert_eq!(
        host.memory_in_use(),
        0,
        "an idle sandbox holds no guest memory"
    );
    let (out, _, _) = run(&made[500], &["python", "-c", "print('still serving')"]).await;
    assert_eq!(out, "still serving\n");
    sandboxes.shutdown().await;
    assert_eq!(sandboxes.stats().live, 0);
    assert!(made.iter().all(|sandbox| sandbox.poll().is_some()));
    let error = sandboxes
        .create(SandboxOptions::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(error, Error::Cancelled(_)), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_function_makes_and_drives_sandboxes() {
    let component = fnhost_tests::python_guest("tests/guests-py/sandboxes/app.py");
    let host = host();
    let app = host.app().load([component]).await.expect("the app loads");
    let driven: serde_json::Value = app
        .function("drive")
        .unwrap()
        .remote(("import os; print('hi', os.environ['WHO'])",))
        .await
        .unwrap();
    assert_eq!(driven["out"], "hi guest\n", "{driven}");
    assert_eq!(driven["code"], 0);
    assert_eq!(driven["first"], "ONE\n");
    assert_eq!(driven["rest"], serde_json::json!(["TWO\n"]));
    assert_eq!(driven["refused"], true);
    assert_eq!(driven["same"], serde_json::Value::Null);
    // The function's sandbox is the host's: found by id here, alive after the call.
    let sandbox = host
        .sandboxes()
        .get(driven["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(sandbox.poll(), None);
    sandbox.terminate().await;
    let streamed: serde_json::Value = app
        .function("drive_async")
        .unwrap()
        .remote(("for i in range(3): print(i)",))
        .await
        .unwrap();
    assert_eq!(streamed, serde_json::json!([["0\n", "1\n", "2\n"], 0, 137]));
    let entry: serde_json::Value = app
        .function("entrypoint")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    assert_eq!(entry, serde_json::json!(["42\n", 0, "null"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sandboxs_image_packages_are_importable_by_its_python() {
    let host = host();
    let sandbox = host
        .sandboxes()
        .create(SandboxOptions {
            packages: vec!["humanize==4.9.0".into()],
            ..SandboxOptions::default()
        })
        .await
        .expect("the packages install");
    let (out, err, exit) = run(
        &sandbox,
        &[
            "python",
            "-c",
            "import humanize; print(humanize.intcomma(1234567))",
        ],
    )
    .await;
    assert_eq!((out.as_str(), exit.code), ("1,234,567\n", 0), "{err}");
    // Read-only: a process cannot change what other sandboxes share.
    let (_, err, _) = run(&sandbox, &["python", "-c", "open('/packages/x', 'w')"]).await;
    assert!(err.contains("Error"), "{err}");
    sandbox.terminate().await;
    let refused = host
        .sandboxes()
        .create(SandboxOptions {
            packages: vec!["numpy==2.1.0".into()],
            ..SandboxOptions::default()
        })
        .await
        .err()
        .expect("numpy has no wheel a sandbox can load");
    assert!(refused.to_string().contains("numpy"), "{refused}");
}
