//! Per-app logs: what the app's containers print, and what the server says about the app
//! (deploys, failed calls), kept as NDJSON lines for `GET /v1/apps/{app}/logs`.
//!
//! Invariant: an app keeps at most [`MAX_EVENTS`] events (the oldest go first), whatever its
//! guests print (the host already cuts their lines at 64 KiB and budgets their rate); a
//! follower gets every event pushed after its snapshot, in order, or is told how many it
//! missed when it falls behind — it never holds the store back. Events survive redeploys, and
//! go with the app when it is undeployed.

use bytes::Bytes;
use fnhost::{CallId, OutputSink, Stream};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;
use tokio::sync::broadcast;

/// The events one app keeps.
pub(crate) const MAX_EVENTS: usize = 10_000;

/// The events a follower may fall behind by before it misses some.
const FOLLOW_BUFFER: usize = 4096;

/// One event, as a line of the logs.
#[derive(Debug, Serialize)]
struct Event<'a> {
    time: String,
    app: &'a str,
    function: Option<&'a str>,
    container: Option<&'a str>,
    call_id: Option<String>,
    stream: &'static str,
    message: &'a str,
}

/// One app's events.
pub(crate) struct LogStore {
    app: String,
    inner: Mutex<Ring>,
}

struct Ring {
    events: VecDeque<Bytes>,
    /// `None` once the app is undeployed: followers then end.
    follow: Option<broadcast::Sender<Bytes>>,
}

/// What a reader of the logs gets: the events kept, and the events to come when it follows.
pub(crate) struct Snapshot {
    /// The last events kept (at most the tail asked for), oldest first.
    pub(crate) events: Vec<Bytes>,
    /// Every event pushed after `events`, when asked to follow.
    pub(crate) follow: Option<broadcast::Receiver<Bytes>>,
}

