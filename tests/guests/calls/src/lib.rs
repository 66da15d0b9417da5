//! A test app: callees of each kind, callers of each kind, and one function per error kind.

use fnhost_guest::{
    CallOptions, Error, Function, FunctionCall, app, current_function_call_id, current_input_id,
    function, sleep, sleep_aio,
};
use futures::StreamExt;
use futures::future::{Either, join_all, select};
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::HashSet;
use std::pin::pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

// --- callees -------------------------------------------------------------------------------

#[function]
fn blocking_callee(x: u32) -> u32 {
    x + 1
}

#[function]
async fn async_callee(x: u32) -> u32 {
    sleep_aio(Duration::from_millis(1)).await;
    x * 2
}

/// Adds its arguments: several parameters, a string result.
#[function]
fn describe_sum(a: u32, b: u32, label: String) -> String {
    format!("{label}: {}", a + b)
}

/// One parameter, a string.
#[function]
fn greet(name: String) -> String {
    format!("hello, {name}")
}

/// One parameter whose type is itself a tuple.
#[function]
fn pair_sum(pair: (u32, u32)) -> u32 {
    pair.0 + pair.1
}

// --- callers -------------------------------------------------------------------------------

/// A blocking body calling both kinds, blocking.
#[function]
fn blocking_caller(x: u32) -> Result<(u32, u32), Error> {
    Ok((blocking_callee.remote(x)?, async_callee.remote(x)?))
}

/// An async body calling both kinds, async.
#[function]
async fn async_caller(x: u32) -> Result<(u32, u32), Error> {
    let blocking = blocking_callee.remote_aio(x).await?;
    let asynchronous = async_callee.remote_aio(x).await?;
    Ok((blocking, asynchronous))
}

/// An async body making blocking calls (allowed; it holds its instance while it waits).
#[function]
async fn async_caller_blocking_calls(x: u32) -> Result<(u32, u32), Error> {
    Ok((blocking_callee.remote(x)?, async_callee.remote(x)?))
}

/// Spawns a call of each kind, then gets them: blocking `get` and async `get_aio`.
#[function]
async fn spawn_and_get(x: u32) -> Result<(u32, u32), Error> {
    let blocking = blocking_callee.spawn(x)?;
    let asynchronous = async_callee.spawn(x)?;
    Ok((blocking.get()?, asynchronous.get_aio().await?))
}

/// The ids of the call it serves, as the body reads them.
#[function]
fn own_ids() -> (Option<String>, Option<String>) {
    (current_function_call_id(), current_input_id())
}

/// The ids of the call it serves, read before and after a wait of `ms` during which the
/// container's other inputs run: each must see its own.
#[function(max_inputs = 20, target_inputs = 20)]
async fn own_ids_aio(ms: u64) -> (Option<String>, Option<String>) {
    let before = current_function_call_id();
    sleep_aio(Duration::from_millis(ms)).await;
    (before, current_function_call_id())
}

/// Scheduled, with the Rust attribute: at midnight on New Year's Day in Paris.
#[function(schedule = cron("0 0 1 1 *", timezone = "Europe/Paris"))]
fn new_year() {}

/// Scheduled every day and a second and a half after the deploy.
#[function(schedule = period(days = 1, seconds = 1.5))]
fn daily() {}

/// `FunctionCall::gather` of `n` spawned blocking calls, `gather_aio` of `n` async ones.
#[function]
async fn gather_spawned(n: u32) -> Result<(Vec<u32>, Vec<u32>), Error> {
    let blocking: Vec<FunctionCall<u32>> = (0..n)
        .map(|x| blocking_callee.spawn(x))
        .collect::<Result<_, _>>()?;
    let asynchronous: Vec<FunctionCall<u32>> = (0..n)
        .map(|x| async_callee.spawn(x))
        .collect::<Result<_, _>>()?;
    Ok((
        FunctionCall::gather(blocking)?,
        FunctionCall::gather_aio(asynchronous).await?,
    ))
}

/// `map` from a blocking body, `map_aio` from an async one.
#[function]
fn blocking_map(n: u32) -> Result<Vec<u32>, Error> {
    blocking_callee.map(0..n)
}

