"""The contract's `storage` import over HTTP: the server's dicts, queues and volumes
(`/v1/dicts`, `/v1/queues`, `/v1/volumes`), the same ones its apps' functions reach.

Keys, values and items arrive encoded by the SDK (`_wire`) and go in the request's JSON as the
values they are; what the server stored comes back the same way. Objects are found by name or
by id. An ephemeral dict or queue is made by the server and held there while this process
sends heartbeats (a third of its lease apart), removed when its `with` block ends or the
heartbeats stop for the lease's length (the process died); with no server named
(`FNHOST_URL`, `app.run()`) it lives on a `fnhost serve` started for its block, as `app.run()`
starts one. `Queue.iterate` is not served by the API and fails saying so. A dict opened with
`create_if_missing` reads as empty while it is missing (the API makes a dict at its first put,
and has no request that makes an empty one); such a queue is made at once, by an empty put. A queue wait longer than the server holds one (a minute) is
several requests.

Invariant: a failure raises what the same operation raises in a component: the exception
`from_api_storage_error` makes of the server's kind (`queue.Full` for `full`); an object's
requests all go to the server that was current when it was opened.
"""

import asyncio
import contextlib
import dataclasses
import enum
import json
import queue
import time
from typing import Iterator, Optional

from .. import exception
from . import loop
from .connection import Server, fetch, fetch_json, named, server, unserved
from .private import private_server

#: The longest a queue request asks the server to wait (its own limit), in seconds.
MAX_WAIT = 60.0


