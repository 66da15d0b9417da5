"""A Python test app: callees and callers of each kind, every call form of the SDK, errors,
and the `max_inputs` rules; its callers also reach the Rust test app (`tests/guests/calls`)
when both are loaded together."""

import asyncio
import os
import random
import time

import fnhost

app = fnhost.App()

# --- callees --------------------------------------------------------------------------------


@app.function()
def py_blocking_callee(x):
    return x + 1


@app.function()
async def py_async_callee(x):
    await asyncio.sleep(0.001)
    return x * 2


@app.function()
def describe_sum_py(a, b, label="total"):
    return f"{label}: {a + b}"


# --- callers: each kind calling each kind, here and in Rust ----------------------------------


def _callees(prefix):
    if prefix == "py":
        return py_blocking_callee, py_async_callee
    return fnhost.Function.from_name("blocking_callee"), fnhost.Function.from_name("async_callee")


@app.function()
def py_blocking_caller(x, callees="py"):
    blocking, asynchronous = _callees(callees)
    return [blocking.remote(x), asynchronous.remote(x)]


@app.function()
async def py_async_caller(x, callees="py"):
    blocking, asynchronous = _callees(callees)
    return [await blocking.remote.aio(x), await asynchronous.remote.aio(x)]


@app.function()
async def py_async_caller_blocking_calls(x, callees="py"):
    blocking, asynchronous = _callees(callees)
    return [blocking.remote(x), asynchronous.remote(x)]


@app.function()
async def py_spawn_and_get(x, callees="py"):
    blocking, asynchronous = _callees(callees)
    first = blocking.spawn(x)
    second = await asynchronous.spawn.aio(x)
    return [first.get(), await second.get.aio()]


@app.function()
def py_spawn_by_id(x):
    """Spawns, then finds the call again by its id."""
    call = py_blocking_callee.spawn(x)
    again = fnhost.FunctionCall.from_id(call.object_id)
    return [call.object_id.startswith("fc-"), again.get()]


@app.function()
def py_maps(n):
    """`map`, `starmap` and `map` over two iterables, from a blocking body."""
    return [
        list(py_blocking_callee.map(range(n))),
        list(describe_sum_py.starmap([(i, i, "s") for i in range(n)])),
        list(describe_sum_py.map(range(n), range(n))),
    ]


@app.function()
async def py_maps_aio(n):
    """`map.aio` and `starmap.aio`, from an async body."""
    doubled = [x async for x in py_async_callee.map.aio(range(n))]
    sums = [s async for s in describe_sum_py.starmap.aio([(i, 1) for i in range(n)])]
    return [doubled, sums]


@app.function()
async def py_gather(n):
    """The seed's fan-out: `asyncio.gather` of `n` `remote.aio` calls."""
    return sum(await asyncio.gather(*[py_blocking_callee.remote.aio(i) for i in range(n)]))


@app.function()
def py_gather_calls(n):
    """`FunctionCall.gather` of `n` spawned calls, and of two with a failing one."""
    results = fnhost.FunctionCall.gather(*[py_blocking_callee.spawn(i) for i in range(n)])
    try:
        fnhost.FunctionCall.gather(py_blocking_callee.spawn(1), py_raises.spawn("gathered"))
        failure = "no error"
    except fnhost.exception.RemoteError as error:
        failure = error.detail
    return [results, failure]


@app.function()
async def py_gather_calls_aio(n):
    """`FunctionCall.gather.aio` of `n` calls spawned with `spawn.aio`."""
    calls = [await py_async_callee.spawn.aio(i) for i in range(n)]
    return await fnhost.FunctionCall.gather.aio(*calls)


@app.function()
def py_own_ids():
    """The ids of the call it serves, as the body reads them."""
    return [fnhost.current_function_call_id(), fnhost.current_input_id()]


@app.function(max_inputs=20, target_inputs=20)
async def py_own_ids_aio(ms):
    """The call id before and after a wait during which the container's other inputs run,
    and the id a task it starts sees."""
    before = fnhost.current_function_call_id()
    await asyncio.sleep(ms / 1000)
    child = await asyncio.create_task(_child_id())
    return [before, fnhost.current_function_call_id(), child]


async def _child_id():
    return fnhost.current_function_call_id()