#[function]
async fn async_map(n: u32) -> Result<Vec<u32>, Error> {
    async_callee.map_aio(0..n).await
}

/// Calls `greet(name)` through a `from_name` handle taking the single argument itself (not a
/// tuple), blocking then async: both give `hello, {name}`.
#[function]
async fn greet_by_name(name: String) -> Result<(String, String), Error> {
    let by_name = Function::<String, String>::from_name("greet");
    let blocking = by_name.remote(name.clone())?;
    let asynchronous = by_name.remote_aio(name).await?;
    Ok((blocking, asynchronous))
}

/// Calls `pair_sum((a, b))` through its `#[function]` handle, which knows it takes one tuple, and
/// through a `from_name` handle, which is given the one-element argument list `((a, b),)`: both
/// give `a + b`.
#[function]
async fn pair_sum_both_ways(a: u32, b: u32) -> Result<(u32, u32), Error> {
    let by_handle = pair_sum.remote_aio((a, b)).await?;
    let by_name = Function::<((u32, u32),), u32>::from_name("pair_sum")
        .remote_aio(((a, b),))
        .await?;
    Ok((by_handle, by_name))
}

/// Runs the bodies here, in this instance.
#[function]
async fn local_calls(x: u32) -> (u32, u32) {
    (blocking_callee.local(x), async_callee.local(x).await)
}

// --- callers of the Python test app (tests/guests-py/calls), loaded beside it -------------

/// The Python test app's callees, by name.
const PY_BLOCKING_CALLEE: Function<u32, u32> = Function::from_name("py_blocking_callee");
const PY_ASYNC_CALLEE: Function<u32, u32> = Function::from_name("py_async_callee");

/// A blocking body calling both Python kinds, blocking.
#[function]
fn blocking_caller_of_py(x: u32) -> Result<(u32, u32), Error> {
    Ok((PY_BLOCKING_CALLEE.remote(x)?, PY_ASYNC_CALLEE.remote(x)?))
}

/// An async body calling both Python kinds, async.
#[function]
async fn async_caller_of_py(x: u32) -> Result<(u32, u32), Error> {
    let blocking = PY_BLOCKING_CALLEE.remote_aio(x).await?;
    Ok((blocking, PY_ASYNC_CALLEE.remote_aio(x).await?))
}

/// An async body calling both Python kinds, blocking.
#[function]
async fn async_caller_blocking_calls_of_py(x: u32) -> Result<(u32, u32), Error> {
    Ok((PY_BLOCKING_CALLEE.remote(x)?, PY_ASYNC_CALLEE.remote(x)?))
}

/// Spawns a call of each Python kind, then gets them, blocking and async.
#[function]
async fn spawn_and_get_of_py(x: u32) -> Result<(u32, u32), Error> {
    let blocking = PY_BLOCKING_CALLEE.spawn(x)?;
    let asynchronous = PY_ASYNC_CALLEE.spawn(x)?;
    Ok((blocking.get()?, asynchronous.get_aio().await?))
}

// --- errors --------------------------------------------------------------------------------

#[function]
fn fallible(x: u32) -> Result<u32, String> {
    if x % 2 == 1 {
        Err(format!("odd number {x}"))
    } else {
        Ok(x / 2)
    }
}

/// Prints each of `lines` on stdout, and `partial` on stderr with no newline after it.
#[function]
fn say(lines: Vec<String>, partial: String) -> usize {
    for line in &lines {
        println!("{line}");
    }
    eprint!("{partial}");
    lines.len()
}

/// Writes `total` bytes to stdout in writes of `chunk` bytes and returns how many it wrote:
/// byte `i` is a newline if `newline_every` (not 0) divides `i + 1`, else the letter
/// `a + i % 26`. It needs only its `chunk`-byte buffer, however much it writes.
#[function]
fn flood(total: u64, chunk: u32, newline_every: u64) -> u64 {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let mut buffer = vec![0u8; chunk.max(1) as usize];
    let mut written = 0u64;
    while written < total {
        let len = (total - written).min(buffer.len() as u64) as usize;
        for (offset, byte) in buffer[..len].iter_mut().enumerate() {
            let index = written + offset as u64;
            *byte = if newline_every > 0 && (index + 1).is_multiple_of(newline_every) {
                b'\n'
            } else {
                b'a' + (index % 26) as u8
            };
        }
        if stdout.write_all(&buffer[..len]).is_err() {
            break;
        }
        written += len as u64;
    }
    let _ = stdout.flush();
    written
}

