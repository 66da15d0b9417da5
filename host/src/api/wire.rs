//! Arguments and results on the wire: arguments are a JSON array, one element per parameter,
//! written by callers as `()`, the value itself, or a tuple of several (the rule is
//! `fnhost-wire`'s, shared with the Rust guest SDK); a result is the JSON value of what the
//! body returned.

use crate::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes `args` as the JSON array of a call's arguments.
pub(crate) fn encode_args(args: &impl Serialize) -> Result<Vec<u8>, Error> {
    fnhost_wire::encode_args(args)
        .map_err(|error| Error::Payload(format!("cannot encode the arguments: {error}")))
}

/// Decodes a result.
pub(crate) fn decode<R: DeserializeOwned>(payload: &[u8]) -> Result<R, Error> {
    serde_json::from_slice(payload)
        .map_err(|error| Error::Payload(format!("cannot decode the result: {error}")))
}