@app.function()
def py_keywords():
    """Keyword arguments: bound here for a function of this file, by the host for a function
    known only by name (`describe_sum` is Rust's, in tests/guests/calls)."""
    rust_sum = fnhost.Function.from_name("describe_sum")
    return [
        describe_sum_py.remote(1, b=2),
        describe_sum_py.remote(a=1, b=2, label="named"),
        fnhost.Function.from_name("describe_sum_py").remote(1, 2, label="by name"),
        rust_sum.remote(2, 3, label="rust"),
        rust_sum.remote(a=2, b=3, label="all named"),
    ]


@app.function()
async def py_local(x):
    """Runs the bodies here, in this instance."""
    return [py_blocking_callee.local(x), await py_async_callee.local(x)]


# --- errors --------------------------------------------------------------------------------


@app.function()
def py_raises(message):
    raise ValueError(message)


@app.function()
def py_raises_through(message):
    return py_raises.remote(message)


class QuotaExceeded(Exception):
    """An exception class of the app's own."""


class Picky(Exception):
    """One whose constructor takes two arguments: a caller cannot make it from a message."""

    def __init__(self, low, high):
        super().__init__(low, high)


@app.function()
def py_raises_own(picky):
    if picky:
        raise Picky(1, 2)
    raise QuotaExceeded("over")


@app.function(timeout=1)
def py_stuck():
    time.sleep(30)


#: How many times `py_unencodable` ran its body in this container.
UNENCODABLE_RUNS = [0]


@app.function(retries=2, max_containers=1)
def py_unencodable(count_only):
    """Returns what neither JSON nor pickle takes (a generator object), or how many times it
    did so in this container."""
    if count_only:
        return UNENCODABLE_RUNS[0]
    UNENCODABLE_RUNS[0] += 1
    return (n for n in range(3))


@app.function()
def py_error_kinds():
    """The exception class each failure raises in a Python caller, in the contract's order."""
    outcomes = []
    attempts = [
        lambda: fnhost.Function.from_name("no_such_function").remote(),
        lambda: py_blocking_callee.remote(1, 2),
        lambda: py_raises.remote("bad input"),
        lambda: py_stuck.remote(),
        lambda: fnhost.FunctionCall.from_id("fc-" + "0" * 32).get(),
        lambda: py_unencodable.remote(False),
    ]
    for attempt in attempts:
        try:
            attempt()
            outcomes.append("no error")
        except fnhost.exception.Error as error:
            outcomes.append(f"{type(error).__name__}: {error}")
    cancelled = py_stuck.spawn()
    cancelled.cancel()
    try:
        cancelled.get()
    except fnhost.exception.InputCancellation as error:
        outcomes.append(f"{type(error).__name__}: {error}")
    try:
        py_raises.remote("typed")
    except fnhost.exception.RemoteError as error:
        noted = error.__notes__[-1] == "Remote traceback:\n" + error.remote_traceback
        outcomes.append(f"{error.type_name}|{error.detail}|{noted and 'in py_raises' in error.remote_traceback}")
    try:
        py_raises_own.remote(False)
    except QuotaExceeded as error:
        outcomes.append(f"QuotaExceeded|{error}|{isinstance(error, fnhost.exception.RemoteError)}")
    try:
        py_raises_own.remote(True)
    except fnhost.exception.RemoteError as error:
        outcomes.append(f"{type(error).__name__}|{error.type_name}|{error.detail}")
    return outcomes


@app.function()
def py_nap(seconds):
    time.sleep(seconds)
    return seconds


@app.cls()
class PyNapper:
    @fnhost.enter()
    def ready(self):
        self.entered = True

    @fnhost.method()
    def nap(self, seconds):
        time.sleep(seconds)
        return seconds

    @fnhost.method()
    def allocate(self, mib):
        return len(bytearray(mib << 20)) >> 20 if self.entered else "not entered"

    @fnhost.method()
    def env(self, name):
        return os.environ.get(name)


@app.function()
def py_allocate(mib):
    return len(bytearray(mib << 20)) >> 20


@app.function(env={"OWN": "kept"})
def py_env(name):
    return os.environ.get(name)


@app.function()
def py_note(text):
    """Writes `text` to /data/note.txt and reads it back: only where a volume is mounted."""
    with open("/data/note.txt", "w") as note:
        note.write(text)
    with open("/data/note.txt") as note:
        return note.read()