#[function]
fn boom(message: String) -> u32 {
    panic!("{message}")
}

/// Sleeps `ms`, then panics if asked to: 4 inputs share one instance, so a panic fails them all.
#[function(max_inputs = 4, max_containers = 1)]
async fn sleep_then_maybe_panic(ms: u64, panic: bool) -> u64 {
    sleep_aio(Duration::from_millis(ms)).await;
    if panic {
        panic!("panicking after {ms} ms");
    }
    ms
}

#[function]
fn slow(ms: u64) -> u64 {
    sleep(Duration::from_millis(ms));
    ms
}

#[function]
async fn slow_aio(ms: u64) -> u64 {
    sleep_aio(Duration::from_millis(ms)).await;
    ms
}

/// The error each failure gives a guest caller, as text, in the order of the contract.
#[function]
async fn error_kinds() -> Vec<String> {
    let not_found = Function::<(), u32>::from_name("no_such_function").remote(());
    let bad_arguments = Function::<(String,), u32>::from_name("blocking_callee")
        .remote_aio(("not a number".to_owned(),))
        .await;
    let user = fallible.remote_aio(3).await;
    let trapped = boom.remote_aio("kaboom".to_owned()).await;
    let timeout = match slow_aio.spawn(10_000) {
        Ok(mut call) => {
            let timed_out = call.get_timeout_aio(Duration::from_millis(20)).await;
            call.cancel();
            timed_out
        }
        Err(error) => Err(error),
    };
    let cancelled = match slow_aio.spawn(10_000) {
        Ok(call) => {
            call.cancel();
            call.get_aio().await
        }
        Err(error) => Err(error),
    };
    fn show<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
        match result {
            Ok(value) => format!("ok: {value:?}"),
            Err(error) => format!("{error:?}"),
        }
    }
    vec![
        show(not_found),
        show(bad_arguments),
        show(user),
        show(trapped),
        show(timeout),
        show(cancelled),
    ]
}

// --- map variants ----------------------------------------------------------------------------

thread_local! {
    /// The rounds of `gate` released.
    static GATES_RELEASED: RefCell<HashSet<String>> = RefCell::default();
}

/// Input `i` of a round of gates: input 0 returns only once the round is released (by an
/// input with `i < 0`); the others return at once. So a reader of results in the order calls
/// finish gets every other input's before 0's, and can release 0 after reading them: no clock
/// decides the order. Released rounds are kept in the instance, so this works only when the
/// inputs interleave on one instance; input 0 gives up after 20 s so that a broken host fails
/// the test instead of hanging it.
#[function(max_inputs = 100, max_containers = 1)]
async fn gate(round: String, i: i64) -> Result<i64, String> {
    if i < 0 {
        GATES_RELEASED.with_borrow_mut(|released| released.insert(round));
        return Ok(i);
    }
    if i > 0 {
        return Ok(i);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while !GATES_RELEASED.with_borrow(|released| released.contains(&round)) {
        if Instant::now() > deadline {
            return Err(format!("round {round} was never released"));
        }
        sleep_aio(Duration::from_millis(1)).await;
    }
    Ok(0)
}

/// The inputs of one round of `n` gates.
fn gate_round(round: &str, n: i64) -> impl Iterator<Item = (String, i64)> + '_ {
    (0..n).map(move |i| (round.to_owned(), i))
}

/// A round of `n` gates through `map_unordered` (blocking): reads `n - 1` results, releases the
/// round, reads the last.
#[function]
fn gates_unordered(round: String, n: i64) -> Result<Vec<i64>, Error> {
    let mut results = gate.map_unordered(gate_round(&round, n));
    let mut read = results
        .by_ref()
        .take(n as usize - 1)
        .collect::<Result<Vec<_>, _>>()?;
    gate.remote((round.clone(), -1))?;
    for result in results {
        read.push(result?);
    }
    Ok(read)
}

