//! What travels on NATS: a call's headers, and an outcome's bytes.
//!
//! A call is its arguments (the payload, a JSON array) and headers naming the function, the
//! call's id, its depth and the caller's overrides. An outcome (a spilled call's reply, a
//! spawned call's stored result) is `ok\n` and the result's JSON, or the error's kind, a
//! newline and its message: the same bytes in both places, so a result is never re-encoded.
//!
//! Invariant: whatever arrives is checked as a request would be: an unknown kind, a bad id or
//! a missing header is an error naming it, never a panic.

use async_nats::HeaderMap;
use fnhost::{CallId, Error, ErrorKind};
use std::time::Duration;

const APP: &str = "Fnhost-App";
const FUNCTION: &str = "Fnhost-Function";
const CALL_ID: &str = "Fnhost-Call-Id";
const DEPTH: &str = "Fnhost-Depth";
const TIMEOUT_MS: &str = "Fnhost-Timeout-Ms";
const RETRIES: &str = "Fnhost-Retries";
const FROM: &str = "Fnhost-From";
/// On a spill's reply: what it says (see [`Reply`]).
const REPLY: &str = "Fnhost-Reply";
/// JetStream's deduplication header.
const MSG_ID: &str = "Nats-Msg-Id";

/// A call as its headers describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallHeaders {
    pub(crate) app: String,
    pub(crate) function: String,
    pub(crate) id: CallId,
    /// Calls that led to it (0: none).
    pub(crate) depth: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retries: Option<u32>,
    /// The host that sent it.
    pub(crate) from: String,
}

impl CallHeaders {
    /// The headers of a call; `dedup` adds the call id as JetStream's message id.
    pub(crate) fn encode(&self, dedup: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(APP, self.app.as_str());
        headers.insert(FUNCTION, self.function.as_str());
        headers.insert(CALL_ID, self.id.to_string().as_str());
        headers.insert(DEPTH, self.depth.to_string().as_str());
        headers.insert(FROM, self.from.as_str());
        if let Some(timeout) = self.timeout {
            headers.insert(TIMEOUT_MS, timeout.as_millis().to_string().as_str());
        }
        if let Some(retries) = self.retries {
            headers.insert(RETRIES, retries.to_string().as_str());
        }
        if dedup {
            headers.insert(MSG_ID, self.id.to_string().as_str());
        }
        headers
    }

    /// Reads a call's headers; an error names what is missing or malformed.
    pub(crate) fn decode(headers: Option<&HeaderMap>) -> Result<CallHeaders, String> {
        let headers = headers.ok_or("a call without headers")?;
        let text = |name: &str| -> Result<&str, String> {
            headers
                .get(name)
                .map(|value| value.as_str())
                .ok_or_else(|| format!("a call without `{name}`"))
        };
        let number = |name: &str| -> Result<Option<u64>, String> {
            headers
                .get(name)
                .map(|value| {
                    value
                        .as_str()
                        .parse()
                        .map_err(|_| format!("`{name}` is not a number"))
                })
                .transpose()
        };
        Ok(CallHeaders {
            app: text(APP)?.to_owned(),
            function: text(FUNCTION)?.to_owned(),
            id: text(CALL_ID)?
                .parse()
                .map_err(|error: Error| error.message().to_owned())?,
            depth: number(DEPTH)?
                .map(|depth| u32::try_from(depth).map_err(|_| format!("`{DEPTH}` is out of range")))
                .transpose()?
                .unwrap_or(0) as usize,
            timeout: number(TIMEOUT_MS)?.map(Duration::from_millis),
            retries: number(RETRIES)?.map(|retries| u32::try_from(retries).unwrap_or(u32::MAX)),
            from: text(FROM).unwrap_or_default().to_owned(),
        })
    }
}

/// What a host answers a spilled call with, in order: `Busy` (it has no room: ask another),
/// or `Accepted`, then `Running` every heartbeat while the call runs, then `Done` with the
/// outcome's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    Busy,
    Accepted,
    Running,
    Done,
}

impl Reply {
    const ALL: [Reply; 4] = [Reply::Busy, Reply::Accepted, Reply::Running, Reply::Done];

    fn as_str(self) -> &'static str {
        match self {
            Reply::Busy => "busy",
            Reply::Accepted => "accepted",
            Reply::Running => "running",
            Reply::Done => "done",
        }
    }

    /// The headers saying it.
    pub(crate) fn encode(self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(REPLY, self.as_str());
        headers
    }

    /// What a reply's headers say; `None` for anything else.
    pub(crate) fn decode(headers: Option<&HeaderMap>) -> Option<Reply> {
        let said = headers?.get(REPLY)?.as_str();
        Reply::ALL.into_iter().find(|reply| reply.as_str() == said)
    }
}

/// A spawned call's outcome as the results bucket keeps it: its app's name on a first line
/// (`@APP`), then the outcome's bytes. The app is what lets a client holding only that app's
/// token read it, and no other app's.
pub(crate) fn encode_stored(app: &str, outcome: &Result<Vec<u8>, Error>) -> Vec<u8> {
    [format!("@{app}\n").as_bytes(), &encode_outcome(outcome)].concat()
}

/// A stored outcome: the app that spawned the call (`None` when stored without one, by an
/// older host), and the outcome.
pub(crate) fn decode_stored(bytes: &[u8]) -> (Option<String>, Result<Vec<u8>, Error>) {
    if let Some(rest) = bytes.strip_prefix(b"@")
        && let Some(newline) = rest.iter().position(|&b| b == b'\n')
        && let Ok(app) = std::str::from_utf8(&rest[..newline])
    {
        return (Some(app.to_owned()), decode_outcome(&rest[newline + 1..]));
    }
    (None, decode_outcome(bytes))
}

