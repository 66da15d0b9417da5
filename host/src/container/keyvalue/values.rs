//! How wasi:keyvalue's keys (strings) and values (bytes) are kept in fnhost's dicts (JSON), so
//! that a key-value component and fnhost's SDKs read each other's entries.
//!
//! A key is the JSON string of it: `open("shared")` then `get("greeting")` reads what Python's
//! `Dict.from_name("shared")["greeting"]` wrote. A value that is UTF-8 is kept as a JSON string
//! (Python reads a `str`); other bytes are kept as Python keeps a pickled `bytes` (the SDKs'
//! `$fnhost.pickle` marker), so Python reads `bytes`. Read back, a JSON string gives its UTF-8,
//! a pickled `bytes` its bytes, and any other JSON value its JSON text (`3`, `[1,2]`).
//!
//! Invariant: what a key-value component sets, it gets back byte for byte. Without it a
//! component would read its own writes changed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// The member that marks a pickled value (the SDKs' `_wire.PICKLE`).
const PICKLE: &str = "$fnhost.pickle";
/// The `type` of a pickled `bytes`.
const BYTES_TYPE: &str = "builtins.bytes";

/// The dict key of the key-value key `key`.
pub(crate) fn key_json(key: &str) -> Vec<u8> {
    serde_json::to_vec(key).expect("a string encodes")
}

/// The key-value key of a dict key: a JSON string's text, else the key's JSON.
pub(crate) fn key_text(json: &[u8]) -> String {
    match serde_json::from_slice::<Value>(json) {
        Ok(Value::String(text)) => text,
        _ => String::from_utf8_lossy(json).into_owned(),
    }
}

/// The dict value that keeps `bytes`.
pub(crate) fn value_json(bytes: &[u8]) -> Vec<u8> {
    let value = match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => {
            serde_json::json!({PICKLE: STANDARD.encode(pickle_bytes(bytes)), "type": BYTES_TYPE})
        }
    };
    serde_json::to_vec(&value).expect("a JSON value encodes")
}

/// The bytes a dict value holds, as a key-value component reads them.
pub(crate) fn value_bytes(json: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(json) {
        Ok(Value::String(text)) => text.into_bytes(),
        Ok(Value::Object(object))
            if object.get("type").and_then(Value::as_str) == Some(BYTES_TYPE) =>
        {
            object
                .get(PICKLE)
                .and_then(Value::as_str)
                .and_then(|encoded| STANDARD.decode(encoded).ok())
                .and_then(|pickle| unpickle_bytes(&pickle))
                .unwrap_or_else(|| json.to_vec())
        }
        _ => json.to_vec(),
    }
}

/// The integer a dict value holds for `increment`: absent is 0; a JSON integer, or a string
/// of one (as `set` keeps `b"5"`).
pub(crate) fn integer(json: Option<&[u8]>) -> Result<i64, String> {
    let Some(json) = json else { return Ok(0) };
    let value: Value = serde_json::from_slice(json).map_err(|error| error.to_string())?;
    let found = match &value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    found.ok_or_else(|| format!("the value `{value}` is not a 64-bit integer"))
}

/// The pickle (protocol 4) of a Python `bytes` object holding `bytes`.
fn pickle_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut pickle = vec![0x80, 4];
    match u8::try_from(bytes.len()) {
        Ok(short) => pickle.extend([b'C', short]),
        Err(_) => {
            // Values are capped far below 4 GiB.
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            pickle.push(b'B');
            pickle.extend(len.to_le_bytes());
        }
    }
    pickle.extend_from_slice(bytes);
    pickle.push(b'.');
    pickle
}

/// The bytes of a pickled `bytes` object as Python writes one (protocol 3 to 5: an optional
/// frame, one bytes opcode, an optional memo, the end); `None` for any other pickle.
fn unpickle_bytes(pickle: &[u8]) -> Option<Vec<u8>> {
    let mut rest = pickle.strip_prefix(&[0x80])?.get(1..)?;
    if let Some(framed) = rest.strip_prefix(&[0x95]) {
        rest = framed.get(8..)?;
    }
    let (&opcode, after) = rest.split_first()?;
    let (len, after) = match opcode {
        b'C' => (usize::from(*after.first()?), after.get(1..)?),
        b'B' => (
            u32::from_le_bytes(after.get(..4)?.try_into().ok()?) as usize,
            after.get(4..)?,
        ),
        0x8e => (
            usize::try_from(u64::from_le_bytes(after.get(..8)?.try_into().ok()?)).ok()?,
            after.get(8..)?,
        ),
        _ => return None,
    };
    let data = after.get(..len)?;
    let tail = after.get(len..)?;
    matches!(tail, [b'.'] | [0x94, b'.']).then(|| data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_set_is_got_back_byte_for_byte() {
        let long = vec![0xffu8; 300];
        for bytes in [&b"hello"[..], b"", b"\x00\x01\xfe", &long, "é".as_bytes()] {
            assert_eq!(value_bytes(&value_json(bytes)), bytes);
        }
        assert_eq!(value_json(b"hi"), br#""hi""#);
        assert_eq!(key_text(&key_json("a \"key\"")), "a \"key\"");
    }

    #[test]
    fn python_values_read_as_their_text_or_bytes() {
        assert_eq!(value_bytes(b"3"), b"3");
        assert_eq!(value_bytes(br#"{"a":[1,2]}"#), br#"{"a":[1,2]}"#);
        // pickle.dumps(b"\x00\x01") as Python 3.11 writes it (protocol 4, framed, memoized).
        let python =
            STANDARD.encode(b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00C\x02\x00\x01\x94.");
        let kept = format!(r#"{{"{PICKLE}": "{python}", "type": "builtins.bytes"}}"#);
        assert_eq!(value_bytes(kept.as_bytes()), b"\x00\x01");
        assert_eq!(key_text(b"7"), "7");
    }

    #[test]
    fn increments_read_integers_and_their_strings() {
        assert_eq!(integer(None), Ok(0));
        assert_eq!(integer(Some(b"41")), Ok(41));
        assert_eq!(integer(Some(br#""-5""#)), Ok(-5));
        assert!(integer(Some(br#""x""#)).is_err());
        assert!(integer(Some(b"1.5")).is_err());
    }

    use proptest::prelude::*;

    proptest! {
        /// Whatever a dict holds (another program may have written it), reading it as a
        /// key-value value, key or counter ends in bytes or an error, never a panic; and what
        /// a component sets reads back byte for byte.
        #[test]
        fn any_stored_bytes_read_without_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            length in any::<u64>(),
        ) {
            let _ = value_bytes(&bytes);
            let _ = key_text(&bytes);
            let _ = integer(Some(&bytes));
            prop_assert_eq!(value_bytes(&value_json(&bytes)), bytes.clone());
            // A pickle whose length says more than it holds, in each length form.
            for opcode in [b'C', b'B', 0x8e] {
                let mut pickle = vec![0x80, 4, opcode];
                pickle.extend(length.to_le_bytes());
                pickle.extend_from_slice(&bytes);
                let _ = unpickle_bytes(&pickle);
                let _ = unpickle_bytes(&pickle[..pickle.len() / 2]);
            }
        }
    }
}