/// The same through `map_unordered_aio`.
#[function]
async fn gates_unordered_aio(round: String, n: i64) -> Result<Vec<i64>, Error> {
    let mut results = pin!(gate.map_unordered_aio(gate_round(&round, n)));
    let mut read = Vec::new();
    for _ in 1..n {
        read.extend(results.next().await.transpose()?);
    }
    gate.remote_aio((round.clone(), -1)).await?;
    while let Some(result) = results.next().await {
        read.push(result?);
    }
    Ok(read)
}

/// Reads the `n - 1` results of a round of `n` gates that can come, never releases it, and
/// drops the iterator: input 0 is cancelled.
#[function]
fn gates_abandoned(round: String, n: i64) -> Result<Vec<i64>, Error> {
    gate.map_unordered(gate_round(&round, n))
        .take(n as usize - 1)
        .collect()
}

/// `describe_sum` over tuples of its three arguments: Modal's `starmap`.
#[function]
fn starmap_sums(n: u32) -> Result<Vec<String>, Error> {
    describe_sum.map((0..n).map(|i| (i, i, format!("s{i}"))))
}

/// `for_each` and `for_each_aio` of `fallible` over `0..n` (odd inputs fail).
#[function]
async fn for_each_of_fallible(
    n: u32,
    ignore_errors: bool,
) -> (Result<(), String>, Result<(), String>) {
    let blocking = fallible.for_each(0..n, ignore_errors);
    let asynchronous = fallible.for_each_aio(0..n, ignore_errors).await;
    (
        blocking.map_err(|error| error.to_string()),
        asynchronous.map_err(|error| error.to_string()),
    )
}

/// Spawns `fallible` over `0..n` and returns the calls' ids at once.
#[function]
fn spawn_map_ids(n: u32) -> Result<Vec<String>, Error> {
    Ok(fallible
        .spawn_map(0..n)?
        .iter()
        .map(FunctionCall::id)
        .collect())
}

// --- batched functions -----------------------------------------------------------------------

/// Doubles a batch of numbers. The host waits up to a minute for 4 inputs, so batches are
/// always full in the tests (they send multiples of 4 at once). A batch holding a negative
/// number fails whole; one holding 999 returns one result too few.
#[function(batched(max_batch_size = 4, wait_ms = 60_000))]
fn doubled_batch(xs: Vec<i64>) -> Result<Vec<i64>, String> {
    if let Some(negative) = xs.iter().find(|x| **x < 0) {
        return Err(format!("a negative number in the batch: {negative}"));
    }
    let mut doubled: Vec<i64> = xs.iter().map(|x| x * 2).collect();
    if xs.contains(&999) {
        doubled.pop();
    }
    Ok(doubled)
}

/// The lengths of a batch of texts, each with its tag: batches as large as 1000, sent at once
/// (no wait).
#[function(batched(max_batch_size = 1000, wait_ms = 0), max_inputs = 10)]
async fn lengths(texts: Vec<String>, tags: Vec<u32>) -> Vec<(u32, usize)> {
    tags.into_iter()
        .zip(texts.iter().map(String::len))
        .collect()
}

/// Calls `lengths` with one input, blocking and async: callers pass and get one element.
#[function]
async fn call_batched(text: String) -> Result<((u32, usize), (u32, usize)), Error> {
    let blocking = lengths.remote((text.clone(), 1))?;
    let asynchronous = lengths.remote_aio((text, 2)).await?;
    Ok((blocking, asynchronous))
}

/// `map_results` keeps every input's own result.
#[function]
fn map_results_of_fallible(n: u32) -> Vec<Result<u32, String>> {
    fallible
        .map_results(0..n)
        .into_iter()
        .map(|result| result.map_err(|error| error.to_string()))
        .collect()
}

// --- timeouts ------------------------------------------------------------------------------

/// Blocks in a blocking import for an hour.
#[function(timeout = 1)]
fn stuck_blocking() {
    sleep(Duration::from_secs(3600));
}

/// Waits in an async import for `ms`; two inputs share an instance.
#[function(timeout = 1, max_inputs = 2, max_containers = 1)]
async fn stuck_async(ms: u64) -> u64 {
    sleep_aio(Duration::from_millis(ms)).await;
    ms
}

