//! JSON payloads read into Rust values, for every Rust reader (the guest SDK, the host
//! library's typed dicts and queues).
//!
//! A Python writer sends a value JSON cannot carry (a `datetime`, a `set`, an object) as a
//! pickle, the JSON object `{"$fnhost.pickle": ..., "type": "module.Type"}`. Rust cannot read a
//! pickle: such a value fails with a message naming its Python type, rather than a bare
//! "invalid type: map" from serde.

use serde::de::DeserializeOwned;

/// The member that marks a pickled Python value.
const PICKLE: &str = "$fnhost.pickle";

/// `payload` read as a `T`; `what` names it in the message of a failure (`the result`, `a
/// value`).
pub fn decode<T: DeserializeOwned>(what: &str, payload: &[u8]) -> Result<T, String> {
    serde_json::from_slice(payload).map_err(|error| match pickled_type(payload) {
        Some(kind) => format!(
            "cannot decode {what}: it is a pickled Python `{kind}`, which only Python can read"
        ),
        None => format!("cannot decode {what}: {error}"),
    })
}

/// The Python type of a pickled value, when `payload` is one (or holds one).
fn pickled_type(payload: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(payload).ok()?;
    if !text.contains(PICKLE) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    find_pickle(&value)
}

fn find_pickle(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Object(members) if members.contains_key(PICKLE) => Some(
            members
                .get("type")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("object")
                .to_owned(),
        ),
        serde_json::Value::Object(members) => members.values().find_map(find_pickle),
        serde_json::Value::Array(items) => items.iter().find_map(find_pickle),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pickled_value_is_named_by_its_python_type() {
        let payload = br#"{"$fnhost.pickle": "gASV", "type": "datetime.datetime"}"#;
        let error = decode::<String>("the result", payload).unwrap_err();
        assert!(
            error.contains("pickled Python `datetime.datetime`"),
            "{error}"
        );
        let nested = br#"[1, {"$fnhost.pickle": "gASV", "type": "builtins.set"}]"#;
        let error = decode::<Vec<u32>>("a value", nested).unwrap_err();
        assert!(error.contains("`builtins.set`"), "{error}");
        assert_eq!(decode::<u32>("a value", b"7").unwrap(), 7);
        assert!(
            !decode::<u32>("a value", b"\"x\"")
                .unwrap_err()
                .contains("pickle")
        );
    }

    use proptest::prelude::*;

    proptest! {
        /// Whatever bytes arrive as a payload (truncated, garbage, nested past serde_json's
        /// limit of 128 levels), reading them ends in a value or a message, never a panic or
        /// a stack overflow.
        #[test]
        fn any_payload_decodes_or_is_refused(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            depth in 0usize..400,
        ) {
            let _ = decode::<(u32, String)>("the arguments", &bytes);
            let _ = decode::<serde_json::Value>("the arguments", &bytes);
            let pickled = format!(
                "{}{{\"{PICKLE}\": \"gASV\", \"type\": \"set\"}}{}",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            let error = decode::<u32>("the result", pickled.as_bytes()).unwrap_err();
            prop_assert!(error.starts_with("cannot decode the result"), "{error}");
            let cut = &pickled.as_bytes()[..pickled.len() / 2];
            prop_assert!(decode::<serde_json::Value>("the result", cut).is_err());
        }
    }
}