impl LogStore {
    fn new(app: &str) -> LogStore {
        LogStore {
            app: app.to_owned(),
            inner: Mutex::new(Ring {
                events: VecDeque::new(),
                follow: Some(broadcast::channel(FOLLOW_BUFFER).0),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, event: Event<'_>) {
        let Ok(mut line) = serde_json::to_vec(&event) else {
            return;
        };
        line.push(b'\n');
        let line = Bytes::from(line);
        let mut ring = self.lock();
        if ring.events.len() >= MAX_EVENTS {
            ring.events.pop_front();
        }
        ring.events.push_back(line.clone());
        if let Some(follow) = &ring.follow {
            // No follower is not an error.
            let _ = follow.send(line);
        }
    }

    /// Records what the server says about the app (`stream: "host"`).
    pub(crate) fn host_event(
        &self,
        function: Option<&str>,
        call_id: Option<CallId>,
        message: &str,
    ) {
        self.push(Event {
            time: now(),
            app: &self.app,
            function,
            container: None,
            call_id: call_id.map(|id| id.to_string()),
            stream: "host",
            message,
        });
    }

    /// The last `tail` events (all when `None`), and a receiver of the next ones when
    /// `follow` (none once the app is undeployed).
    pub(crate) fn read(&self, tail: Option<usize>, follow: bool) -> Snapshot {
        let ring = self.lock();
        let skip = tail.map_or(0, |tail| ring.events.len().saturating_sub(tail));
        Snapshot {
            events: ring.events.iter().skip(skip).cloned().collect(),
            follow: follow
                .then(|| ring.follow.as_ref().map(broadcast::Sender::subscribe))
                .flatten(),
        }
    }

    /// Ends the followers: the app is gone.
    fn close(&self) {
        self.lock().follow = None;
    }

    /// A line saying a follower missed `count` events.
    pub(crate) fn missed(&self, count: u64) -> Bytes {
        let message = format!("{count} events were skipped: this reader fell behind");
        let mut line = serde_json::to_vec(&Event {
            time: now(),
            app: &self.app,
            function: None,
            container: None,
            call_id: None,
            stream: "host",
            message: &message,
        })
        .unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }
}

/// The current time, in RFC 3339 with milliseconds.
fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// The log stores of every app, by name.
#[derive(Default)]
pub(crate) struct Logs {
    stores: Mutex<HashMap<String, Arc<LogStore>>>,
}

impl Logs {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<LogStore>>> {
        self.stores.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store of `app`, made if it has none.
    pub(crate) fn store(&self, app: &str) -> Arc<LogStore> {
        Arc::clone(
            self.lock()
                .entry(app.to_owned())
                .or_insert_with(|| Arc::new(LogStore::new(app))),
        )
    }

    /// The store of `app`, if it has one.
    pub(crate) fn get(&self, app: &str) -> Option<Arc<LogStore>> {
        self.lock().get(app).cloned()
    }

    /// Forgets the logs of `app` and ends its followers.
    pub(crate) fn remove(&self, app: &str) {
        if let Some(store) = self.lock().remove(app) {
            store.close();
        }
    }
}

/// The output sink of one app: its guests' lines go to its log store. A local entrypoint's
/// output comes as written, in pieces that may split a line: it is cut into lines here (a
/// piece with no newline waits for the next; one past [`MAX_PENDING`] goes as it is).
pub(crate) struct AppSink {
    store: Arc<LogStore>,
    /// The entrypoint's text since its last newline, on stdout and on stderr.
    pending: Mutex<[Vec<u8>; 2]>,
}

/// The most of an entrypoint's unfinished line kept waiting for its newline.
const MAX_PENDING: usize = 64 << 10;

impl AppSink {
    /// The sink of the app whose log is `store`.
    pub(crate) fn new(store: Arc<LogStore>) -> AppSink {
        AppSink {
            store,
            pending: Mutex::new([Vec::new(), Vec::new()]),
        }
    }

    /// The entrypoint's event of `line` on `stream`.
    fn program_line(&self, stream: Stream, line: &[u8]) {
        self.store.push(Event {
            time: now(),
            app: &self.store.app,
            function: None,
            container: None,
            call_id: None,
            stream: AppSink::stream_name(stream),
            message: &String::from_utf8_lossy(line),
        });
    }

    fn stream_name(stream: Stream) -> &'static str {
        match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

impl OutputSink for AppSink {
    fn line(&self, container: &str, stream: Stream, line: &[u8]) {
        let message = String::from_utf8_lossy(line);
        let function = container.split('#').next();
        self.store.push(Event {
            time: now(),
            app: &self.store.app,
            function,
            container: Some(container),
            call_id: None,
            stream: AppSink::stream_name(stream),
            message: &message,
        });
    }

    fn program(&self, stream: Stream, bytes: &[u8]) {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let pending = &mut pending[usize::from(stream == Stream::Stderr)];
        pending.extend_from_slice(bytes);
        while let Some(end) = pending.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            self.program_line(stream, line.strip_suffix(b"\r").unwrap_or(line));
        }
        if pending.len() > MAX_PENDING {
            self.program_line(stream, pending);
            pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(line: &Bytes) -> String {
        let value: serde_json::Value = serde_json::from_slice(line).unwrap();
        value["message"].as_str().unwrap().to_owned()
    }

    #[test]
    fn the_ring_keeps_the_last_events() {
        let store = LogStore::new("app");
        for i in 0..MAX_EVENTS + 5 {
            store.host_event(None, None, &i.to_string());
        }
        let all = store.read(None, false);
        assert_eq!(all.events.len(), MAX_EVENTS);
        assert_eq!(message(&all.events[0]), "5");
        let tail = store.read(Some(2), false);
        let tail: Vec<String> = tail.events.iter().map(message).collect();
        assert_eq!(
            tail,
            [(MAX_EVENTS + 3).to_string(), (MAX_EVENTS + 4).to_string()]
        );
    }

    #[test]
    fn an_entrypoints_output_is_cut_into_lines_whatever_its_pieces() {
        let store = Arc::new(LogStore::new("hello"));
        let sink = AppSink::new(Arc::clone(&store));
        for piece in [
            &b"spawned fc-1"[..],
            b"\n",
            b"two\r\nthr",
            b"ee\n",
            b"unfinished",
        ] {
            sink.program(Stream::Stdout, piece);
        }
        sink.program(Stream::Stderr, b"apart\n");
        let events = store.read(None, false).events;
        let messages: Vec<String> = events.iter().map(message).collect();
        assert_eq!(messages, ["spawned fc-1", "two", "three", "apart"]);
    }

    #[test]
    fn a_guest_line_names_its_function_and_container() {
        let store = Arc::new(LogStore::new("hello"));
        AppSink::new(Arc::clone(&store)).line("greet#3", Stream::Stderr, b"hi \xff");
        let events = store.read(None, false).events;
        let event: serde_json::Value = serde_json::from_slice(&events[0]).unwrap();
        assert_eq!(event["app"], "hello");
        assert_eq!(event["function"], "greet");
        assert_eq!(event["container"], "greet#3");
        assert_eq!(event["stream"], "stderr");
        assert_eq!(event["call_id"], serde_json::Value::Null);
        assert_eq!(event["message"], "hi \u{fffd}");
    }

    #[tokio::test]
    async fn followers_get_later_events_and_end_with_the_app() {
        let logs = Logs::default();
        let store = logs.store("app");
        store.host_event(None, None, "before");
        let mut snapshot = store.read(None, true);
        assert_eq!(snapshot.events.len(), 1);
        store.host_event(None, None, "after");
        let mut follow = snapshot.follow.take().unwrap();
        assert_eq!(message(&follow.recv().await.unwrap()), "after");
        logs.remove("app");
        assert!(follow.recv().await.is_err());
        assert!(logs.get("app").is_none());
    }
}