/// A string of `mb` MiB.
#[function]
fn big_result(mb: u32) -> String {
    "x".repeat((mb as usize) << 20)
}

// --- payloads ------------------------------------------------------------------------------

/// The length of `text` in bytes: takes arguments too large for a command line.
#[function]
fn text_len(text: String) -> usize {
    text.len()
}

/// `null` inside `depth` arrays (`[[null]]` for 2): written as text, since serializing a value
/// that deep would recurse once per level, past what the guest's stack holds.
#[function]
fn nested(depth: u32) -> Result<Box<RawValue>, String> {
    let depth = depth as usize;
    let json = format!("{}null{}", "[".repeat(depth), "]".repeat(depth));
    RawValue::from_string(json).map_err(|error| error.to_string())
}

// --- retries -------------------------------------------------------------------------------

static ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Fails until the instance has seen more than `failures` attempts, then returns how many it
/// saw. One container, which a user error does not end, so the count survives retries.
#[function(retries(max_retries = 2, initial_delay = 10), max_containers = 1)]
fn flaky(failures: u32) -> Result<u32, String> {
    let attempt = ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt <= failures {
        Err(format!("attempt {attempt} failed"))
    } else {
        Ok(attempt)
    }
}

/// Panics every time; retried twice, each time on a new container, 10 ms then 30 ms later.
#[function(retries(
    max_retries = 2,
    initial_delay = 10,
    backoff_coefficient = 3.0,
    max_delay = 1000
))]
fn always_panics() -> u32 {
    panic!("again")
}

// --- scaling -------------------------------------------------------------------------------

/// Two containers are kept running from the start; idle ones beyond them retire after 2 s.
#[function(min_containers = 2, max_containers = 4, scaledown_window = 2)]
fn kept_warm(ms: u64) -> u64 {
    sleep(Duration::from_millis(ms));
    instance_id()
}

/// Returns its input: the unit of the queue load test.
#[function(max_containers = 4)]
fn identity(i: u64) -> u64 {
    i
}

/// Holds its input for `ms`: the autoscaler aims for 2 inputs per container, and containers
/// take up to 10 while others start.
#[function(max_inputs = 10, target_inputs = 2, max_containers = 5)]
async fn targeted(ms: u64) -> u64 {
    sleep_aio(Duration::from_millis(ms)).await;
    ms
}

/// Holds its input for `ms`, with two idle containers kept ready beside the busy ones.
#[function(buffer_containers = 2, max_containers = 10)]
fn buffered(ms: u64) -> u64 {
    sleep(Duration::from_millis(ms));
    ms
}

/// Computes for `ms` of wall-clock time and returns how many rounds it did; its containers may
/// use a quarter of a core.
#[function(cpu = 0.25)]
fn burn(ms: u64) -> u64 {
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < Duration::from_millis(ms) {
        rounds = std::hint::black_box(rounds + 1);
    }
    rounds
}

// --- call graphs ---------------------------------------------------------------------------

/// `ping` and `pong` call each other `n` levels deep. Each has one container, held by its
/// caller further up the chain while the call comes back to it.
#[function(max_containers = 1)]
fn ping(n: u32) -> Result<u32, Error> {
    if n == 0 {
        return Ok(0);
    }
    Ok(pong.remote(n - 1)? + 1)
}

#[function(max_containers = 1)]
fn pong(n: u32) -> Result<u32, Error> {
    if n == 0 {
        return Ok(0);
    }
    Ok(ping.remote(n - 1)? + 1)
}

/// Spawns itself with `n - 1` and returns that call's id without waiting for it (none for 0),
/// from its one container: the spawn comes back to a full pool, but nothing waits for it.
#[function(max_containers = 1)]
fn hatch(n: u32) -> Result<Option<String>, Error> {
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(hatch.spawn(n - 1)?.id()))
}

/// Calls itself `n` levels deep with async calls, on one container that runs one input.
#[function(max_inputs = 1, max_containers = 1)]
async fn ouroboros(n: u32) -> Result<u32, Error> {
    if n == 0 {
        return Ok(0);
    }
    Ok(ouroboros.remote_aio(n - 1).await? + 1)
}

