"""Dicts and queues the host keeps between calls: Modal's `Dict` and `Queue`.

```python
d = fnhost.Dict.from_name("counts", create_if_missing=True)
d["a"] = 1
await d.put.aio("b", 2)

with fnhost.Queue.ephemeral() as q:
    q.put_many([1, 2, 3], partition="jobs")
    q.get(timeout=1.0, partition="jobs")  # => 1
```

A named dict or queue is shared by every app of the host and outlives restarts; one made with
`ephemeral()` lives until its `with` block ends (its id, `object_id`, reaches it from other
functions meanwhile, with `from_id`). `from_name` and `from_id` open the dict or queue at its
first use, as Modal's handles hydrate lazily: a handle made at module level (at build time,
without the host) works in every container. Keys, values and items cross as call arguments
do (`_wire.encode_value`): JSON, what JSON cannot carry pickled; keys are compared by their
JSON value, so use JSON keys (a pickled key is compared by its pickle's bytes).

Each operation has a blocking form, which holds the calling instance, and its `.aio` twin
(`await d.get.aio(k)`, `async for k in d.keys.aio()`), which lets the instance's other inputs
run. A failure raises the `fnhost.exception` class of its `storage-error` case, or, as Modal
does, the standard library's `queue.Full` for a full queue and `queue.Empty` for a blocking
get that timed out.
"""

import queue
import warnings
from typing import Any, AsyncIterator, Callable, Iterator, Optional

from . import exception
from ._function import _Twin
from ._phase import Err, require_host, storage
from ._wire import decode_value, duration_nanos, encode_value

#: How many entries (`keys`, `values`, `items`) or items (`iterate`) one page of the host holds.
PAGE = 100

#: A partition's default lifetime after its last put, in seconds (Modal's: a day).
PARTITION_TTL = 24 * 3600

#: The longest partition key, in characters (Modal's).
MAX_PARTITION = 64

_U32 = 2**32 - 1


class _NoDefault:
    def __repr__(self) -> str:
        return "..."


_NO_DEFAULT = _NoDefault()
#: `name` not known before the handle is opened (a handle found by id).
_UNKNOWN = object()


class _Handle:
    """What `Dict` and `Queue` share: the host's handle, opened at first use, and the calls on
    it, each failure raised as its exception."""

    #: The resource of the contract (`storage.Dict` or `storage.Queue`).
    _binding: Any = None

    def __init__(self, *_args, **_kwargs) -> None:
        kind = type(self).__name__
        raise RuntimeError(f"`{kind}(...)` is not allowed: use `{kind}.from_name`, `{kind}.from_id` or `{kind}.ephemeral`")

    @classmethod
    def _new(cls, opener: Optional[Callable], name: Any, rep: str):
        self = object.__new__(cls)
        self._opener = opener
        self._resource = None
        self._name = name
        self._rep = rep
        self._twins()
        return self

    def _twins(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_name(cls, name: str, *, create_if_missing: bool = False):
        """The one named `name`, opened at its first use (`NotFoundError` then when it does
        not exist); made empty then when missing and `create_if_missing`."""
        return cls._new(lambda: cls._binding.open(name, create_if_missing), name, f"{cls.__name__}.from_name({name!r})")

    @classmethod
    def from_id(cls, object_id: str):
        """The one whose id is `object_id` (a named one, or an ephemeral one still alive),
        opened at its first use."""
        return cls._new(lambda: cls._binding.from_id(object_id), _UNKNOWN, f"{cls.__name__}.from_id({object_id!r})")

    @classmethod
    def ephemeral(cls) -> "_Ephemeral":
        """A new one with no name, for the duration of a `with` (or `async with`) block:
        `with fnhost.Dict.ephemeral() as d:`. Leaving the block removes it."""
        return _Ephemeral(cls)

    @property
    def object_id(self) -> str:
        """Its id (`di-` or `qu-` and 32 hexadecimal digits): hand it to another function,
        which finds it with `from_id`."""
        return self._handle().id()

    @property
    def name(self) -> Optional[str]:
        """Its name; `None` for an ephemeral one."""
        if self._name is _UNKNOWN:
            self._name = self._handle().name()
        return self._name

    def __repr__(self) -> str:
        return self._rep

    def _handle(self):
        if self._resource is None:
            if self._opener is None:
                raise exception.NotFoundError(f"{self._rep} is gone: it was removed when its `with` block ended")
            require_host()
            try:
                self._resource = self._opener()
            except Err as error:
                raise _raising(error) from None
        return self._resource

    def _call(self, operation: str, *args) -> Any:
        """The host's `operation` on the handle, blocking."""
        handle = self._handle()
        try:
            return getattr(handle, operation)(*args)
        except Err as error:
            raise _raising(error) from None

    async def _call_aio(self, operation: str, *args) -> Any:
        """The host's `operation` on the handle, through its `-async` twin."""
        handle = self._handle()
        try:
            return await getattr(handle, f"{operation}_async")(*args)
        except Err as error:
            raise _raising(error) from None

    def _drop(self) -> None:
        """Drops the handle (which removes an ephemeral one); later uses raise."""
        resource, self._resource, self._opener = self._resource, None, None
        if resource is not None:
            resource.__exit__(None, None, None)


class _Ephemeral:
    """What `ephemeral()` returns: a context manager, blocking or async, whose value is a new
    dict or queue with no name, removed when the block ends."""

    def __init__(self, cls: type) -> None:
        self._cls = cls
        self._object: Optional[_Handle] = None

    def __enter__(self):
        require_host()
        try:
            resource = self._cls._binding.ephemeral()
        except Err as error:
            raise _raising(error) from None
        self._object = self._cls._new(None, None, f"{self._cls.__name__}.ephemeral()")
        self._object._resource = resource
        return self._object

    def __exit__(self, *_exc_info) -> None:
        self._object._drop()

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, *exc_info) -> None:
        self.__exit__(*exc_info)


