//! What the tests of the `fnhost` command share: `fnhost` run as a user runs it, and a real
//! `fnhost serve` child process on an ephemeral port with a state directory of its own.

#![allow(dead_code)] // Each test file uses its part.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `fnhost` with `args`, from the workspace root, with no server or token from the
/// environment of the test run.
pub fn command(args: &[&str]) -> Command {
    // The crate is `host/cli`: the workspace root is two levels up.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_fnhost"));
    command
        .args(args)
        .current_dir(root)
        .env_remove("FNHOST_URL")
        .env_remove("FNHOST_TOKEN");
    command
}

pub fn fnhost(args: &[&str]) -> Output {
    command(args).output().expect("fnhost runs")
}

/// `fnhost` with `args`, given `input` on its stdin.
pub fn fnhost_with_stdin(args: &[&str], input: impl Into<Vec<u8>>) -> Output {
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fnhost runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.into();
    // From another thread: the pipe holds less than the input. fnhost may stop reading before
    // its end (an input over the limit): the write then fails, which is no failure here.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("fnhost runs");
    let _ = writer.join().unwrap();
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fnhost-serve-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `fnhost serve`; killed when dropped (a failing test leaves no server behind).
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub url: String,
    /// Everything the server wrote on stderr, for failure messages.
    log: Arc<Mutex<String>>,
    /// The thread reading stderr, which ends with it.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `fnhost serve --listen 127.0.0.1:0 --state-dir STATE ARGS...` and waits for its
    /// `fnhost serving on` line.
    pub fn start(state: &Path, args: &[&str]) -> Server {
        let mut all = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
            state.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let mut child = command(&all)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fnhost serve runs");
        let log = Arc::new(Mutex::new(String::new()));
        let (found, address) = mpsc::channel();
        let reader = BufReader::new(child.stderr.take().unwrap());
        let lines = Arc::clone(&log);
        // Reads stderr to its end, so that the server never blocks on a full pipe.
        let reader = std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("fnhost serving on ") {
                    let _ = found.send(url.to_owned());
                }
                let mut log = lines.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut server = Server {
            child,
            url: String::new(),
            log,
            reader: Some(reader),
        };
        // A generous bound for a cold build of the app; the line normally comes in seconds.
        match address.recv_timeout(Duration::from_secs(900)) {
            Ok(url) => server.url = url,
            Err(_) => panic!("no `fnhost serving on` line: {}", server.log()),
        }
        assert!(
            server.url.starts_with("http://127.0.0.1:"),
            "{}",
            server.url
        );
        server
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `fnhost ARGS... --url URL`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--url", &self.url]);
        fnhost(&all)
    }

    /// Sends SIGTERM and waits for the server to exit: its status.
    pub fn terminate(self) -> ExitStatus {
        self.terminate_with_log().0
    }

    /// Sends SIGTERM and waits for the server to exit: its status, and all it wrote on stderr.
    pub fn terminate_with_log(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
