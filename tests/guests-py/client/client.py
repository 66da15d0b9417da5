"""A client run by CPython: calls the app `script.py` deployed on `FNHOST_URL`'s server (as
`fnhost deploy tests/guests-py/client/script.py --name client-test`; another name as the first
argument) by name, and reads and writes the server's dicts, queues and volumes, named and
ephemeral.

Every line it prints is deterministic.
"""

import asyncio
import queue
import sys

import fnhost

APP = sys.argv[1] if len(sys.argv) > 1 else "client-test"

square = fnhost.Function.from_name(APP, "square")
add = fnhost.Function.from_name(APP, "add")
fails = fnhost.Function.from_name(APP, "fails")
slow = fnhost.Function.from_name(APP, "slow")


def calls():
    print("remote:", square.remote(4))
    print("keywords:", add.remote(1, b=5), add.remote(a=2, b=3))
    print("map:", list(square.map([1, 2, 3])))
    print("starmap:", list(add.starmap([(1, 1), (2, 2)])))
    print("unordered:", sorted(square.map(range(10), order_outputs=False)))
    print("for_each:", square.for_each(range(3)))
    call = square.spawn(5)
    again = fnhost.FunctionCall.from_id(call.object_id)
    print("spawn:", call.object_id.startswith("fc-"), again.get(timeout=30))
    print("gather:", fnhost.FunctionCall.gather(square.spawn(2), square.spawn(3)))
    print("pickled:", sorted(fnhost.Function.from_name(APP, "echo").remote({3, 1, 2})))


async def calls_aio():
    first = await square.remote.aio(6)
    call = await add.spawn.aio(1, 2)
    mapped = [y async for y in square.map.aio([1, 2, 3])]
    gathered = await fnhost.FunctionCall.gather.aio(add.spawn(1, 1), add.spawn(2, 2))
    concurrent = await asyncio.gather(*(square.remote.aio(i) for i in range(4)))
    print("aio:", first, await call.get.aio(), mapped, gathered, concurrent)


def errors():
    try:
        fails.remote("value")
    except ValueError as error:
        print("own type:", type(error).__name__, isinstance(error, fnhost.exception.RemoteError), error)
    try:
        fails.remote("unlucky")
    except fnhost.exception.RemoteError as error:
        print("remote error:", error.type_name, error.detail)
    try:
        fnhost.Function.from_name(APP, "no_such_function").remote()
    except fnhost.exception.NotFoundError:
        print("not found: NotFoundError")
    try:
        slow.spawn(3).get(timeout=0.2)
    except fnhost.exception.TimeoutError as error:
        print("timeout:", type(error).__name__, isinstance(error, TimeoutError))
    try:
        square.remote(1, 2)
    except fnhost.exception.InvalidError:
        print("bad arguments: InvalidError")


def lookup():
    app = fnhost.App.lookup(APP)
    try:
        fnhost.App.lookup("no-such-app")
        missing = "found"
    except fnhost.exception.NotFoundError:
        missing = "NotFoundError"
    made = fnhost.App.lookup("no-such-app", create_if_missing=True)
    print("lookup:", app.name, missing, made.name)


def storage():
    d = fnhost.Dict.from_name("client-test", create_if_missing=True)
    d.clear()
    d["from-client"] = {"n": 1}
    print("dict:", fnhost.Function.from_name(APP, "record").remote("from-function", [1, 2]), d["from-function"],
          d.get("from-client"), d.len(), sorted(d.keys()))
    q = fnhost.Queue.from_name("client-test", create_if_missing=True)
    q.clear()
    q.put_many([1, 2, 3, 4])
    print("queue:", fnhost.Function.from_name(APP, "take").remote(3), q.len(), q.get(), q.get(block=False))
    try:
        q.get(timeout=0.1)
    except queue.Empty:
        print("queue empty: queue.Empty")
    volume = fnhost.Volume.from_name("client-test", create_if_missing=True)
    written = fnhost.Function.from_name(APP, "write_note").remote("note.txt", "hello from a function")
    entries = [entry.path for entry in volume.listdir("/") if entry.path.endswith("note.txt")]
    print("volume:", written, entries, b"".join(volume.read_file("note.txt")).decode())


def ephemeral():
    with fnhost.Queue.ephemeral() as q:
        q.put_many([5, 6, 7])
        taken = fnhost.Function.from_name(APP, "take_by_id").remote(q.object_id, 2)
        left = fnhost.Queue.from_id(q.object_id).len()
        queue_id, queue_name = q.object_id, q.name
    with fnhost.Dict.ephemeral() as d:
        d["k"] = [1]
        found = fnhost.Dict.from_id(d.object_id)["k"]
        dict_id = d.object_id
    # Gone with their blocks: a write after the removal fails (the store applies both in order).
    gone = []
    writes = {"Queue": lambda: fnhost.Queue.from_id(queue_id).put(1),
              "Dict": lambda: fnhost.Dict.from_id(dict_id).put("k", 1)}
    for kind, write in writes.items():
        try:
            write()
        except fnhost.exception.NotFoundError:
            gone.append(kind)
    print("ephemeral:", taken, left, queue_name, found, gone)


calls()
asyncio.run(calls_aio())
errors()
lookup()
storage()
ephemeral()