class Dict(_Handle):
    """A dict the host keeps (Modal's `modal.Dict`): keys and values are any value a call
    takes. `d[k]`, `d[k] = v`, `del d[k]` and `k in d` block; every method has its `.aio`."""

    _binding = storage.Dict

    def _twins(self) -> None:
        self.get = _Twin(self._get, self._get_aio, "The value of `key`, or `default` when absent.")
        self.contains = _Twin(self._contains, self._contains_aio, "Whether `key` is present.")
        self.put = _Twin(self._put, self._put_aio, "Sets `key` to `value` (with `skip_if_exists`, only when absent); whether it wrote.")
        self.pop = _Twin(self._pop, self._pop_aio, "Removes `key` and returns its value; `default`, or `KeyError` without one, when absent.")
        self.update = _Twin(self._update, self._update_aio, "Sets every entry of a mapping (or pairs) and of the keywords, all or none.")
        self.len = _Twin(self._len, self._len_aio, "How many entries it holds.")
        self.clear = _Twin(self._clear, self._clear_aio, "Removes every entry.")
        self.keys = _Twin(self._keys, self._keys_aio, "Its keys, in the host's key order, page by page.")
        self.values = _Twin(self._values, self._values_aio, "Its values, in the host's key order, page by page.")
        self.items = _Twin(self._items, self._items_aio, "Its `(key, value)` pairs, in the host's key order, page by page.")

    def _get(self, key: Any, default: Any = None) -> Any:
        return _value_or(self._call("get", _encoded(key)), default)

    async def _get_aio(self, key: Any, default: Any = None) -> Any:
        return _value_or(await self._call_aio("get", _encoded(key)), default)

    def _contains(self, key: Any) -> bool:
        return self._call("contains", _encoded(key))

    async def _contains_aio(self, key: Any) -> bool:
        return await self._call_aio("contains", _encoded(key))

    def _put(self, key: Any, value: Any, *, skip_if_exists: bool = False) -> bool:
        return self._call("put", _encoded(key), _encoded(value), skip_if_exists)

    async def _put_aio(self, key: Any, value: Any, *, skip_if_exists: bool = False) -> bool:
        return await self._call_aio("put", _encoded(key), _encoded(value), skip_if_exists)

    def _pop(self, key: Any, default: Any = _NO_DEFAULT) -> Any:
        return _popped(key, self._call("pop", _encoded(key)), default)

    async def _pop_aio(self, key: Any, default: Any = _NO_DEFAULT) -> Any:
        return _popped(key, await self._call_aio("pop", _encoded(key)), default)

    def _update(self, other: Any = None, /, **kwargs) -> None:
        self._call("update", _entries(other, kwargs))

    async def _update_aio(self, other: Any = None, /, **kwargs) -> None:
        await self._call_aio("update", _entries(other, kwargs))

    def _len(self) -> int:
        return self._call("len")

    async def _len_aio(self) -> int:
        return await self._call_aio("len")

    def _clear(self) -> None:
        self._call("clear")

    async def _clear_aio(self) -> None:
        await self._call_aio("clear")

    def _pages(self) -> Iterator[tuple]:
        """Every entry as the host holds it (key and value payloads), a page per call."""
        after = None
        while True:
            page = self._call("entries", after, PAGE)
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1][0]

    async def _pages_aio(self) -> AsyncIterator[tuple]:
        after = None
        while True:
            page = await self._call_aio("entries", after, PAGE)
            for entry in page:
                yield entry
            if len(page) < PAGE:
                return
            after = page[-1][0]

    def _keys(self) -> Iterator[Any]:
        for key, _ in self._pages():
            yield _decoded(key)

    async def _keys_aio(self) -> AsyncIterator[Any]:
        async for key, _ in self._pages_aio():
            yield _decoded(key)

    def _values(self) -> Iterator[Any]:
        for _, value in self._pages():
            yield _decoded(value)

    async def _values_aio(self) -> AsyncIterator[Any]:
        async for _, value in self._pages_aio():
            yield _decoded(value)

    def _items(self) -> Iterator[tuple]:
        for key, value in self._pages():
            yield _decoded(key), _decoded(value)

    async def _items_aio(self) -> AsyncIterator[tuple]:
        async for key, value in self._pages_aio():
            yield _decoded(key), _decoded(value)

    def __getitem__(self, key: Any) -> Any:
        value = self._call("get", _encoded(key))
        if value is None:
            raise KeyError(key)
        return _decoded(value)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._put(key, value)

    def __delitem__(self, key: Any) -> None:
        self._pop(key)

    def __contains__(self, key: Any) -> bool:
        return self._contains(key)

    def __iter__(self) -> Iterator[Any]:
        # Without it, `for k in d` would call `d[0]`, `d[1]`, ... (the old sequence protocol).
        return self._keys()


