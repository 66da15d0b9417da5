//! A test app for several hosts on one NATS: a function that holds its container for a while
//! (to fill a host's pool), callers of it of each kind (guest → guest calls that spill to
//! another host), a quick function for thousands of spawned calls, and one that always traps.

use fnhost_guest::{Error, app, function, sleep, sleep_aio};
use std::time::Duration;

/// Holds its container for `ms` milliseconds (none: returns at once), then returns `x`.
#[function]
fn hold(ms: u64, x: u32) -> u32 {
    if ms > 0 {
        sleep(Duration::from_millis(ms));
    }
    x
}

/// Calls `hold` with a blocking call.
#[function]
fn call_hold(ms: u64, x: u32) -> Result<u32, Error> {
    hold.remote((ms, x))
}

/// Calls `hold` with an async call.
#[function]
async fn call_hold_aio(ms: u64, x: u32) -> Result<u32, Error> {
    hold.remote_aio((ms, x)).await
}

/// `2x`, after `ms` milliseconds (none: at once).
#[function(max_inputs = 100)]
async fn double(ms: u64, x: u64) -> u64 {
    if ms > 0 {
        sleep_aio(Duration::from_millis(ms)).await;
    }
    2 * x
}

/// Traps on every input, on every host.
#[function(retries = 1)]
fn poison(x: u32) -> u32 {
    panic!("input {x} is poisoned")
}

app!(hold, call_hold, call_hold_aio, double, poison);
