//! JSON payloads read into Rust values: results, items, and what dicts and queues hold, by
//! the wire crate's one rule (a pickled Python value fails naming its Python type).

use crate::Error;
use serde::de::DeserializeOwned;

/// `payload` read as a `T`; `what` names it in the error (`the result`, `a value`).
pub(crate) fn decode<T: DeserializeOwned>(what: &str, payload: &[u8]) -> Result<T, Error> {
    fnhost_wire::payload::decode(what, payload).map_err(Error::Payload)
}