class Queue(_Handle):
    """A queue the host keeps (Modal's `modal.Queue`): partitions of items, each first in,
    first out; `partition=None` is the default partition. Every method has its `.aio`."""

    _binding = storage.Queue

    def _twins(self) -> None:
        self.put = _Twin(self._put, self._put_aio, "Appends `v`; waits while the partition is full (`block`, `timeout`), then `queue.Full`.")
        self.put_many = _Twin(self._put_many, self._put_many_aio, "Appends every value of `vs`, all or none.")
        self.get = _Twin(self._get, self._get_aio, "Removes and returns the oldest item; `queue.Empty` when none came in `timeout`, `None` at once with `block=False`.")
        self.get_many = _Twin(self._get_many, self._get_many_aio, "Removes and returns up to `n_values` items, oldest first.")
        self.len = _Twin(self._len, self._len_aio, "How many items the partition holds, or, with `total`, every partition.")
        self.clear = _Twin(self._clear, self._clear_aio, "Removes the items of the partition, or, with `all`, of every partition.")
        self.iterate = _Twin(self._iterate, self._iterate_aio, "The partition's items, oldest first, without removing them.")

    def _put(self, v: Any, block: bool = True, timeout: Optional[float] = None, *,
             partition: Optional[str] = None, partition_ttl: int = PARTITION_TTL) -> None:
        self._put_many([v], block, timeout, partition=partition, partition_ttl=partition_ttl)

    async def _put_aio(self, v: Any, block: bool = True, timeout: Optional[float] = None, *,
                       partition: Optional[str] = None, partition_ttl: int = PARTITION_TTL) -> None:
        await self._put_many_aio([v], block, timeout, partition=partition, partition_ttl=partition_ttl)

    def _put_many(self, vs: list, block: bool = True, timeout: Optional[float] = None, *,
                  partition: Optional[str] = None, partition_ttl: int = PARTITION_TTL) -> None:
        self._call("put", *_put_args(vs, block, timeout, partition, partition_ttl))

    async def _put_many_aio(self, vs: list, block: bool = True, timeout: Optional[float] = None, *,
                            partition: Optional[str] = None, partition_ttl: int = PARTITION_TTL) -> None:
        await self._call_aio("put", *_put_args(vs, block, timeout, partition, partition_ttl))

    def _get(self, block: bool = True, timeout: Optional[float] = None, *, partition: Optional[str] = None) -> Any:
        values = _taken(self._call("get", *_get_args(1, block, timeout, partition)), block)
        return values[0] if values else None

    async def _get_aio(self, block: bool = True, timeout: Optional[float] = None, *,
                       partition: Optional[str] = None) -> Any:
        values = _taken(await self._call_aio("get", *_get_args(1, block, timeout, partition)), block)
        return values[0] if values else None

    def _get_many(self, n_values: int, block: bool = True, timeout: Optional[float] = None, *,
                  partition: Optional[str] = None) -> list:
        return _taken(self._call("get", *_get_args(n_values, block, timeout, partition)), block)

    async def _get_many_aio(self, n_values: int, block: bool = True, timeout: Optional[float] = None, *,
                            partition: Optional[str] = None) -> list:
        return _taken(await self._call_aio("get", *_get_args(n_values, block, timeout, partition)), block)

    def _len(self, *, partition: Optional[str] = None, total: bool = False) -> int:
        _alone(partition, total, "total")
        return self._call("len", _partition(partition), total)

    async def _len_aio(self, *, partition: Optional[str] = None, total: bool = False) -> int:
        _alone(partition, total, "total")
        return await self._call_aio("len", _partition(partition), total)

    def _clear(self, *, partition: Optional[str] = None, all: bool = False) -> None:  # noqa: A002  (Modal's name)
        _alone(partition, all, "all")
        self._call("clear", _partition(partition), all)

    async def _clear_aio(self, *, partition: Optional[str] = None, all: bool = False) -> None:  # noqa: A002
        _alone(partition, all, "all")
        await self._call_aio("clear", _partition(partition), all)

    def _iterate(self, *, partition: Optional[str] = None, item_poll_timeout: float = 0.0) -> Iterator[Any]:
        """Pages of the items after the last one seen, each call waiting up to
        `item_poll_timeout` for a next item; ends when none came in that time."""
        partition, wait, after = _partition(partition), duration_nanos(item_poll_timeout or 0.0), None
        while True:
            page = self._call("items", partition, after, PAGE, wait)
            if not page:
                return
            for after, item in page:
                yield _decoded(item)

    async def _iterate_aio(self, *, partition: Optional[str] = None, item_poll_timeout: float = 0.0) -> AsyncIterator[Any]:
        partition, wait, after = _partition(partition), duration_nanos(item_poll_timeout or 0.0), None
        while True:
            page = await self._call_aio("items", partition, after, PAGE, wait)
            if not page:
                return
            for after, item in page:
                yield _decoded(item)


