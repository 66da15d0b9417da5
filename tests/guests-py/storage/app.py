"""A Python test app for the host's dicts and queues (`fnhost.Dict`, `fnhost.Queue`): every
method in its blocking and `.aio` forms, named and ephemeral ones, ids handed to another
function, and values that travel pickled. Its Rust twin has the same functions, so the same
tests run against both."""

import datetime
import os
import queue

import fnhost

app = fnhost.App()

WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5)

# --- named dicts ----------------------------------------------------------------------------


@app.function()
def dict_put(name: str, key, value, skip_if_exists: bool = False) -> bool:
    return fnhost.Dict.from_name(name, create_if_missing=True).put(key, value, skip_if_exists=skip_if_exists)


@app.function()
def dict_get(name: str, key):
    return fnhost.Dict.from_name(name).get(key)


@app.function()
async def dict_put_aio(name: str, key, value, skip_if_exists: bool = False) -> bool:
    d = fnhost.Dict.from_name(name, create_if_missing=True)
    return await d.put.aio(key, value, skip_if_exists=skip_if_exists)


@app.function()
def dict_summary(name: str) -> dict:
    d = fnhost.Dict.from_name(name)
    items = sorted(([key, value] for key, value in d.items()), key=lambda item: str(item[0]))
    return {"len": d.len(), "items": items}


@app.function()
def dict_write_json(name: str) -> None:
    fnhost.Dict.from_name(name, create_if_missing=True).put("from-python", {"n": 1, "list": [1, 2]})


# --- every method of a dict -----------------------------------------------------------------

# dict_exercise() and dict_exercise_aio() both return:
# [None, "di-", True, False, 1, "fallback", None, True, False, [1, 2], "KeyError", False, 1,
#  "none", "KeyError", 3, ["x", "y", "z"], [1, 2, 3], [["x", 1], ["y", 2], ["z", 3]], 0]


@app.function()
def dict_exercise() -> list:
    with fnhost.Dict.ephemeral() as d:
        seen = [d.name, d.object_id[:3]]
        seen.append(d.put("a", 1))
        seen.append(d.put("a", 2, skip_if_exists=True))
        seen.append(d.get("a"))
        seen.append(d.get("missing", "fallback"))
        seen.append(d.get("missing"))
        seen.append(d.contains("a"))
        seen.append("missing" in d)
        d["b"] = [1, 2]
        seen.append(d["b"])
        try:
            d["missing"]
        except KeyError:
            seen.append("KeyError")
        del d["b"]
        seen.append("b" in d)
        seen.append(d.pop("a"))
        seen.append(d.pop("a", "none"))
        try:
            d.pop("a")
        except KeyError:
            seen.append("KeyError")
        d.update({"x": 1, "y": 2}, z=3)
        seen.append(d.len())
        seen.append(sorted(d.keys()))
        seen.append(sorted(d.values()))
        seen.append(sorted([key, value] for key, value in d.items()))
        d.clear()
        seen.append(d.len())
        return seen


@app.function()
async def dict_exercise_aio() -> list:
    async with fnhost.Dict.ephemeral() as d:
        seen = [d.name, d.object_id[:3]]
        seen.append(await d.put.aio("a", 1))
        seen.append(await d.put.aio("a", 2, skip_if_exists=True))
        seen.append(await d.get.aio("a"))
        seen.append(await d.get.aio("missing", "fallback"))
        seen.append(await d.get.aio("missing"))
        seen.append(await d.contains.aio("a"))
        seen.append(await d.contains.aio("missing"))
        await d.put.aio("b", [1, 2])
        seen.append(await d.get.aio("b"))
        try:
            await d.pop.aio("missing")
        except KeyError:
            seen.append("KeyError")
        await d.pop.aio("b")
        seen.append(await d.contains.aio("b"))
        seen.append(await d.pop.aio("a"))
        seen.append(await d.pop.aio("a", "none"))
        try:
            await d.pop.aio("a")
        except KeyError:
            seen.append("KeyError")
        await d.update.aio({"x": 1, "y": 2}, z=3)
        seen.append(await d.len.aio())
        seen.append(sorted([key async for key in d.keys.aio()]))
        seen.append(sorted([value async for value in d.values.aio()]))
        seen.append(sorted([[key, value] async for key, value in d.items.aio()]))
        await d.clear.aio()
        seen.append(await d.len.aio())
        return seen


# --- ids across functions -------------------------------------------------------------------


@app.function()
def ephemeral_shared() -> str:
    with fnhost.Dict.ephemeral() as d:
        d.put("k", 7)
        value = read_by_id.remote(d.object_id, "k")
    return f"{value}"


@app.function()
def read_by_id(dict_id: str, key):
    return fnhost.Dict.from_id(dict_id).get(key)


# --- queues ---------------------------------------------------------------------------------


@app.function()
def queue_put(name: str, items: list, partition: str | None = None) -> int:
    fnhost.Queue.from_name(name, create_if_missing=True).put_many(items, partition=partition)
    return len(items)


