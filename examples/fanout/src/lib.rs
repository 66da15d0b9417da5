//! Fan-out: 100 calls that each sleep one second finish together, in about one second.
//!
//! `slow_square` is a blocking function with one input per container, so the 100 calls run on
//! 100 containers at once; `main` gathers them with `join_all` of `remote_aio`.
//!
//! ```text
//! fnhost run examples/fanout
//! ```

use fnhost_guest::{Error, app, function, local_entrypoint, sleep};
use futures::future::join_all;
use std::time::{Duration, Instant};

/// Sleeps one second, then squares `x`.
#[function]
fn slow_square(x: u64) -> u64 {
    sleep(Duration::from_secs(1));
    x * x
}

#[local_entrypoint]
async fn main() -> Result<(), Error> {
    let start = Instant::now();
    let squares = join_all((0..100).map(|x| slow_square.remote_aio(x))).await;
    let squares = squares.into_iter().collect::<Result<Vec<u64>, Error>>()?;
    let sum: u64 = squares.iter().sum();
    println!(
        "{} calls of 1 s each finished in {:.2} s (sum of squares: {sum})",
        squares.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

app!(slow_square, main);
