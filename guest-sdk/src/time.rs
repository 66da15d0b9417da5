//! Sleeping, blocking and async.

use crate::bindings::fnhost::runtime::host;
use std::time::Duration;

/// Sleeps for `duration`, holding the calling instance: none of its other inputs run meanwhile.
pub fn sleep(duration: Duration) {
    host::sleep(nanos(duration));
}

/// Sleeps for `duration`; the instance's other inputs run meanwhile.
pub async fn sleep_aio(duration: Duration) {
    host::sleep_async(nanos(duration)).await;
}

/// A duration in the nanoseconds the host takes, saturating.
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