@app.function()
def queue_drain(name: str, timeout: float, partition: str | None = None) -> list:
    q = fnhost.Queue.from_name(name, create_if_missing=True)
    drained = []
    while True:
        try:
            drained.append(q.get(timeout=timeout, partition=partition))
        except queue.Empty:
            return drained


@app.function()
async def queue_drain_aio(name: str, timeout: float, partition: str | None = None) -> list:
    q = fnhost.Queue.from_name(name, create_if_missing=True)
    drained = []
    while True:
        try:
            drained.append(await q.get.aio(timeout=timeout, partition=partition))
        except queue.Empty:
            return drained


# queue_exercise() returns:
# [4, 6, [1, 2], None, [3, 4], 2, 0, 2, 0, "Empty", "InvalidError"]


@app.function()
def queue_exercise() -> list:
    with fnhost.Queue.ephemeral() as q:
        q.put(1)
        q.put_many([2, 3, 4])
        seen = [q.len()]
        q.put_many(["a", "b"], partition="p1")
        seen.append(q.len(total=True))
        seen.append(q.get_many(2))
        seen.append(q.get(block=False, partition="empty"))
        seen.append(list(q.iterate()))
        seen.append(q.len())
        q.clear(partition="p1")
        seen.append(q.len(partition="p1"))
        seen.append(q.len(total=True))
        q.clear(all=True)
        seen.append(q.len(total=True))
        try:
            q.get(timeout=0.05)
        except queue.Empty:
            seen.append("Empty")
        try:
            q.put(1, partition="p" * 65)
        except fnhost.exception.InvalidError as error:
            seen.append(type(error).__name__)
        return seen


# --- secrets -------------------------------------------------------------------------------


@app.function(secrets=[fnhost.Secret.from_name("fnhost-test-api"), fnhost.Secret.from_dict({"INLINE_MODE": "inline-on"})])
def secret_length(key: str):
    """The length of `key` in this function's environment, never the value itself."""
    value = os.environ.get(key)
    return None if value is None else len(value)


@app.function()
def env_length(key: str):
    value = os.environ.get(key)
    return None if value is None else len(value)


# --- bytes, as wasi:keyvalue components keep them (Python only) --------------------------------


@app.function()
def dict_put_bytes(name: str, key) -> None:
    fnhost.Dict.from_name(name, create_if_missing=True)[key] = b"\x00\x01"


@app.function()
def dict_repr(name: str, key) -> str:
    """The Python `repr` of a value: what a Python reader makes of it."""
    return repr(fnhost.Dict.from_name(name).get(key))


# --- volumes -------------------------------------------------------------------------------

files = fnhost.Volume.from_name("files", create_if_missing=True)


@app.function(volumes={"/data": files})
def volume_write(path: str, text: str) -> None:
    """Writes `text` as `/data/PATH` (parents made), then commits."""
    file = os.path.join("/data", path)
    # Not `makedirs("/data")`: WASI has no `/` above the mount for it to walk.
    if os.path.dirname(file) != "/data":
        os.makedirs(os.path.dirname(file), exist_ok=True)
    with open(file, "w") as out:
        out.write(text)
    files.commit()


@app.function(volumes={"/data": files})
def volume_read(path: str) -> str:
    with open(os.path.join("/data", path)) as f:
        return f.read()


@app.function(volumes={"/data": files})
def volume_try(path: str) -> str:
    """Whether the file at `path` can be read here: `read` or `refused`."""
    try:
        with open(path, "rb") as f:
            f.read()
        return "read"
    except OSError:
        return "refused"


@app.function(volumes={"/data": files})
async def volume_fill(size: int) -> str:
    """Writes `size` zero bytes as `/data/big`, then commits: `committed`, or `full` past the
    quota (the file is removed again then)."""
    with open("/data/big", "wb") as out:
        out.write(b"\0" * size)
    try:
        await files.commit.aio()
        return "committed"
    except fnhost.exception.VolumeFullError:
        os.remove("/data/big")
        return "full"


@app.function()
async def volume_listing() -> list:
    """Without a mount: the entries (recursively), the text of `notes/a.txt`, then the root's
    entries after removing `notes`."""
    kinds = {fnhost.FileEntryType.FILE: "file", fnhost.FileEntryType.DIRECTORY: "dir", fnhost.FileEntryType.SYMLINK: "symlink"}

    def shown(entries):
        return [[entry.path, kinds[entry.type], entry.size] for entry in entries]

    everything = shown(files.listdir("/", recursive=True))
    text = b"".join([chunk async for chunk in files.read_file.aio("notes/a.txt")]).decode()
    files.remove_file("notes", recursive=True)
    left = shown(await files.listdir.aio("/"))
    return [everything, text, left]


@app.function()
def volume_unmounted() -> bool:
    return os.path.exists("/data")


# --- values JSON cannot carry ---------------------------------------------------------------


@app.function()
def pickled_roundtrip() -> list:
    with fnhost.Dict.ephemeral() as d:
        d.put("when", WHEN)
        d.put("set", {1, 2, 3})
        return [repr(d.get("when")), sorted(d.get("set"))]


@app.function()
def returns_datetime():
    return WHEN


@app.function()
def calls_returns_datetime() -> str:
    return repr(returns_datetime.remote())
