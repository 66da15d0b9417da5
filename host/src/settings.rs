//! Operator settings read from the environment (`FNHOST_MAX_INSTANCES`, `FNHOST_MAX_QUEUED`).

use std::str::FromStr;

/// The positive count in the environment variable `name`, or `default` when it is unset, not
/// a number, or zero.
pub(crate) fn count_from_env<T: FromStr + Default + PartialEq>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|count| count.parse().ok())
        .filter(|count| *count != T::default())
        .unwrap_or(default)
}