class VolumeEntryKind(enum.Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"


@dataclasses.dataclass(frozen=True)
class VolumeEntry:
    """One entry of a volume's listing, as the bindings' record."""

    path: str
    kind: VolumeEntryKind
    size: int
    mtime: int


class _Named:
    """What the three share: the reference to the object (its name, or its id), the requests
    under `/v1/{KIND}/{reference}`, and the lease of an ephemeral one."""

    _kind = ""

    def __init__(self, reference: str, name: Optional[str], target: Optional[Server] = None) -> None:
        self._reference = reference
        self._name = name
        #: The server that holds it: the one current when it was opened.
        self._server = target or server()
        #: An ephemeral one's heartbeats, and what ends with it (a server started for it).
        self._lease: Optional[Lease] = None

    def name(self) -> Optional[str]:
        return self._name

    @classmethod
    def from_id(cls, object_id: str):
        opened = cls(object_id, None)
        opened._name = loop.blocking(opened._json("GET"))["name"]
        return opened

    @classmethod
    def ephemeral(cls):
        """A new ephemeral one, held by the server while this process sends heartbeats; on a
        `fnhost serve` started for it when no server is named."""
        stack = contextlib.ExitStack()
        try:
            target = None if named() else Server(stack.enter_context(private_server()))
            made = cls("", None, target)
            lease = loop.blocking(made._json("POST", collection=True, expect=(201,)))
            made._reference = lease["id"]
            made._lease = Lease(made, lease["lease_secs"], stack)
            return made
        except BaseException:
            stack.close()
            raise

    def __exit__(self, *_exc_info) -> None:
        """Ends an ephemeral one (the server removes it); nothing for a named one."""
        if self._lease is not None:
            lease, self._lease = self._lease, None
            lease.end()

    async def _json(self, method: str, action: Optional[str] = None, body: Optional[dict] = None, *,
                    collection: bool = False, **options):
        """The JSON answer of a request for this object (or one of its `action`s, or its kind's
        collection)."""
        path = ["v1", self._kind] + ([] if collection else [self._reference]) + ([action] if action else [])
        encoded = b"" if body is None else json.dumps(body).encode()
        return await fetch_json(method, path, body=encoded, raising=exception.from_api_storage_error,
                                target=self._server, **options)


class Lease:
    """An ephemeral object's heartbeats, on the SDK's loop, until `end` removes the object."""

    def __init__(self, held: _Named, lease_secs: float, stack: contextlib.ExitStack) -> None:
        self._held = held
        self._stack = stack
        self._beats = loop.start(self._beat(lease_secs / 3))

    async def _beat(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self._held._json("POST", "heartbeat", expect=(204,))
            except exception.NotFoundError:
                return  # its lease ended: each use now says it is gone
            except exception.Error:
                pass  # the server was out of reach this time: the lease outlasts two misses

    def end(self) -> None:
        self._beats.cancel()
        try:
            loop.blocking(self._held._json("DELETE", expect=(204,)))
        except exception.NotFoundError:
            pass  # its lease had ended: it is gone already
        finally:
            self._stack.close()


@loop.twins("get", "contains", "pop", "put", "update", "len", "clear", "entries")
class Dict(_Named):
    """A dict of the server."""

    _kind = "dicts"

    def __init__(self, reference: str, name: Optional[str], target: Optional[Server] = None,
                 create_if_missing: bool = False) -> None:
        super().__init__(reference, name, target)
        self._create = create_if_missing

    @staticmethod
    def open(name: str, create_if_missing: bool) -> "Dict":
        opened = Dict(name, name, create_if_missing=create_if_missing)
        loop.blocking(opened._described())
        return opened

    def id(self) -> str:
        return loop.blocking(self._json("GET"))["id"]

    async def _described(self) -> dict:
        return await self._or_empty(self._json("GET"), {"len": 0})

    async def _found(self, action: str, key: bytes) -> Optional[bytes]:
        found = await self._or_empty(self._json("POST", action, {"key": json.loads(key)}), {"found": False})
        return _encoded(found["value"]) if found["found"] else None

    async def _get(self, key: bytes) -> Optional[bytes]:
        return await self._found("get", key)

    async def _contains(self, key: bytes) -> bool:
        return await self._found("get", key) is not None

    async def _pop(self, key: bytes) -> Optional[bytes]:
        return await self._found("pop", key)

    async def _put(self, key: bytes, value: bytes, skip_if_exists: bool) -> bool:
        body = {"key": json.loads(key), "value": json.loads(value), "skip_if_exists": skip_if_exists}
        return (await self._json("POST", "put", body))["written"]

    async def _update(self, entries: list) -> None:
        # One put each: the API has no request that writes several at once.
        for key, value in entries:
            await self._put(key, value, False)

    async def _len(self) -> int:
        return (await self._described())["len"]

    async def _clear(self) -> None:
        await self._or_empty(self._json("POST", "clear", expect=(204,)), None)

    async def _entries(self, after: Optional[bytes], limit: int) -> list:
        query = {"limit": limit} if after is None else {"limit": limit, "after": after.decode()}
        page = await self._or_empty(self._json("GET", "items", query=query), {"items": []})
        return [(_encoded(key), _encoded(value)) for key, value in page["items"]]

    async def _or_empty(self, request, empty):
        """The answer of `request`; `empty` when the dict is missing and made when missing."""
        try:
            return await request
        except exception.NotFoundError:
            if self._create:
                return empty
            raise


@loop.twins("put", "get", "len", "clear", "items")
class Queue(_Named):
    """A queue of the server."""

    _kind = "queues"

    @staticmethod
    def open(name: str, create_if_missing: bool) -> "Queue":
        opened = Queue(name, name)
        if create_if_missing:
            loop.blocking(opened._put([], None, 24 * 3600, 0))
        else:
            loop.blocking(opened._len(None, False))
        return opened

    def id(self) -> str:
        return loop.blocking(self._json("GET"))["id"]

    async def _put(self, items: list, partition: Optional[str], partition_ttl: int, timeout_nanos: Optional[int]) -> None:
        body = {"items": [json.loads(item) for item in items], "partition": partition, "partition_ttl": partition_ttl}
        for wait, last in _waits(timeout_nanos):
            try:
                await self._json("POST", "put", {**body, "timeout": wait}, expect=(204,))
                return
            except queue.Full:
                if last:
                    raise

    async def _get(self, n: int, partition: Optional[str], timeout_nanos: Optional[int]) -> list:
        for wait, _ in _waits(timeout_nanos):
            items = (await self._json("POST", "get", {"n": n, "partition": partition, "timeout": wait}))["items"]
            if items:
                return [_encoded(item) for item in items]
        return []

    async def _len(self, partition: Optional[str], total: bool) -> int:
        query = {"total": "true"} if total else {} if partition is None else {"partition": partition}
        return (await self._json("GET", query=query))["len"]

    async def _clear(self, partition: Optional[str], all: bool) -> None:  # noqa: A002  (the bindings' name)
        await self._json("POST", "clear", {"all": True} if all else {"partition": partition}, expect=(204,))

    async def _items(self, *_args) -> list:
        raise unserved("`Queue.iterate`")


@loop.twins("commit", "reload", "listdir", "read_file", "remove_file")
class Volume(_Named):
    """A volume of the server. A write through the API is committed as it is made."""

    _kind = "volumes"

    @staticmethod
    def open(name: str, create_if_missing: bool) -> "Volume":
        opened = Volume(name, name)
        if create_if_missing:
            loop.blocking(opened._json("PUT", expect=(200, 201)))
        else:
            loop.blocking(opened._json("GET"))
        return opened

    def id(self) -> str:
        return loop.blocking(self._json("GET"))["id"]

    async def _commit(self) -> None:
        """Nothing to do: the server commits each write it takes."""

    async def _reload(self) -> None:
        """Nothing to do: each read asks the server."""

    async def _listdir(self, path: str, recursive: bool) -> list:
        listed = await self._json("GET", "list", query={"path": path})
        entries = [VolumeEntry(entry["path"], VolumeEntryKind(entry["kind"]), entry["size"], entry["mtime"])
                   for entry in listed["entries"]]
        if recursive:
            for entry in [entry for entry in entries if entry.kind is VolumeEntryKind.DIR]:
                entries += await self._listdir(entry.path, True)
            entries.sort(key=lambda entry: entry.path)
        return entries

    async def _read_file(self, path: str) -> bytes:
        _, data = await fetch("GET", ["v1", "volumes", self._reference, "file"], query={"path": path},
                              raising=exception.from_api_storage_error, target=self._server)
        return data

    async def _remove_file(self, path: str, recursive: bool) -> None:
        query = {"path": path, "recursive": "true"} if recursive else {"path": path}
        await self._json("DELETE", "file", query=query, expect=(204,))


def _encoded(value) -> bytes:
    """A value the server answered, encoded as the SDK reads stored values."""
    return json.dumps(value).encode()


def _waits(timeout_nanos: Optional[int]) -> Iterator[tuple]:
    """`(seconds, last)` of each request a wait of `timeout_nanos` takes (`None`: as long as it
    takes), each at most what the server holds one."""
    if timeout_nanos is None:
        while True:
            yield MAX_WAIT, False
    deadline = time.monotonic() + timeout_nanos / 1e9
    while True:
        left = max(0.0, deadline - time.monotonic())
        yield min(left, MAX_WAIT), left <= MAX_WAIT
        if left <= MAX_WAIT:
            return