/// An outcome's bytes.
pub(crate) fn encode_outcome(outcome: &Result<Vec<u8>, Error>) -> Vec<u8> {
    match outcome {
        Ok(json) => [b"ok\n".as_slice(), json].concat(),
        Err(error) => format!("{}\n{}", error.kind().as_str(), error.message()).into_bytes(),
    }
}

/// An outcome from its bytes; malformed bytes are an error saying so.
pub(crate) fn decode_outcome(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let malformed = || Error::Trapped("the cluster sent a malformed outcome".into());
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(malformed)?;
    let (kind, rest) = (&bytes[..newline], &bytes[newline + 1..]);
    if kind == b"ok" {
        return Ok(rest.to_vec());
    }
    let kind = std::str::from_utf8(kind)
        .ok()
        .and_then(ErrorKind::parse)
        .ok_or_else(malformed)?;
    Err(Error::from_kind(
        kind,
        String::from_utf8_lossy(rest).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    /// A header's value: text, a number of any size, or one past `u64`.
    fn header_value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,40}",
            any::<u64>().prop_map(|number| number.to_string()),
            Just("18446744073709551616".to_owned()),
            Just("fc-0123456789abcdef0123456789abcdef".to_owned()),
        ]
    }

    proptest! {
        /// Whatever headers a call arrives with (any may be missing), reading them ends in a
        /// call or an error naming the header, and a call's depth stays countable.
        #[test]
        fn any_call_headers_decode_without_a_panic(
            values in proptest::collection::vec(proptest::option::of(header_value()), 7),
        ) {
            let names = [APP, FUNCTION, CALL_ID, DEPTH, TIMEOUT_MS, RETRIES, FROM];
            let mut headers = HeaderMap::new();
            for (name, value) in names.iter().zip(&values) {
                if let Some(value) = value {
                    headers.insert(*name, value.as_str());
                }
            }
            if let Ok(call) = CallHeaders::decode(Some(&headers)) {
                prop_assert!(call.depth <= u32::MAX as usize);
            }
        }

        /// Whatever bytes arrive as an outcome, decoding ends in a value or an error.
        #[test]
        fn any_bytes_decode_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_outcome(&bytes);
            let _ = decode_stored(&bytes);
        }

        /// What a host stores reads back whole, whatever the app and the result, and any
        /// truncation of it is an error or a shorter value, never a panic.
        #[test]
        fn stored_outcomes_round_trip(
            app in "[A-Za-z0-9_-]{1,64}",
            json in proptest::collection::vec(any::<u8>(), 0..256),
            cut in 0usize..512,
        ) {
            let stored = encode_stored(&app, &Ok(json.clone()));
            let (back_app, back) = decode_stored(&stored);
            prop_assert_eq!(back_app.as_deref(), Some(app.as_str()));
            prop_assert_eq!(back.unwrap(), json);
            let _ = decode_stored(&stored[..cut.min(stored.len())]);
        }
    }

    #[test]
    fn stored_outcomes_keep_their_app() {
        let stored = encode_stored("shop", &Ok(b"[1]".to_vec()));
        let (app, outcome) = decode_stored(&stored);
        assert_eq!(
            (app.as_deref(), outcome.unwrap()),
            (Some("shop"), b"[1]".to_vec())
        );
        let (app, outcome) = decode_stored(&encode_outcome(&Ok(b"2".to_vec())));
        assert_eq!((app, outcome.unwrap()), (None, b"2".to_vec()));
        let (app, outcome) = decode_stored(b"@shop");
        assert!(
            app.is_none() && outcome.is_err(),
            "a truncated record is malformed"
        );
    }

    #[test]
    fn outcomes_round_trip() {
        let json = b"[1,\"a\\nb\"]".to_vec();
        assert_eq!(
            decode_outcome(&encode_outcome(&Ok(json.clone()))).unwrap(),
            json
        );
        let error = Error::User("ValueError: no\nsecond line".into());
        let back = decode_outcome(&encode_outcome(&Err(error.clone()))).unwrap_err();
        assert_eq!(back.kind(), error.kind());
        assert_eq!(back.message(), error.message());
        for bad in [&b""[..], b"ok", b"nonsense\nx", b"\xff\nx"] {
            assert!(decode_outcome(bad).is_err());
        }
    }

    #[test]
    fn call_headers_round_trip_and_bad_ones_are_named() {
        let call = CallHeaders {
            app: "a".into(),
            function: "f".into(),
            id: "fc-0123456789abcdef0123456789abcdef".parse().unwrap(),
            depth: 3,
            timeout: Some(Duration::from_millis(1500)),
            retries: Some(2),
            from: "h1".into(),
        };
        assert_eq!(CallHeaders::decode(Some(&call.encode(true))).unwrap(), call);
        let mut headers = call.encode(false);
        headers.insert(DEPTH, "x");
        assert_eq!(
            CallHeaders::decode(Some(&headers)).unwrap_err(),
            "`Fnhost-Depth` is not a number"
        );
        assert!(CallHeaders::decode(None).is_err());
    }

    #[test]
    fn replies_round_trip() {
        for reply in Reply::ALL {
            assert_eq!(Reply::decode(Some(&reply.encode())), Some(reply));
        }
        assert_eq!(Reply::decode(None), None);
        assert_eq!(Reply::decode(Some(&HeaderMap::new())), None);
    }
}
