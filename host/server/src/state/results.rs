//! `results.ndjson`: the finished spawned calls a server keeps by id, saved at shutdown and
//! restored at start, one call per line.
//!
//! Invariant: a line that cannot be read back (a hand edit, a kind this version does not know)
//! is skipped with a warning rather than failing the start: losing one result beats losing
//! them all.

use crate::ServerError;
use crate::state::atomic;
use crate::state::files::read_regular;
use fnhost::{CallId, Error, ErrorKind, RetainedCall};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// The largest `results.ndjson` read: 4 GiB.
const MAX_RESULTS_FILE: u64 = 4 << 30;

/// One saved call.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    id: String,
    /// The app that spawned it (absent: one never deployed, or a file from before apps were
    /// told apart; such a call is found by the operator only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app: Option<String>,
    function: String,
    /// Milliseconds since the Unix epoch.
    finished_ms: u64,
    /// The result's JSON, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ok: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<SavedError>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedError {
    kind: String,
    message: String,
}

/// Writes `calls` to `path`, atomically.
pub(crate) fn save(path: &Path, calls: &[RetainedCall]) -> Result<(), ServerError> {
    let mut out = Vec::new();
    for call in calls {
        out.extend(encode(call).map_err(|source| ServerError::Corrupt {
            path: path.to_owned(),
            source,
        })?);
        out.push(b'\n');
    }
    atomic::write(path, &out).map_err(ServerError::io("write", path))
}

/// One call as a line of JSON (without its newline).
pub(crate) fn encode(call: &RetainedCall) -> Result<Vec<u8>, serde_json::Error> {
    let finished_ms = call
        .finished
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .try_into()
        .unwrap_or(u64::MAX);
    let (ok, error) = match &call.result {
        Ok(bytes) => (Some(String::from_utf8_lossy(bytes).into_owned()), None),
        Err(error) => (
            None,
            Some(SavedError {
                kind: error.kind().as_str().to_owned(),
                message: error.message().to_owned(),
            }),
        ),
    };
    let saved = Saved {
        id: call.id.to_string(),
        app: call.app.clone(),
        function: call.function.clone(),
        finished_ms,
        ok,
        error,
    };
    serde_json::to_vec(&saved)
}

/// Reads the calls saved at `path`; none when there is no file.
pub(crate) fn load(path: &Path) -> Result<Vec<RetainedCall>, ServerError> {
    // Results are kept within the host's byte budget: a file far larger is not the server's.
    let text = match read_regular(path, MAX_RESULTS_FILE).map_err(ServerError::io("read", path))? {
        Some(bytes) => bytes,
        None => return Ok(Vec::new()),
    };
    let mut calls = Vec::new();
    for (number, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match restore(line) {
            Some(call) => calls.push(call),
            None => tracing::warn!(
                path = %path.display(),
                line = number + 1,
                "skipping a saved call that cannot be read"
            ),
        }
    }
    Ok(calls)
}

/// The call saved on `line`.
pub(crate) fn restore(line: &[u8]) -> Option<RetainedCall> {
    let saved: Saved = serde_json::from_slice(line).ok()?;
    let id: CallId = saved.id.parse().ok()?;
    let result = match (saved.ok, saved.error) {
        (Some(ok), None) => Ok(ok.into_bytes()),
        (None, Some(error)) => Err(Error::from_kind(
            ErrorKind::parse(&error.kind)?,
            error.message,
        )),
        _ => return None,
    };
    Some(RetainedCall {
        id,
        app: saved.app,
        function: saved.function,
        finished: UNIX_EPOCH + Duration::from_millis(saved.finished_ms),
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn calls_read_back_as_saved_and_bad_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.ndjson");
        assert!(load(&path).unwrap().is_empty());
        let id = |n: u8| -> CallId {
            format!("fc-{}", format!("{n:02x}").repeat(16))
                .parse()
                .unwrap()
        };
        let finished = UNIX_EPOCH
            + Duration::from_millis(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64,
            );
        let calls = vec![
            RetainedCall {
                id: id(1),
                app: Some("shop".into()),
                function: "f".into(),
                finished,
                result: Ok(b"{\"a\":[1,2]}".to_vec()),
            },
            RetainedCall {
                id: id(2),
                app: None,
                function: "g".into(),
                finished,
                result: Err(Error::Trapped("boom".into())),
            },
        ];
        save(&path, &calls).unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("not json\n{\"id\": \"fc-zz\", \"function\": \"f\", \"finished_ms\": 0, \"ok\": \"1\"}\n");
        std::fs::write(&path, text).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back.len(), 2);
        for (back, call) in back.iter().zip(&calls) {
            assert_eq!(back.id, call.id);
            assert_eq!(back.function, call.function);
            assert_eq!(back.app, call.app);
            assert_eq!(back.finished, call.finished);
            assert_eq!(back.result, call.result);
        }
    }
}