def _raising(error: Err) -> Exception:
    """The exception for a failed storage operation."""
    return exception.from_storage_error(error.value)


def _encoded(value: Any) -> bytes:
    try:
        return encode_value(value)
    except TypeError as error:
        raise exception.InvalidError(str(error)) from None
    except ValueError as error:
        raise exception.InvalidError(f"cannot encode a value: {error}") from None


def _decoded(payload: bytes) -> Any:
    try:
        return decode_value(payload)
    except ValueError as error:
        raise exception.DeserializationError(f"cannot decode a stored value: {error}") from None


def _value_or(payload: Optional[bytes], default: Any) -> Any:
    return default if payload is None else _decoded(payload)


def _popped(key: Any, payload: Optional[bytes], default: Any) -> Any:
    if payload is not None:
        return _decoded(payload)
    if default is _NO_DEFAULT:
        raise KeyError(key)
    return default


def _entries(other: Any, kwargs: dict) -> list:
    """The entries of `Dict.update(other, **kwargs)`, encoded (`other` a mapping or pairs, as
    `dict.update` takes)."""
    contents = dict(other) if other else {}
    contents.update(kwargs)
    return [(_encoded(key), _encoded(value)) for key, value in contents.items()]


def _partition(partition: Optional[str]) -> Optional[str]:
    """`partition`, checked as Modal checks it: 1 to 64 characters."""
    if partition is not None and not 1 <= len(partition) <= MAX_PARTITION:
        raise exception.InvalidError(f"a queue partition key must be 1 to {MAX_PARTITION} characters, not {len(partition)}")
    return partition


def _alone(partition: Optional[str], flag: bool, name: str) -> None:
    """Refuses a partition with `total=True` or `all=True`, as Modal does."""
    if partition and flag:
        raise exception.InvalidError(f"`partition` must be None with `{name}=True`: it counts every partition")


def _wait(block: bool, timeout: Optional[float]) -> Optional[int]:
    """The host's `timeout-nanos`: 0 without `block`, `None` (as long as it takes) for a
    blocking call without `timeout`."""
    if block:
        return duration_nanos(timeout)
    if timeout is not None:
        warnings.warn("`timeout` is ignored with `block=False`")
    return 0


def _get_args(n_values: int, block: bool, timeout: Optional[float], partition: Optional[str]) -> tuple:
    """The host's `get` arguments for `get_many(n_values, ...)`."""
    if n_values < 1:
        raise exception.InvalidError(f"`n_values` must be at least 1, not {n_values}")
    return min(n_values, _U32), _partition(partition), _wait(block, timeout)


def _put_args(vs: list, block: bool, timeout: Optional[float], partition: Optional[str], partition_ttl: int) -> tuple:
    """The host's `put` arguments for `put_many(vs, ...)`."""
    if not 0 <= partition_ttl <= _U32:
        raise exception.InvalidError(f"`partition_ttl` must be a number of seconds, not {partition_ttl}")
    return [_encoded(v) for v in vs], _partition(partition), int(partition_ttl), _wait(block, timeout)


def _taken(values: list, block: bool) -> list:
    """The items a get took; `queue.Empty` when a blocking get took none (it timed out)."""
    if not values and block:
        raise queue.Empty()
    return [_decoded(value) for value in values]