@app.function()
def py_with_options():
    """`with_options` from a guest, on a function and on a class: a shorter timeout ends a
    nap its own would let finish (`gpu=` accepted, with a warning); `memory=` runs the calls
    in containers of that size, where 100 MiB do not fit (they do in the function's own, and
    an instance's containers so configured run `enter` too); `secrets=` gives the calls'
    containers other variables (the function's own `env` stays) and `volumes=` mounts a volume
    the function has none of; `env=` and `with_concurrency` are refused, naming why."""
    outcomes = []
    for shortened in (py_nap.with_options(timeout=1, gpu="T4"), PyNapper.with_options(timeout=1)().nap):
        try:
            outcomes.append(shortened.remote(3))
        except fnhost.exception.TimeoutError:
            outcomes.append("timeout")
    outcomes.append(py_nap.remote(0))
    outcomes.append(py_allocate.remote(100))
    try:
        outcomes.append(py_allocate.with_options(memory=64, max_containers=1).remote(100))
    except fnhost.exception.Error as error:
        outcomes.append(type(error).__name__)
    outcomes.append(py_allocate.with_options(memory=64, max_containers=1).remote(1))
    small = PyNapper.with_options(memory=64, max_containers=1)()
    outcomes.append(PyNapper().allocate.remote(100))
    try:
        outcomes.append(small.allocate.remote(100))
    except fnhost.exception.Error as error:
        outcomes.append(type(error).__name__)
    outcomes.append(small.allocate.remote(1))
    given = [fnhost.Secret.from_dict({"GIVEN": "yes"})]
    outcomes.append([py_env.remote("GIVEN"), py_env.with_options(secrets=given).remote("GIVEN"),
                     py_env.with_options(secrets=given).remote("OWN"),
                     PyNapper.with_options(secrets=given)().env.remote("GIVEN")])
    try:
        outcomes.append(py_note.remote("no volume"))
    except OSError as error:
        outcomes.append(type(error).__name__)
    volume = fnhost.Volume.from_name("py-with-options", create_if_missing=True)
    outcomes.append(py_note.with_options(volumes={"/data": volume}).remote("on a volume"))
    refusals = (
        lambda: py_nap.with_options(env={"A": "1"}),
        lambda: py_nap.with_options(volumes={"data": volume}),
        lambda: PyNapper.with_concurrency(max_inputs=4),
    )
    for refused in refusals:
        try:
            refused()
        except (fnhost.exception.InvalidError, TypeError) as error:
            outcomes.append(str(error).split(":")[0])
    return outcomes


@app.function()
def py_map_exceptions(n):
    """`return_exceptions=True`: failures come back as values."""
    results = py_odd_fails.map(range(n), return_exceptions=True)
    return [r if not isinstance(r, Exception) else type(r).__name__ for r in results]


@app.function()
def py_odd_fails(x):
    if x % 2:
        raise RuntimeError(f"odd {x}")
    return x


# --- map variants ---------------------------------------------------------------------------

_gates_released = set()


@app.function(max_containers=1)
@fnhost.concurrent(max_inputs=100)
async def py_gate(round, i):
    """Input `i` of a round: input 0 returns only once the round is released (by an input
    with `i < 0`), the others at once (one instance, interleaved: they share the set)."""
    if i < 0:
        _gates_released.add(round)
        return i
    if i > 0:
        return i
    for _ in range(20_000):
        if round in _gates_released:
            return 0
        await asyncio.sleep(0.001)
    raise TimeoutError(f"round {round} was never released")


def _read_round(results, round, n):
    """Reads `n - 1` results, releases the round, reads the last."""
    read = [next(results) for _ in range(n - 1)]
    py_gate.remote(round, -1)
    return read + list(results)


@app.function()
def py_gates_unordered(round, n):
    """`map(..., order_outputs=False)` from a blocking body, and `starmap` the same way."""
    by_map = py_gate.map([round + "-map"] * n, range(n), order_outputs=False)
    by_starmap = py_gate.starmap([(round + "-starmap", i) for i in range(n)], order_outputs=False)
    return [_read_round(by_map, round + "-map", n), _read_round(by_starmap, round + "-starmap", n)]


@app.function()
async def py_gates_unordered_aio(round, n):
    """`map.aio(..., order_outputs=False)` from an async body."""
    results = py_gate.map.aio([round] * n, range(n), order_outputs=False)
    read = [await results.__anext__() for _ in range(n - 1)]
    await py_gate.remote.aio(round, -1)
    return read + [x async for x in results]


