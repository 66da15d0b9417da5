//! The size limit of what crosses between containers: arguments and results.
//!
//! Every payload is copied into and out of guest memory and held while queued, so an
//! unbounded one would let one caller exhaust the host. [`MAX_PAYLOAD`] bounds each: larger
//! arguments fail the call at once with `bad-arguments`, a larger result fails it with a user
//! error (the function produced it).

/// The largest payload, in bytes: 16 MiB.
pub const MAX_PAYLOAD: usize = 16 << 20;

/// Checks the size of `function`'s `what` (arguments or result).
pub(crate) fn check(function: &str, what: &str, len: usize) -> Result<(), String> {
    if len <= MAX_PAYLOAD {
        return Ok(());
    }
    Err(format!(
        "`{function}`: {what} of {len} bytes, over the {} MiB payload limit",
        MAX_PAYLOAD >> 20
    ))
}
