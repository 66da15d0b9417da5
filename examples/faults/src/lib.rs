//! Functions that misbehave, to show what the host does about each from the command line:
//!
//! ```text
//! fnhost call examples/faults spin            # computes forever: timed out after 2 s
//! fnhost call examples/faults grow 16         # allocates 16 MiB: fine
//! fnhost call examples/faults grow 100        # past its 64 MiB limit: trapped
//! fnhost call examples/faults grow 8192       # past what wasm32 addresses: trapped too
//! fnhost call examples/faults boom '"oops"'   # panics: trapped, with the message
//! fnhost call examples/faults overflow 100000 # exhausts the stack: trapped
//! fnhost call examples/faults recurse 20      # calls itself 20 levels deep through the host
//! fnhost call examples/faults recurse 100     # past the call depth limit: too deep, naming the chain
//! fnhost call examples/faults fragile 107     # every hundredth input panics
//! fnhost call examples/faults sleepy 1500     # sleeps 1.5 s, returns 1500
//! fnhost call examples/faults spin --timeout 1s --option spin.cpu=0.1
//!                                             # a tenth of a core, stopped after 1 s
//! fnhost run examples/faults::quits           # exit(3): the command exits with 1, no error
//! fnhost run examples/faults::quits_early     # exit(0): the command exits with 0
//! ```

use fnhost_guest::{Error, app, function, local_entrypoint, sleep};
use std::time::Duration;

/// Loops forever; stopped at its 2 s timeout.
#[function(timeout = 2)]
fn spin() -> u64 {
    let mut count = 0u64;
    loop {
        count = std::hint::black_box(count.wrapping_add(1));
    }
}

/// Allocates and touches `mb` MiB, one MiB at a time, and returns how many 4 KiB pages it
/// touched; its containers may hold 64 MiB. A request past the limit (or past the 4 GiB a
/// 32-bit memory can address) really grows memory until it traps, however large it is.
#[function(memory = 64)]
fn grow(mb: u32) -> u64 {
    const MIB: usize = 1 << 20;
    let mut blocks = Vec::new();
    let mut pages = 0u64;
    for _ in 0..mb {
        let block = std::hint::black_box(vec![1u8; MIB]);
        pages += block.iter().step_by(4096).count() as u64;
        blocks.push(block);
    }
    std::hint::black_box(&blocks);
    pages
}

/// Panics with `message`.
#[function]
fn boom(message: String) -> u32 {
    panic!("{message}")
}

/// Recurses `depth` levels in its own instance, with a frame the optimizer cannot fold.
#[function]
fn overflow(depth: u64) -> u64 {
    fn down(depth: u64) -> u64 {
        let frame = std::hint::black_box([depth; 64]);
        if depth == 0 {
            0
        } else {
            down(depth - 1) + frame[7] % 2
        }
    }
    down(depth)
}

/// Calls itself through the host `n` levels deep and returns `n`: every level holds a
/// container while it waits for the next.
#[function(timeout = 30)]
fn recurse(n: u32) -> Result<u32, Error> {
    if n == 0 {
        return Ok(0);
    }
    Ok(recurse.remote(n - 1)? + 1)
}

/// Returns `i`, except that every hundredth input (those ending in 07) panics.
#[function]
fn fragile(i: u32) -> u32 {
    if i % 100 == 7 {
        panic!("input {i} is fragile");
    }
    i
}

/// Sleeps `ms` milliseconds and returns them.
#[function]
fn sleepy(ms: u64) -> u64 {
    sleep(Duration::from_millis(ms));
    ms
}

/// Prints a line and exits with status 3: the program ends there, like a native one, which
/// is not a fault. WASI 0.2's `exit` carries only success or failure, so the status arrives as
/// 1 (as under `wasmtime run`).
#[local_entrypoint]
fn quits() {
    println!("quitting");
    std::process::exit(3)
}

/// Prints a line and exits with status 0 before its end: a success.
#[local_entrypoint]
fn quits_early() {
    println!("done early");
    std::process::exit(0)
}

app!(
    spin,
    grow,
    boom,
    overflow,
    recurse,
    fragile,
    sleepy,
    quits,
    quits_early
);
