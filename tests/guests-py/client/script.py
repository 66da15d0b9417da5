"""A Python app that is also a script: `python script.py` runs it with `app.run()` (on
`FNHOST_URL`'s server, or on a private `fnhost serve` it starts), and `fnhost deploy script.py
--name client-test` deploys it for `client.py`, which calls it from CPython by name.

Every line the script prints is deterministic, except those of the app's log, which
`enable_output()` interleaves and which start with `[` (`[square#0] squaring 7`).
"""

import asyncio
import sys
import time

import fnhost
from fnhost.dict import Dict
from fnhost.functions import FunctionCall
from fnhost.queue import Queue

app = fnhost.App("client-test")
volume = fnhost.Volume.from_name("client-test", create_if_missing=True)


class Unlucky(Exception):
    """An exception class of the app's own."""


@app.function()
def square(x):
    print(f"squaring {x}")
    return x * x


@app.function()
async def add(a, b=10):
    await asyncio.sleep(0.01)
    return a + b


@app.function()
def fails(kind):
    if kind == "value":
        raise ValueError("bad value")
    raise Unlucky("thirteen")


@app.function()
def slow(seconds):
    time.sleep(seconds)
    return seconds


@app.function()
def echo(value):
    """Returns what it was given: a value JSON cannot carry comes back pickled."""
    return value


@app.function()
def record(key, value):
    """Writes to the dict `client-test`, which the caller reads."""
    Dict.from_name("client-test", create_if_missing=True)[key] = value
    return key


@app.function()
def take(n):
    """Takes `n` items from the queue `client-test` and sums them."""
    return sum(Queue.from_name("client-test").get_many(n, timeout=10))


@app.function()
def take_by_id(queue_id, n):
    """Takes `n` items from the queue whose id is `queue_id` (a script's ephemeral one)."""
    return Queue.from_id(queue_id).get_many(n, timeout=10)


@app.function(volumes={"/data": volume})
def write_note(name, text):
    with open(f"/data/{name}", "w") as file:
        file.write(text)
    volume.commit()
    return len(text)


@app.local_entrypoint()
def squares(n=3):
    """Modal's shebang scripts call their entrypoint by name inside `app.run()`."""
    return [square.remote(x) for x in range(n)]


def show(*parts):
    """Prints one line in one write: the app's log is printed from another thread."""
    sys.stdout.write(" ".join(str(part) for part in parts) + "\n")


async def _aio():
    """The `.aio` forms, from an event loop of the script's own."""
    first = await square.remote.aio(5)
    call = await add.spawn.aio(1, 2)
    mapped = [y async for y in square.map.aio([1, 2, 3])]
    gathered = await fnhost.FunctionCall.gather.aio(add.spawn(1), add.spawn(2))
    return [first, await call.get.aio(), mapped, gathered]


def main():
    with fnhost.enable_output(), app.run():
        show("remote:", square.remote(7))
        show("local:", echo.local("here"))
        show("entrypoint:", squares(4))
        try:
            square(2)
        except TypeError as error:
            show("called directly:", "square.remote(...)" in str(error))
        show("defaults:", add.remote(1), add.remote(1, b=2), add.remote(a=2))
        show("map:", list(square.map(range(5))))
        show("starmap:", list(add.starmap([(1, 2), (3, 4)])))
        show("unordered:", sorted(square.map(range(6), order_outputs=False)))
        call = square.spawn(9)
        show("spawn:", FunctionCall.from_id(call.object_id).get(timeout=30))
        show("aio:", asyncio.run(_aio()))
        show("pickled:", sorted(echo.remote({3, 1, 2})))
        try:
            fails.remote("unlucky")
        except Unlucky as error:
            show("own type:", type(error).__name__, isinstance(error, fnhost.exception.RemoteError), error)
        outcomes = fails.map(["value"], return_exceptions=True)
        show("return_exceptions:", [type(outcome).__name__ for outcome in outcomes])
        show("dict:", record.remote("k", [1, 2]), fnhost.Dict.from_name("client-test")["k"])
    try:
        square.remote(1)
    except fnhost.exception.ExecutionError as error:
        show("after the run:", "not running" in str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
