//! `fnhost serve` and the commands that talk to it, run as a user runs them: a real server
//! child process on an ephemeral port with a state directory of its own, and every other
//! command a process of its own beside it. `fnhost map`, locally and against the server.

#[path = "support/serve.rs"]
mod support;

use std::io::Write;
use std::process::Output;
use std::time::Duration;
use support::{Server, command, fnhost, fnhost_with_stdin, scratch_dir, stderr, stdout};

/// The last line of `output`'s stderr, which must be its one error.
fn error_line(output: &Output) -> String {
    assert!(!output.status.success(), "succeeded: {}", stdout(output));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    let error = stderr(output);
    let last = error.lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("error: "), "{error}");
    assert!(!error.contains("panicked"), "{error}");
    last
}

#[test]
fn calls_spawn_and_get_go_through_the_server() {
    let state = scratch_dir("calls");
    let server = Server::start(&state, &["examples/hello"]);

    let output = server.run(&["call", "hello", "async_function"]);
    assert!(
        output.status.success(),
        "{}\n{}",
        stderr(&output),
        server.log()
    );
    assert_eq!(stdout(&output), "420\n");

    // FNHOST_URL does what --url does.
    let output = command(&["call", "hello", "async_function"])
        .env("FNHOST_URL", &server.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "420\n");

    // Spawned by one process, collected by another.
    let output = server.run(&["spawn", "hello", "async_function"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let id = stdout(&output).trim().to_owned();
    assert!(id.starts_with("fc-") && id.len() == 35, "{id}");
    let output = server.run(&["get", &id, "--timeout", "60s"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "420\n");
    let output = server.run(&["get", &id]);
    assert_eq!(stdout(&output), "420\n", "{}", stderr(&output));
    // Cancelling a finished call keeps its result.
    let output = server.run(&["cancel", &id]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&server.run(&["get", &id])), "420\n");

    let output = server.run(&["list", "hello", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let app: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(app["name"], "hello");
    let functions: Vec<&str> = app["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(functions.contains(&"async_function"), "{functions:?}");

    let unknown = "fc-00000000000000000000000000000001";
    let cases: [(&[&str], &str); 6] = [
        (&["get", unknown], "error: not found: "),
        (
            &["get", "nope"],
            "error: not found: `nope` is not a call id",
        ),
        (&["call", "hello", "nope"], "error: not found: "),
        (&["call", "nowhere", "f"], "error: not found: "),
        (
            &["call", "hello", "async_function", "[1, 2]"],
            "error: bad arguments: `async_function` takes 0 arguments, 2 given",
        ),
        (
            &["call", "hello", "async_function", "--timeout", "1s"],
            "error: --timeout is for an app loaded here",
        ),
    ];
    for (args, expected) in cases {
        let last = error_line(&server.run(args));
        assert!(last.starts_with(expected), "{args:?}: {last}");
    }
    // Nothing listens there: the server's address, once it is gone, is refused.
    let url = server.url.clone();
    drop(server);
    let last = error_line(&fnhost(&["apps", "--url", &url]));
    assert!(
        last.starts_with(&format!("error: cannot reach the server at {url}/")),
        "{last}"
    );
    std::fs::remove_dir_all(&state).unwrap();
}

#[test]
fn deploy_apps_map_and_undeploy() {
    let state = scratch_dir("deploy");
    let server = Server::start(&state, &[]);

    let output = server.run(&["apps"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 1, "only the header");

    let output = server.run(&["deploy", "tests/guests/calls", "--name", "numbers"]);
    assert!(
        output.status.success(),
        "{}\n{}",
        stderr(&output),
        server.log()
    );
    assert!(
        stdout(&output).starts_with("deployed `numbers` version 1: "),
        "{}",
        stdout(&output)
    );
    let output = server.run(&["apps", "--json"]);
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = listing["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|app| app["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["numbers"]);

    // Results come in input order, an input's error on its own line.
    let output = fnhost_with_stdin(
        &["map", "numbers", "fallible", "--url", &server.url],
        fallible_inputs(),
    );
    assert_fallible_results(&output);

    let output = server.run(&["undeploy", "numbers"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&server.run(&["apps"])).lines().count(), 1);
    let last = error_line(&server.run(&["undeploy", "numbers"]));
    assert!(last.starts_with("error: not found: "), "{last}");
    let last = error_line(&fnhost_with_stdin(
        &["map", "numbers", "fallible", "--url", &server.url],
        "1\n",
    ));
    assert!(last.starts_with("error: not found: "), "{last}");
    drop(server);
    std::fs::remove_dir_all(&state).unwrap();
}

#[test]
fn sigterm_stops_the_server_and_a_restart_keeps_its_apps() {
    let state = scratch_dir("restart");
    let server = Server::start(&state, &["examples/hello", "--name", "greeter"]);
    let output = server.run(&["call", "greeter", "async_function"]);
    assert_eq!(stdout(&output), "420\n", "{}", stderr(&output));
    let log = server.log();
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{log}");

    let server = Server::start(&state, &[]);
    let output = server.run(&["call", "greeter", "async_function"]);
    assert_eq!(
        stdout(&output),
        "420\n",
        "{}\n{}",
        stderr(&output),
        server.log()
    );
    let status = server.terminate();
    assert_eq!(status.code(), Some(0));
    std::fs::remove_dir_all(&state).unwrap();
}

/// A graceful stop that drops a request still running after the grace blames no guest: no
/// "worker panicked", no "timed out" for a request the server itself let go.
#[test]
fn a_graceful_stop_blames_no_guest() {
    let state = scratch_dir("graceful");
    let server = Server::start(
        &state,
        &["tests/guests/http-handler", "--name", "h", "--grace", "1s"],
    );
    let address = server.url.trim_start_matches("http://");
    let mut stalled = std::net::TcpStream::connect(address).unwrap();
    let head = "POST /web/h/count HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab";
    stalled.write_all(head.as_bytes()).unwrap();
    let in_flight = || {
        let mut client = std::net::TcpStream::connect(address).unwrap();
        let request = "GET /v1/apps/h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        client.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut client, &mut answer).unwrap();
        answer.contains("\"in_flight\":1")
    };
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !in_flight() {
        assert!(std::time::Instant::now() < give_up, "{}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (status, log) = server.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("dropping them"), "the drop is told: {log}");
    for blame in ["panicked", "timed out", "instance ended"] {
        assert!(!log.contains(blame), "{blame}: {log}");
    }
    drop(stalled);
    std::fs::remove_dir_all(&state).unwrap();
}

/// `serve` grants the apps it is given variables and directories, and `deploy` may grant a
/// directory only under one the server grants.
#[test]
fn serve_and_deploy_grant_variables_and_directories() {
    let state = scratch_dir("grants");
    let shared = scratch_dir("grants-shared");
    std::fs::write(shared.join("note.txt"), "from the host").unwrap();
    let granted = format!("{}::/data", shared.display());
    let server = Server::start(
        &state,
        &[
            "tests/guests/http-handler",
            "--name",
            "h",
            "--env",
            "GREETING=hi",
            "--dir-ro",
            &granted,
        ],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let get = |path: &str| {
        runtime.block_on(async {
            let response = reqwest::get(format!("{}/web/h{path}", server.url))
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    };
    assert_eq!(get("/env?name=GREETING"), (200, "hi".to_owned()));
    assert_eq!(
        get("/file?path=/data/note.txt"),
        (200, "from the host".to_owned())
    );

    let elsewhere = scratch_dir("grants-elsewhere");
    let output = server.run(&[
        "deploy",
        "tests/guests/http-handler",
        "--name",
        "h2",
        "--dir",
        elsewhere.to_str().unwrap(),
    ]);
    let last = error_line(&output);
    assert!(last.contains("--grantable-dir"), "{last}");
    // The directory `serve` granted is grantable to a deploy too.
    let output = server.run(&[
        "deploy",
        "tests/guests/http-handler",
        "--name",
        "h2",
        "--dir-ro",
        &granted,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    drop(server);
    for dir in [state, shared, elsewhere] {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_token_guards_the_server() {
    let state = scratch_dir("token");
    let server = Server::start(&state, &["examples/hello", "--token", "s3cret"]);
    let last = error_line(&server.run(&["call", "hello", "async_function"]));
    assert_eq!(last, "error: unauthorized");
    let output = server.run(&["call", "hello", "async_function", "--token", "s3cret"]);
    assert_eq!(stdout(&output), "420\n", "{}", stderr(&output));
    let output = command(&["apps", "--url", &server.url])
        .env("FNHOST_TOKEN", "s3cret")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let last = error_line(&server.run(&["apps", "--token", "wrong"]));
    assert_eq!(last, "error: unauthorized");
    drop(server);
    std::fs::remove_dir_all(&state).unwrap();
}

/// A result a client was given survives `kill -9`: it was on disk before the answer left.
#[test]
fn a_result_given_out_survives_a_kill() {
    let state = scratch_dir("journal");
    let server = Server::start(&state, &["examples/hello"]);
    let spawned = server.run(&["spawn", "hello", "async_function"]);
    assert!(spawned.status.success(), "{}", stderr(&spawned));
    let id = stdout(&spawned).trim().to_owned();
    let got = server.run(&["get", &id]);
    assert_eq!(stdout(&got), "420\n", "{}", stderr(&got));
    assert_kept_after_a_kill(server, &state, &id, "420\n");
}

/// A result a guest read by id (`FunctionCall.from_id`) survives `kill -9` as well: it was on
/// disk before the guest was given it.
#[test]
fn a_result_a_guest_read_by_id_survives_a_kill() {
    let state = scratch_dir("guest-journal");
    let server = Server::start(&state, &["tests/guests/calls", "--name", "calls"]);
    let spawned = server.run(&["spawn", "calls", "slow", "7"]);
    assert!(spawned.status.success(), "{}", stderr(&spawned));
    let id = stdout(&spawned).trim().to_owned();
    let arguments = format!(r#"["{id}", false]"#);
    let collected = server.run(&["call", "calls", "collect", &arguments]);
    assert_eq!(stdout(&collected), "7\n", "{}", stderr(&collected));
    assert_kept_after_a_kill(server, &state, &id, "7\n");
}

/// Kills `server` (SIGKILL: no graceful save), starts another on its `state`, and checks that
/// `fnhost get ID` still prints `printed`; then removes `state`.
fn assert_kept_after_a_kill(server: Server, state: &std::path::Path, id: &str, printed: &str) {
    drop(server);
    let server = Server::start(state, &[]);
    let again = server.run(&["get", id]);
    assert_eq!(stdout(&again), printed, "{}", stderr(&again));
    drop(server);
    std::fs::remove_dir_all(state).unwrap();
}

/// The operator's token from a file (any printable characters), app tokens made, used and
/// revoked with `fnhost token`, and a warning for a token on the command line.
#[test]
fn app_tokens_are_made_with_fnhost_token_and_reach_one_app() {
    let state = scratch_dir("app-tokens");
    let operator = state.join("operator.token");
    std::fs::write(&operator, "0p€rator token, with spaces!\n").unwrap();
    let operator = operator.to_str().unwrap();
    let server = Server::start(
        &state.join("state"),
        &["examples/hello", "--token-file", operator],
    );
    let made = server.run(&[
        "token",
        "create",
        "--app",
        "hello",
        "--token-file",
        operator,
    ]);
    assert!(made.status.success(), "{}", stderr(&made));
    let token = stdout(&made).trim().to_owned();
    assert!(stderr(&made).contains("for `hello`"), "{}", stderr(&made));
    let app_token = state.join("hello.token");
    std::fs::write(&app_token, &token).unwrap();
    let app_token = app_token.to_str().unwrap();
    let output = server.run(&["call", "hello", "async_function", "--token-file", app_token]);
    assert_eq!(stdout(&output), "420\n", "{}", stderr(&output));
    let last = error_line(&server.run(&["apps", "--token-file", app_token]));
    assert!(last.contains("reaches only the app `hello`"), "{last}");
    let listed = server.run(&["token", "list", "--token-file", operator]);
    let line = stdout(&listed);
    assert!(
        line.starts_with("tk-") && line.contains("\thello\t"),
        "{line}"
    );
    assert!(!line.contains(&token), "{line}");
    let id = line.split('\t').next().unwrap();
    let revoked = server.run(&["token", "revoke", id, "--token-file", operator]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let last =
        error_line(&server.run(&["call", "hello", "async_function", "--token-file", app_token]));
    assert_eq!(last, "error: unauthorized");
    // A token on the command line works, and warns.
    let flagged = server.run(&["apps", "--token", "0p€rator token, with spaces!"]);
    assert!(flagged.status.success(), "{}", stderr(&flagged));
    assert!(
        stderr(&flagged).contains("every local user"),
        "{}",
        stderr(&flagged)
    );
    drop(server);
    std::fs::remove_dir_all(&state).unwrap();
}

#[test]
fn map_runs_locally_in_input_order() {
    let output = fnhost_with_stdin(
        &["map", "tests/guests/calls", "fallible"],
        fallible_inputs(),
    );
    assert_fallible_results(&output);
    // No terminal: no progress bar.
    assert!(!stderr(&output).contains('\u{1b}'), "{}", stderr(&output));

    let dir = scratch_dir("map");
    let file = dir.join("inputs.ndjson");
    std::fs::write(&file, fallible_inputs()).unwrap();
    let output = fnhost(&[
        "map",
        "tests/guests/calls",
        "fallible",
        "--input",
        file.to_str().unwrap(),
    ]);
    assert_fallible_results(&output);

    let last = error_line(&fnhost_with_stdin(
        &["map", "tests/guests/calls", "nope"],
        "1\n",
    ));
    assert!(last.contains("no function `nope`"), "{last}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The inputs of `fallible` the map tests send: 0 to 299 (odd ones fail), a blank line
/// (skipped), and two that do not fit.
fn fallible_inputs() -> String {
    let mut inputs: String = (0..300).map(|x| format!("{x}\n")).collect();
    inputs.push_str("\n\"ten\"\nnot json\n");
    inputs
}

/// Checks that `output` is what `fnhost map ... fallible` prints for [`fallible_inputs`],
/// line by line.
fn assert_fallible_results(output: &Output) {
    assert!(output.status.success(), "{}", stderr(output));
    let printed = stdout(output);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 302, "one line per input");
    for (x, line) in lines[..300].iter().enumerate() {
        let expected = if x % 2 == 1 {
            format!(r#"{{"error":{{"kind":"user","message":"odd number {x}"}}}}"#)
        } else {
            format!(r#"{{"ok":{}}}"#, x / 2)
        };
        assert_eq!(*line, expected, "input {x}");
    }
    let wrong_type = r#"{"error":{"kind":"bad-arguments","message":"`fallible`: invalid type: string \"ten\", expected u32"#;
    assert!(lines[300].starts_with(wrong_type), "{}", lines[300]);
    assert_eq!(
        lines[301],
        r#"{"error":{"kind":"bad-arguments","message":"the input is not JSON: expected ident at line 1 column 2"}}"#
    );
}

#[test]
fn the_client_library_has_every_map_variant() {
    use fnhost_client::blocking::{Client, FunctionCall};

    let state = scratch_dir("client-maps");
    let server = Server::start(&state, &["tests/guests/calls", "--name", "calls"]);
    let client = Client::connect(&server.url).unwrap();

    // `gate`'s input 0 finishes only once its round is released: read as the calls finish,
    // the other inputs come first, then 0 once the round is released.
    let gate = client.function_in("calls", "gate");
    let mut results = gate
        .map_unordered::<_, i64>((0..8).map(|i| ("client", i)))
        .unwrap();
    let mut read: Vec<i64> = results.by_ref().take(7).map(Result::unwrap).collect();
    read.sort();
    assert_eq!(read, (1..8).collect::<Vec<_>>(), "{}", server.log());
    let _: i64 = gate.remote(("client", -1)).unwrap();
    let last: Vec<i64> = results.map(Result::unwrap).collect();
    assert_eq!(last, [0]);

    let fallible = client.function_in("calls", "fallible");
    fallible.for_each(0..4u32, true).unwrap();
    let error = fallible.for_each(0..4u32, false).unwrap_err();
    assert_eq!(
        (error.kind(), error.message()),
        ("user", "odd number 1".to_owned())
    );
    let calls = fallible.spawn_map::<_, u32>([0u32, 2, 4]).unwrap();
    let ids: Vec<String> = calls.iter().map(|call| call.id().to_owned()).collect();
    let results: Vec<u32> = calls.into_iter().map(|call| call.get().unwrap()).collect();
    assert_eq!(results, [0, 1, 2]);
    let again = FunctionCall::<u32>::from_id(&client, &ids[2]).unwrap();
    assert_eq!(again.get().unwrap(), 2);
}

#[test]
fn the_client_library_calls_maps_and_follows_a_303() {
    use fnhost_client::blocking::{Client, FunctionCall};

    let state = scratch_dir("client");
    // Every call that runs longer than 1 ms is answered with its id, then waited for.
    let server = Server::start(
        &state,
        &[
            "tests/guests/calls",
            "--name",
            "calls",
            "--sync-timeout",
            "1ms",
        ],
    );
    let client = Client::connect(&server.url).unwrap();

    let slow = client.function("calls/slow").unwrap();
    assert_eq!(slow.remote::<u64>(200).unwrap(), 200, "{}", server.log());
    let describe = client.function_in("calls", "describe_sum");
    let text: String = describe.remote((2, 3, "total")).unwrap();
    assert!(text.contains('5'), "{text}");
    // A one-parameter function taking a tuple: `((a, b),)`, as with the library.
    let pair_sum = client.function_in("calls", "pair_sum");
    assert_eq!(pair_sum.remote::<u32>(((4, 5),)).unwrap(), 9);

    let fallible = client.function_in("calls", "fallible");
    assert_eq!(fallible.map::<_, u32>([0, 2, 4]).unwrap(), [0, 1, 2]);
    let error = fallible.map::<_, u32>([0, 1, 2]).unwrap_err();
    assert_eq!(
        (error.kind(), error.message()),
        ("user", "odd number 1".to_owned())
    );
    let results = fallible.map_results::<_, u32>(0..5).unwrap();
    let kinds: Vec<&str> = results
        .iter()
        .map(|result| result.as_ref().map_or_else(|error| error.kind(), |_| "ok"))
        .collect();
    assert_eq!(kinds, ["ok", "user", "ok", "user", "ok"]);
    let error = fallible.remote::<u32>("x").unwrap_err();
    assert_eq!(error.kind(), "bad-arguments");

    let call = slow.spawn::<u64>(300).unwrap();
    let mut again = FunctionCall::<u64>::from_id(&client, call.id()).unwrap();
    assert_eq!(call.get().unwrap(), 300);
    assert_eq!(again.get_timeout(Duration::from_secs(60)).unwrap(), 300);

    let error = client
        .function_in("calls", "nope")
        .remote::<()>(())
        .unwrap_err();
    assert_eq!(error.kind(), "not-found");
    let error = client
        .function_in("nowhere", "f")
        .remote::<()>(())
        .unwrap_err();
    assert_eq!(error.kind(), "not-found");

    // What a function prints is in its app's log.
    let say = client.function_in("calls", "say");
    let lines = vec!["logged by the test".to_owned()];
    say.remote::<usize>((lines, String::new())).unwrap();
    let output = server.run(&["logs", "calls"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output)
            .lines()
            .any(|line| line.ends_with("] logged by the test")),
        "{}",
        stdout(&output)
    );

    let apps = client.apps().unwrap();
    assert_eq!(apps.len(), 1);
    assert!(apps[0].functions.iter().any(|f| f.name == "slow"));
    let token = Client::connect(&server.url).unwrap().with_token("s3cret");
    // A server without a token takes any.
    assert_eq!(token.apps().unwrap(), apps);
    drop(server);
    std::fs::remove_dir_all(&state).unwrap();
}

#[test]
fn the_client_library_reads_and_feeds_the_servers_dicts_and_queues() {
    use fnhost_client::blocking::Client;
    use serde_json::{Value, json};

    let state = scratch_dir("client-storage");
    let server = Server::start(&state, &["tests/guests/storage", "--name", "storage"]);
    let client = Client::connect(&server.url).unwrap();
    let scores = client.dict::<String, u32>("scores");
    assert!(scores.put(&"ada".to_owned(), &3).unwrap());
    assert!(!scores.put_if_absent(&"ada".to_owned(), &4).unwrap());
    assert!(scores.put_if_absent(&"bob".to_owned(), &5).unwrap());
    assert_eq!(scores.get(&"ada".to_owned()).unwrap(), Some(3));
    assert_eq!(scores.get(&"nobody".to_owned()).unwrap(), None);
    // The deployed functions read the same dict.
    let dict_get = client.function_in("storage", "dict_get");
    let read: Option<u32> = dict_get.remote(("scores", "bob")).unwrap();
    assert_eq!(read, Some(5), "{}", server.log());
    assert_eq!(
        scores.items().unwrap(),
        [("ada".to_owned(), 3), ("bob".to_owned(), 5)]
    );
    assert_eq!(scores.pop(&"ada".to_owned()).unwrap(), Some(3));
    assert_eq!(scores.len().unwrap(), 1);
    scores.clear().unwrap();
    assert!(scores.is_empty().unwrap());
    let missing = client
        .dict::<String, u32>("never-made")
        .get(&"k".to_owned());
    assert_eq!(missing.unwrap_err().kind(), "not-found");

    let jobs = client.queue::<Value>("jobs");
    jobs.put_many(&[json!(1), json!("two")], Some("p"), None)
        .unwrap();
    jobs.put(&json!({"three": 3})).unwrap();
    assert_eq!(
        (jobs.len(Some("p")).unwrap(), jobs.len_total().unwrap()),
        (2, 3)
    );
    assert_eq!(
        jobs.get_many(5, Some("p"), None).unwrap(),
        [json!(1), json!("two")]
    );
    // A function's put reaches a waiting get.
    let queue_put = client.function_in("storage", "queue_put");
    let put: usize = queue_put.remote(("jobs", [7], None::<String>)).unwrap();
    assert_eq!(put, 1);
    assert_eq!(
        jobs.get_many(5, None, Some(Duration::from_secs(5)))
            .unwrap(),
        [json!({"three": 3}), json!(7)]
    );
    assert_eq!(jobs.get(None).unwrap(), None);
    jobs.put(&json!(8)).unwrap();
    jobs.clear_all().unwrap();
    assert_eq!(jobs.len_total().unwrap(), 0);
}

#[test]
fn dict_and_queue_commands_act_on_a_server_with_url() {
    let state = scratch_dir("storage-url");
    let server = Server::start(&state, &["tests/guests/storage", "--name", "storage"]);
    let ok = |args: &[&str]| {
        let output = server.run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };
    ok(&["dict", "put", "scores", "alice", "3"]);
    assert_eq!(
        ok(&["dict", "put", "scores", "alice", "4", "--skip-if-exists"]),
        "false\n"
    );
    assert_eq!(ok(&["dict", "get", "scores", "alice"]), "3\n");
    assert_eq!(ok(&["dict", "items", "scores"]), "[\"alice\",3]\n");
    assert_eq!(ok(&["dict", "list"]), "scores\n");
    // The server's functions see it.
    assert_eq!(
        ok(&["call", "storage", "dict_get", r#"["scores", "alice"]"#]),
        "3\n"
    );
    ok(&["queue", "put", "jobs", "1", "two", "--partition", "p"]);
    assert_eq!(ok(&["queue", "len", "jobs", "--total"]), "2\n");
    assert_eq!(
        ok(&["queue", "get", "jobs", "-n", "5", "--partition", "p"]),
        "1\n\"two\"\n"
    );
    assert_eq!(ok(&["queue", "list"]), "jobs\n");
    // Without --url the store is the server's, held by it: the command says so.
    let local = command(&["dict", "list"])
        .env("FNHOST_STATE_DIR", &state)
        .output()
        .unwrap();
    assert!(
        stderr(&local).contains("in use by another fnhost process"),
        "{}",
        stderr(&local)
    );
    let missing = server.run(&["dict", "get", "nothing", "k"]);
    assert!(error_line(&missing).contains("no dict named `nothing`"));
    ok(&["dict", "delete", "scores"]);
    ok(&["queue", "delete", "jobs"]);
    assert_eq!(ok(&["dict", "list"]), "");
}

#[test]
fn the_client_library_and_volume_commands_reach_the_servers_volumes() {
    use fnhost_client::blocking::Client;

    let state = scratch_dir("client-volumes");
    let server = Server::start(&state, &["tests/guests/storage", "--name", "storage"]);
    let client = Client::connect(&server.url).unwrap();
    let files = client.volume("files");
    assert!(files.create().unwrap());
    assert!(!files.create().unwrap(), "made once");
    files.write("/notes/a.txt", b"alpha".to_vec()).unwrap();
    // A deployed function that mounts the volume reads what the client wrote, and back.
    let read = client.function_in("storage", "volume_read");
    let text: String = read.remote(("notes/a.txt",)).unwrap();
    assert_eq!(text, "alpha", "{}", server.log());
    let write = client.function_in("storage", "volume_write");
    write.remote::<()>(("b.txt", "beta")).unwrap();
    assert_eq!(files.read("b.txt").unwrap(), b"beta");
    let listed: Vec<(String, String, u64)> = files
        .list("/")
        .unwrap()
        .into_iter()
        .map(|entry| (entry.path, entry.kind, entry.size))
        .collect();
    assert_eq!(
        listed,
        [
            ("b.txt".to_owned(), "file".to_owned(), 4),
            ("notes".to_owned(), "dir".to_owned(), 0)
        ]
    );
    let escape = files.read("../store.redb").unwrap_err();
    assert_eq!(escape.kind(), "bad-request", "{escape}");
    assert_eq!(client.volumes().unwrap(), ["files"]);

    // The same volume through `fnhost volume ... --url`.
    let ok = |args: &[&str]| {
        let output = server.run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };
    let local = state.join("upload.txt");
    std::fs::write(&local, "gamma").unwrap();
    ok(&["volume", "put", "files", local.to_str().unwrap(), "/in/"]);
    assert_eq!(files.read("in/upload.txt").unwrap(), b"gamma");
    assert_eq!(
        ok(&["volume", "ls", "files", "in"]),
        "file               5 in/upload.txt\n"
    );
    assert_eq!(ok(&["volume", "get", "files", "notes/a.txt", "-"]), "alpha");
    let escape = server.run(&["volume", "get", "files", "../store.redb", "-"]);
    assert!(!escape.status.success());
    ok(&["volume", "rm", "files", "notes", "-r"]);
    assert!(files.read("notes/a.txt").is_err());
    let again = server.run(&["volume", "create", "files"]);
    assert!(
        error_line(&again).contains("exists already"),
        "{}",
        stderr(&again)
    );
    ok(&["volume", "delete", "files"]);
    assert_eq!(ok(&["volume", "list"]), "");
    assert_eq!(files.read("b.txt").unwrap_err().kind(), "not-found");
}

/// A tmpfs of its own size mounted on a directory for one test, so that a disk fills in a
/// test; unmounted when dropped. Mounting needs root (CAP_SYS_ADMIN), which `.ci/run` has.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> SmallDisk {
        let options = format!("size={size},mode=0700");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(
            mounted.success(),
            "this test mounts a tmpfs: run it as root"
        );
        SmallDisk(dir.to_owned())
    }

    /// The bytes still free on it.
    fn available(&self) -> u64 {
        let df = std::process::Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.0)
            .output()
            .unwrap();
        let shown = stdout(&df);
        shown.lines().nth(1).unwrap().trim().parse().unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_fails_a_put_clearly_and_loses_nothing_acknowledged() {
    use fnhost_client::blocking::Client;

    let scratch = scratch_dir("full-disk");
    let state = scratch.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let disk = SmallDisk::mount(&state, "32m");
    let server = Server::start(&state, &["tests/guests/storage", "--name", "storage"]);
    let client = Client::connect(&server.url).unwrap();
    let values = client.dict::<u32, String>("values");
    let value = "x".repeat(100_000);
    values.put(&0, &value).unwrap();
    // Leave the store about 2 MiB of the disk: a few dozen puts fill it.
    let ballast = state.join("ballast");
    let room = disk.available().saturating_sub(2 << 20);
    std::fs::write(&ballast, vec![0u8; usize::try_from(room).unwrap()]).unwrap();
    let mut acknowledged = vec![0];
    let refused = (1..200)
        .find_map(|key| match values.put(&key, &value) {
            Ok(_) => {
                acknowledged.push(key);
                None
            }
            Err(error) => Some(error),
        })
        .expect("the disk filled");
    assert_eq!(refused.kind(), "unavailable", "{refused}");
    assert!(
        refused.message().contains("No space left on device"),
        "{refused}"
    );
    // The host serves on: what was acknowledged is read, over HTTP and by a function.
    let last = *acknowledged.last().unwrap();
    assert_eq!(values.get(&last).unwrap().as_ref(), Some(&value));
    let dict_get = client.function_in("storage", "dict_get");
    let read: Option<String> = dict_get.remote(("values", last)).unwrap();
    assert_eq!(read.as_ref(), Some(&value), "{}", server.log());
    // With room again, puts are taken again, without a restart.
    std::fs::remove_file(&ballast).unwrap();
    values.put(&1_000, &value).unwrap();
    acknowledged.push(1_000);
    // (Items come in the order of the keys' JSON text.)
    let keys = |values: &fnhost_client::blocking::Dict<u32, String>| -> Vec<u32> {
        let mut keys: Vec<u32> = values
            .items()
            .unwrap()
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        keys.sort_unstable();
        keys
    };
    assert_eq!(keys(&values), acknowledged);
    // Killed and started again: every acknowledged put is there.
    drop(server);
    let server = Server::start(&state, &[]);
    let client = Client::connect(&server.url).unwrap();
    assert_eq!(keys(&client.dict("values")), acknowledged);
    drop((server, disk));
    std::fs::remove_dir_all(scratch).unwrap();
}

/// Waits, polling, until `done` holds; panics with `what` and the server's log after a
/// generous bound (the condition is what the test waits for, not a duration).
fn wait_for(server: &Server, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn schedules_run_deployed_functions_by_themselves() {
    use fnhost_client::blocking::Client;

    let state = scratch_dir("schedules");
    let server = Server::start(&state, &["tests/guests-py/schedules/app.py"]);
    let client = Client::connect(&server.url).unwrap();

    // Each run is a call with an id: its body reads it, the server answers for it, and the
    // app's log tells it started. No tick runs twice.
    let ticks = client.queue::<String>("ticks");
    wait_for(&server, "three runs of every_second", || {
        ticks.len_total().unwrap_or(0) >= 3
    });
    let ids = ticks.get_many(100, None, None).unwrap();
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    let log = stdout(&server.run(&["logs", "schedules"]));
    for id in &ids {
        let output = server.run(&["get", id, "--timeout", "30s"]);
        assert_eq!(stdout(&output), "null\n", "{id}: {}", stderr(&output));
        assert!(
            log.contains(&format!("scheduled run {id} started (due at ")),
            "{id}: {log}"
        );
    }

    // A run that outlasts its period: the ticks meanwhile are skipped, and runs never overlap.
    let slow = client.dict::<String, serde_json::Value>("slow");
    wait_for(&server, "two runs of slow", || {
        slow.get(&"done".to_owned())
            .ok()
            .flatten()
            .is_some_and(|done| done.as_u64() >= Some(2))
    });
    assert_eq!(slow.get(&"overlapped".to_owned()).unwrap(), None);
    let log = stdout(&server.run(&["logs", "schedules"]));
    assert!(log.contains("skipped the run due at"), "{log}");

    // `fnhost list` shows each schedule and its next run: a period's counts from the deploy,
    // and a redeploy starts it again.
    let next_hourly = |server: &Server| {
        let output = server.run(&["list", "schedules", "--json"]);
        let app: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let hourly = app["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|function| function["name"] == "hourly")
            .unwrap()
            .clone();
        assert_eq!(hourly["schedule"], "every 1h");
        let deployed = humantime::parse_rfc3339(app["deployed_at"].as_str().unwrap()).unwrap();
        let next = humantime::parse_rfc3339(hourly["next_run"].as_str().unwrap()).unwrap();
        (deployed, next)
    };
    let (deployed, next) = next_hourly(&server);
    assert_eq!(next, deployed + Duration::from_secs(3600));
    let table = stdout(&server.run(&["list", "schedules"]));
    assert!(
        table.contains("\nSCHEDULED\tSCHEDULE\tNEXT RUN\n"),
        "{table}"
    );
    assert!(
        table.contains("weekday_mornings\tcron 0 9 * * 1-5 (Europe/Paris)\t"),
        "{table}"
    );
    assert!(table.contains("every_second\tevery 1s\t"), "{table}");
    // Deploy times are whole seconds: wait until the next deploy's second differs.
    wait_for(&server, "a new second", || {
        std::time::SystemTime::now() >= deployed + Duration::from_secs(1)
    });
    let output = server.run(&["deploy", "tests/guests-py/schedules/app.py"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (redeployed, next) = next_hourly(&server);
    assert!(redeployed > deployed);
    assert_eq!(next, redeployed + Duration::from_secs(3600));
    std::fs::remove_dir_all(&state).unwrap();
}

/// A virtual environment of the test's with `guest-sdk/python` pip-installed, as a user
/// installs the client: its `python`.
fn client_python(dir: &std::path::Path) -> std::path::PathBuf {
    let venv = dir.join("venv");
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", venv.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(made.success());
    let python = venv.join("bin/python");
    let installed = std::process::Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "guest-sdk/python"])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(installed.status.success(), "{}", stderr(&installed));
    python
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_owned()
}

/// `python` running `script` from the workspace root, as a user runs a Modal script: the
/// `fnhost` command it starts is this build's.
fn python_script(python: &std::path::Path, script: &str) -> std::process::Command {
    let mut command = std::process::Command::new(python);
    command
        .arg(script)
        .current_dir(workspace_root())
        .env("FNHOST_BIN", env!("CARGO_BIN_EXE_fnhost"))
        .env_remove("FNHOST_URL")
        .env_remove("FNHOST_TOKEN");
    command
}

/// What the client test script prints, but for the app's log (lines starting with `[`).
fn without_log(output: &Output) -> String {
    stdout(output)
        .lines()
        .filter(|line| !line.starts_with('['))
        .map(|line| format!("{line}\n"))
        .collect()
}

const SCRIPT_OUTPUT: &str = "remote: 49\nlocal: here\nentrypoint: [0, 1, 4, 9]\n\
    called directly: True\ndefaults: 11 3 12\n\
    map: [0, 1, 4, 9, 16]\nstarmap: [3, 7]\nunordered: [0, 1, 4, 9, 16, 25]\nspawn: 81\n\
    aio: [25, 3, [1, 4, 9], [11, 12]]\npickled: [1, 2, 3]\nown type: Unlucky True thirteen\n\
    return_exceptions: ['ValueError']\ndict: k [1, 2]\nafter the run: True\n";

#[test]
fn a_modal_script_runs_with_python_on_a_server_it_starts_or_is_given() {
    let dir = scratch_dir("python-script");
    let python = client_python(&dir);
    // No server named: the script starts its own, and stops it.
    let output = python_script(&python, "tests/guests-py/client/script.py")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(without_log(&output), SCRIPT_OUTPUT, "{}", stderr(&output));
    // enable_output() streamed the app's log: the container's print.
    assert_eq!(
        stdout(&output)
            .lines()
            .filter(|line| line.starts_with('[') && line.ends_with("] squaring 7"))
            .count(),
        1,
        "{}",
        stdout(&output)
    );

    // A server named: the run deploys there, and undeploys when it ends.
    let server = Server::start(&dir.join("state"), &[]);
    let output = python_script(&python, "tests/guests-py/client/script.py")
        .env("FNHOST_URL", &server.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(without_log(&output), SCRIPT_OUTPUT, "{}", stderr(&output));
    let apps = stdout(&server.run(&["apps"]));
    assert!(!apps.contains("client-test"), "{apps}");

    // The client: a deployed app's functions, dicts, queues and volumes from CPython.
    let deployed = server.run(&[
        "deploy",
        "tests/guests-py/client/script.py",
        "--name",
        "client-test",
    ]);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let output = python_script(&python, "tests/guests-py/client/client.py")
        .env("FNHOST_URL", &server.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "remote: 16\nkeywords: 6 5\nmap: [1, 4, 9]\nstarmap: [2, 4]\n\
         unordered: [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\nfor_each: None\nspawn: True 25\n\
         gather: [4, 9]\npickled: [1, 2, 3]\naio: 36 3 [1, 4, 9] [2, 4] [0, 1, 4, 9]\n\
         own type: ValueError True bad value\nremote error: Unlucky thirteen\n\
         not found: NotFoundError\ntimeout: TimeoutError True\nbad arguments: InvalidError\n\
         lookup: client-test NotFoundError no-such-app\n\
         dict: from-function [1, 2] {'n': 1} 2 ['from-client', 'from-function']\n\
         queue: 6 1 4 None\nqueue empty: queue.Empty\nvolume: 21 ['note.txt'] hello from a function\n\
         ephemeral: [5, 6] 1 None [1] ['Queue', 'Dict']\n"
    );
    drop(server);

    // A script with no app and no server named, as Modal's misc/queue_simple.py: its
    // ephemeral queue lives on a server started for its block.
    let output = python_script(&python, "tests/guests-py/client/ephemeral.py")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "items: 42 [42, 43, 44] [45, 46, 47, 48, 49, 50, 51]\nconsumers: 10 True\nname: None True\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A Flask app (`@fnhost.wsgi_app()` over `pip_install("flask")`, tests/guests-py/flask)
/// deployed with `fnhost deploy` and served over real HTTP. Flask needs MarkupSafe, whose
/// PyPI wheels are all native: the operator builds its pure-Python fallback once (its build
/// without a C compiler) and offers it with pip's own `PIP_FIND_LINKS`, as docs/python-packages.md says.
#[test]
fn a_flask_app_deployed_with_its_markupsafe_wheel_serves_over_http() {
    let dir = scratch_dir("flask");
    let wheels = dir.join("wheels");
    let pip =
        std::process::Command::new(workspace_root().join("guest-sdk/python/.venv/bin/python"))
            .args([
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-binary",
                "markupsafe",
            ])
            .args(["--wheel-dir", wheels.to_str().unwrap(), "markupsafe"])
            .env("CC", "false")
            .output()
            .unwrap();
    assert!(pip.status.success(), "{}", stderr(&pip));
    let built: Vec<String> = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        built.len() == 1 && built[0].ends_with("-py3-none-any.whl"),
        "{built:?}"
    );

    let server = Server::start(&dir.join("state"), &[]);
    // Named by its source's `App(name="py-flask")`, as Modal names it (its file is
    // flask/app.py), with no warning about that `name=`.
    let app = ["deploy", "tests/guests-py/flask/app.py"];
    let deployed = command(&[&app[..], &["--url", &server.url]].concat())
        .env("PIP_FIND_LINKS", &wheels)
        .output()
        .unwrap();
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    assert!(
        !stderr(&deployed).contains("name="),
        "{}",
        stderr(&deployed)
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let root = format!("{}/web/py-flask/notes", server.url);
        let added = client
            .post(format!("{root}/notes"))
            .json(&serde_json::json!({"text": "<b>tea</b>"}))
            .send()
            .await
            .unwrap();
        let status = added.status();
        let body: serde_json::Value = added.json().await.unwrap();
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        assert_eq!(
            body,
            serde_json::json!({"count": 1, "at": format!("{root}/notes")})
        );
        let index = client.get(&root).send().await.unwrap();
        assert_eq!(index.status(), reqwest::StatusCode::OK);
        assert_eq!(index.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(
            index.text().await.unwrap(),
            "<p>1 notes, newest: &lt;b&gt;tea&lt;/b&gt;</p>"
        );
        let missing = client.get(format!("{root}/nothing")).send().await.unwrap();
        assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    });
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `fnhost run --detach` (tests/guests-py/detach): the app runs on the server, the
/// entrypoint's output comes back, and the command exits with its status while the call it
/// spawned waits; the call finishes after the command is gone (released only then), on the
/// server, which answers for it by id. The app stays deployed.
#[test]
fn a_detached_run_leaves_its_spawned_calls_running_on_the_server() {
    use fnhost_client::blocking::Client;

    let state = scratch_dir("detach");
    let server = Server::start(&state, &[]);
    let run = server.run(&["run", "--detach", "tests/guests-py/detach/app.py::main"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let printed = stdout(&run);
    let id = printed
        .strip_prefix("spawned ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{printed:?} {}", stderr(&run)));
    let apps = stdout(&server.run(&["apps"]));
    assert!(apps.contains("detach-"), "{apps}");

    let client = Client::connect(&server.url).unwrap();
    let done = client.dict::<String, u64>("detach-done");
    assert_eq!(done.get(&"result".to_owned()).unwrap(), None);
    client
        .queue::<String>("detach-release")
        .put(&"go".to_owned())
        .unwrap();
    let got = server.run(&["get", id, "--timeout", "60s"]);
    assert_eq!(stdout(&got), "42\n", "{}", stderr(&got));
    assert_eq!(done.get(&"result".to_owned()).unwrap(), Some(42));

    // A run here (no --detach) takes no --url.
    let here = fnhost(&["run", "tests/guests-py/detach/app.py", "--url", &server.url]);
    assert!(!here.status.success());
    assert_eq!(
        error_line(&here),
        "error: --url and --token are for `fnhost run --detach`, which runs on a server"
    );
    std::fs::remove_dir_all(&state).unwrap();
}

/// Sandboxes on a server: made, run in and listed with `fnhost sandbox`, through the Rust
/// client (stdin fed, stdout streamed), counted in the metrics, and driven by a Python script
/// as Modal's sandbox examples drive them.
#[test]
fn sandboxes_serve_the_cli_the_rust_client_and_a_python_script() {
    let dir = scratch_dir("sandboxes");
    let tool = fnhost_tests::command("tool");
    let program = format!("tool={}", tool.display());
    let server = Server::start(&dir.join("state"), &["--sandbox-program", &program]);
    let sandbox = |args: &[&str]| {
        let mut all = vec!["sandbox", "--url", server.url.as_str()];
        all.extend_from_slice(args);
        fnhost(&all)
    };
    let created = sandbox(&["create", "--app", "cli-test", "--timeout", "5m"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let id = stdout(&created).trim().to_owned();
    assert!(id.starts_with("sb-"), "{id}");
    // The process's output passes through; its exit code is the command's.
    let ran = sandbox(&[
        "exec",
        &id,
        "python",
        "-c",
        "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)",
    ]);
    assert_eq!(ran.status.code(), Some(3), "{}", stderr(&ran));
    assert_eq!(
        (stdout(&ran).as_str(), stderr(&ran).as_str()),
        ("out\n", "err\n")
    );
    let piped = fnhost_with_stdin(
        &[
            "sandbox",
            "--url",
            &server.url,
            "exec",
            &id,
            "python",
            "-c",
            "import sys; print(sys.stdin.read().upper())",
        ],
        "piped through\n",
    );
    assert_eq!(stdout(&piped), "PIPED THROUGH\n\n", "{}", stderr(&piped));
    let ran = sandbox(&["exec", &id, "tool", "echo", "registered"]);
    assert_eq!(stdout(&ran), "registered\n", "{}", stderr(&ran));
    let refused = sandbox(&["exec", &id, "node", "-e", "1"]);
    assert!(
        stderr(&refused).contains("`node` cannot run in a sandbox"),
        "{}",
        stderr(&refused)
    );
    let listed = stdout(&sandbox(&["list"]));
    assert!(
        listed.contains(&id) && listed.contains("cli-test"),
        "{listed}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use futures::StreamExt;
        let client = fnhost_client::Client::connect(&server.url).unwrap();
        let made = client
            .create_sandbox(&fnhost_client::SandboxRequest::default())
            .await
            .unwrap();
        let cat = made
            .exec(&["tool", "cat"], &fnhost_client::ExecRequest::default())
            .await
            .unwrap();
        let mut out = cat.stdout().await.unwrap();
        cat.write_stdin("first\n", false).await.unwrap();
        // Streamed as written: the first line arrives before stdin ends.
        let first = out.next().await.unwrap().unwrap();
        assert_eq!(first.as_ref(), b"first\n");
        cat.write_stdin("second\n", true).await.unwrap();
        let mut rest = Vec::new();
        while let Some(bytes) = out.next().await {
            rest.extend_from_slice(&bytes.unwrap());
        }
        assert_eq!(rest, b"second\n");
        assert_eq!(cat.wait().await.unwrap().code, 0);
        let metrics = reqwest::get(format!("{}/metrics", server.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("fnhost_sandboxes 2"), "{metrics}");
        assert!(
            metrics.contains("fnhost_sandbox_processes_started_total"),
            "{metrics}"
        );
        // Found by id, terminated from elsewhere.
        let exit = client
            .sandbox(made.id())
            .terminate()
            .await
            .unwrap()
            .unwrap();
        assert_eq!((exit.code, exit.reason.as_str()), (137, "terminated"));
        assert_eq!(made.poll().await.unwrap().unwrap().code, 137);
    });
    let terminated = sandbox(&["terminate", &id]);
    assert!(terminated.status.success(), "{}", stderr(&terminated));
    let listed = stdout(&sandbox(&["list", "--all"]));
    assert!(
        listed.contains(&format!("{id}\tcli-test\tended 137 (terminated)")),
        "{listed}"
    );

    let python = client_python(&dir);
    let output = python_script(&python, "tests/guests-py/client/sandbox.py")
        .env("FNHOST_URL", &server.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "id: True\nread: hello from python 0 0\n\
         interpreter: ['', '', 'x + y = 15\\n', 'error: division by zero\\n']\n\
         lines: ['line 0\\n', 'line 1\\n', 'line 2\\n']\nstderr: oops 3\nfiles: kept\nbash: True\n\
         from_id: None True\nterminated: 137 137\naio: (['42\\n'], 0)\nentrypoint: entrypoint 0\n\
         timeout: 124\n"
    );
    // A server stop ends its sandboxes, a running process's too, and exits cleanly: the
    // process's output stream ends with it.
    let mut out = runtime.block_on(async {
        use futures::StreamExt;
        let client = fnhost_client::Client::connect(&server.url).unwrap();
        let made = client
            .create_sandbox(&fnhost_client::SandboxRequest::default())
            .await
            .unwrap();
        let code = "print('up', flush=True); import time; time.sleep(600)";
        let process = made
            .exec(
                &["python", "-c", code],
                &fnhost_client::ExecRequest::default(),
            )
            .await
            .unwrap();
        let mut out = process.stdout().await.unwrap();
        assert_eq!(out.next().await.unwrap().unwrap().as_ref(), b"up\n");
        out
    });
    assert!(server.terminate().success());
    runtime.block_on(async {
        use futures::StreamExt;
        assert!(out.next().await.is_none_or(|piece| piece.is_err()));
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