// --- cancellation --------------------------------------------------------------------------

/// Calls `slow(ms)` and blocks until it is back.
#[function]
fn relay(ms: u64) -> Result<u64, Error> {
    slow.remote(ms)
}

/// Calls `slow_aio(ms)` and awaits it.
#[function]
async fn relay_aio(ms: u64) -> Result<u64, Error> {
    slow_aio.remote_aio(ms).await
}

/// Calls `slow_aio(ms)`, and drops the call if it is not back within `patience` ms; returns
/// whether it was.
#[function]
async fn give_up(ms: u64, patience: u64) -> bool {
    let call = pin!(slow_aio.remote_aio(ms));
    let timer = pin!(sleep_aio(Duration::from_millis(patience)));
    matches!(select(call, timer).await, Either::Left(_))
}

/// Spawns `slow(ms)`, cancels it after `patience` ms, and returns what `get` then says.
#[function]
fn spawn_and_cancel(ms: u64, patience: u64) -> Result<String, Error> {
    let call = slow.spawn(ms)?;
    sleep(Duration::from_millis(patience));
    call.cancel();
    Ok(format!("{:?}", call.get()))
}

/// Spawns `slow(ms)` and returns the call's id without waiting: the host keeps the call.
#[function]
fn spawn_slow(ms: u64) -> Result<String, Error> {
    Ok(slow.spawn(ms)?.id())
}

/// Collects the call `id` (spawned anywhere) with `from_id`; `cancel` cancels it first.
#[function]
async fn collect(id: String, cancel: bool) -> Result<u64, Error> {
    let call = FunctionCall::<u64>::from_id(&id)?;
    if cancel {
        call.cancel();
    }
    call.get_aio().await
}

/// Calls `name` (any name, `APP/FUNCTION` included) with no arguments, from a blocking body
/// and from an async one: both results.
#[function]
async fn call_by_name(name: String) -> Result<(u32, u32), Error> {
    let name: &'static str = Box::leak(name.into_boxed_str());
    let function = Function::<(), u32>::from_name(name);
    Ok((function.remote(())?, function.remote_aio(()).await?))
}

/// Calls `slow(ms)` with a timeout of 1 s of its own: past it, its container is stopped, and
/// with it the call it is waiting on.
#[function(timeout = 1)]
fn impatient(ms: u64) -> Result<u64, Error> {
    slow.remote(ms)
}

/// Calls `slow(ms)` with a 1 s timeout set at the call site.
#[function]
fn with_short_timeout(ms: u64) -> Result<u64, Error> {
    slow.with_options(CallOptions {
        timeout: Some(Duration::from_secs(1)),
        ..CallOptions::default()
    })
    .remote(ms)
}

// --- sandbox -------------------------------------------------------------------------------

/// Reads the file at `path`.
#[function]
fn read_file(path: String) -> Result<String, String> {
    std::fs::read_to_string(&path).map_err(|error| error.to_string())
}

/// Writes `text` to the file at `path`.
#[function]
fn write_file(path: String, text: String) -> Result<(), String> {
    std::fs::write(&path, text).map_err(|error| error.to_string())
}

/// The environment variable `key`, if the container has it.
#[function]
fn env_var(key: String) -> Option<String> {
    std::env::var(key).ok()
}

/// What the guest can reach of the machine: each entry is what an attempt gave.
#[function]
fn sandbox_probe() -> Vec<String> {
    let file = std::fs::read_to_string("/etc/hostname").map(|_| "read /etc/hostname".to_owned());
    let dir = std::fs::read_dir(".").map(|_| "listed .".to_owned());
    let env = std::env::vars().count();
    let socket = std::net::TcpStream::connect("127.0.0.1:9").map(|_| "connected".to_owned());
    vec![
        format!(
            "file: {}",
            file.unwrap_or_else(|error| format!("denied ({error})"))
        ),
        format!(
            "dir: {}",
            dir.unwrap_or_else(|error| format!("denied ({error})"))
        ),
        format!("env: {env} variables"),
        format!(
            "socket: {}",
            socket.unwrap_or_else(|error| format!("denied ({error})"))
        ),
    ]
}

// --- concurrency ---------------------------------------------------------------------------