@app.function()
def py_gates_abandoned(round, n):
    """Reads the `n - 1` results of a round that can come, never releases it, and closes the
    iterator: input 0 is cancelled."""
    results = py_gate.map([round] * n, range(n), order_outputs=False)
    taken = [next(results) for _ in range(n - 1)]
    results.close()
    return taken


@app.function()
async def py_for_each(n, ignore_exceptions):
    """`for_each` and `for_each.aio` of `py_odd_fails` over `range(n)`: `None` or the error's
    message, for each."""
    outcomes = []
    for run in (py_odd_fails.for_each, py_odd_fails.for_each.aio):
        try:
            result = run(range(n), ignore_exceptions=ignore_exceptions)
            if asyncio.iscoroutine(result):
                await result
            outcomes.append(None)
        except fnhost.exception.Error as error:
            outcomes.append(str(error))
    return outcomes


@app.function()
def py_spawn_map_ids(n):
    """`spawn_map` of `py_odd_fails` over `range(n)`: the calls' ids, at once."""
    return [call.object_id for call in py_odd_fails.spawn_map(range(n))]


# --- batched functions -----------------------------------------------------------------------


@app.function()
@fnhost.batched(max_batch_size=4, wait_ms=60_000)
def py_doubled_batch(xs):
    """Doubles a batch of numbers (full batches of 4 in the tests); a batch holding a negative
    number fails whole, one holding 999 returns one result too few."""
    if any(x < 0 for x in xs):
        raise ValueError(f"a negative number in the batch: {min(xs)}")
    doubled = [x * 2 for x in xs]
    if 999 in xs:
        doubled.pop()
    return doubled


@app.function()
@fnhost.concurrent(max_inputs=10)
@fnhost.batched(max_batch_size=1000, wait_ms=0)
async def py_lengths(texts, tags):
    return [[tag, len(text)] for text, tag in zip(texts, tags)]


@app.function()
async def py_call_batched(text):
    """Calls `py_lengths` with one input, blocking and async."""
    return [py_lengths.remote(text, 1), await py_lengths.remote.aio(text, tags=2)]


# --- concurrency ---------------------------------------------------------------------------

_arrived = 0


@app.function(max_containers=1)
@fnhost.concurrent(max_inputs=100)
async def py_barrier(n):
    """Returns once `n` inputs are inside it at the same time: they share the counter, so
    this works only when they interleave on one instance."""
    global _arrived
    _arrived += 1
    for _ in range(20_000):
        if _arrived >= n:
            return _arrived
        await asyncio.sleep(0.001)
    raise TimeoutError(f"only {_arrived} of {n} inputs arrived")


@app.function()
async def py_fan_out(n):
    arrivals = await asyncio.gather(*[py_barrier.remote.aio(n) for _ in range(n)])
    return len(arrivals)


_instance = None


def _instance_id():
    """A number drawn from `random` at the instance's first input: distinct per instance only
    if `random` is seeded when an instance starts, not once at build time."""
    global _instance
    if _instance is None:
        _instance = random.getrandbits(62)
    return _instance


@app.function(max_containers=4)
@fnhost.concurrent(max_inputs=4)
def py_blocking_worker(ms):
    time.sleep(ms / 1000)
    return _instance_id()


@app.function(max_containers=1)
@fnhost.concurrent(max_inputs=4)
async def py_async_worker(ms):
    await asyncio.sleep(ms / 1000)
    return _instance_id()


@app.function(max_containers=1)
@fnhost.concurrent(max_inputs=2)
async def py_async_blocked(ms):
    """Sleeps with `time.sleep` inside an `async def`: it blocks the instance, as Modal
    warns, so its inputs never overlap; returns how many were inside at once."""
    global _inside
    _inside += 1
    most = _inside
    time.sleep(ms / 1000)
    _inside -= 1
    return most


_inside = 0


@app.local_entrypoint()
def main():
    print(py_async_caller.remote(5))


@app.function()
@fnhost.web_endpoint(method="post", label="sum")
def py_web_sum(a: int, label: str = "total"):
    """Also a web endpoint of `fnhost serve`, at `/web/{app}/sum`."""
    return f"{label}: {a}"