static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// A barrier: returns only once `n` inputs are inside it at the same time. The inputs share
/// the counter, so this works only when they interleave on one instance (`max_inputs`); it
/// gives up after 20 s so that a broken host fails the test instead of hanging it.
#[function(max_inputs = 100, max_containers = 1)]
async fn barrier(n: u32) -> Result<u32, String> {
    let arrived = ARRIVED.fetch_add(1, Ordering::SeqCst) + 1;
    let deadline = Instant::now() + Duration::from_secs(20);
    while ARRIVED.load(Ordering::SeqCst) < n {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {n} inputs arrived",
                ARRIVED.load(Ordering::SeqCst)
            ));
        }
        sleep_aio(Duration::from_millis(1)).await;
    }
    Ok(arrived)
}

/// Fans out `n` async calls of `barrier` from one task and gathers them.
#[function]
async fn fan_out(n: u32) -> Result<u32, Error> {
    let arrivals = join_all((0..n).map(|_| barrier.remote_aio(n))).await;
    let arrivals = arrivals.into_iter().collect::<Result<Vec<u32>, Error>>()?;
    Ok(arrivals.len() as u32)
}

/// A tree of async calls of itself, `depth` deep (this call its root), two children each:
/// how many calls it holds. Its inputs, of every depth, interleave on one container.
#[function(max_inputs = 1000, max_containers = 1)]
async fn tree(depth: u32) -> Result<u32, Error> {
    if depth <= 1 {
        return Ok(1);
    }
    let (left, right) =
        futures::future::join(tree.remote_aio(depth - 1), tree.remote_aio(depth - 1)).await;
    Ok(1 + left? + right?)
}

static INSTANCE: AtomicU64 = AtomicU64::new(0);

/// Identifies the instance it runs on (a random number drawn at its first input).
fn instance_id() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    if INSTANCE.load(Ordering::SeqCst) == 0 {
        let random = RandomState::new().hash_one(0u8) | 1;
        let _ = INSTANCE.compare_exchange(0, random, Ordering::SeqCst, Ordering::SeqCst);
    }
    INSTANCE.load(Ordering::SeqCst)
}

/// A blocking body with 4 "threads": each input sleeps holding its own instance.
#[function(max_inputs = 4, max_containers = 1)]
fn blocking_worker(ms: u64) -> u64 {
    sleep(Duration::from_millis(ms));
    instance_id()
}

/// An async body with 4 inputs per container: they share one instance.
#[function(max_inputs = 4, max_containers = 1)]
async fn async_worker(ms: u64) -> u64 {
    sleep_aio(Duration::from_millis(ms)).await;
    instance_id()
}

app!(
    blocking_callee,
    hatch,
    blocking_caller_of_py,
    async_caller_of_py,
    async_caller_blocking_calls_of_py,
    spawn_and_get_of_py,
    async_callee,
    describe_sum,
    greet,
    say,
    flood,
    pair_sum,
    greet_by_name,
    pair_sum_both_ways,
    blocking_caller,
    async_caller,
    async_caller_blocking_calls,
    spawn_and_get,
    gather_spawned,
    own_ids,
    own_ids_aio,
    new_year,
    daily,
    blocking_map,
    async_map,
    local_calls,
    fallible,
    boom,
    sleep_then_maybe_panic,
    slow,
    slow_aio,
    error_kinds,
    sandbox_probe,
    kept_warm,
    identity,
    flaky,
    always_panics,
    big_result,
    text_len,
    nested,
    stuck_blocking,
    stuck_async,
    map_results_of_fallible,
    gate,
    gates_unordered,
    gates_unordered_aio,
    gates_abandoned,
    starmap_sums,
    for_each_of_fallible,
    spawn_map_ids,
    doubled_batch,
    lengths,
    call_batched,
    barrier,
    fan_out,
    tree,
    blocking_worker,
    async_worker,
    targeted,
    buffered,
    burn,
    ping,
    pong,
    ouroboros,
    relay,
    relay_aio,
    give_up,
    spawn_and_cancel,
    spawn_slow,
    collect,
    call_by_name,
    impatient,
    with_short_timeout,
    read_file,
    write_file,
    env_var,
);
