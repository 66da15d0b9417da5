"""Handles to functions and to spawned calls: `remote`, `spawn`, `map`, and their `.aio` twins.

Every call goes through the host, wherever the callee lives (this component, another one of
the app, another app). A blocking form (`f.remote(...)`, `call.get()`, `f.map(...)`) holds the
caller's whole instance until it returns, as a blocking call holds an asyncio event loop; its
`.aio` twin lets the instance's other inputs run meanwhile. In CPython the same handles call a
server's apps over its HTTP API (see `_phase`).
"""

import asyncio
import collections
import dataclasses
import inspect
import json
import warnings
from typing import Any, AsyncIterator, Callable, Iterable, Iterator, Optional

from . import exception
from ._phase import Err, host, require_host, types
from ._wire import decode_result, duration_nanos, encode_args, raising

#: How many calls one `map` keeps in flight; later inputs start as earlier ones finish.
MAP_WINDOW = 1000


class _Twin:
    """A blocking callable with its async twin as `.aio` (Modal's `f.remote` / `f.remote.aio`)."""

    def __init__(self, blocking: Callable, aio: Callable, doc: str) -> None:
        self._blocking = blocking
        self.aio = aio
        self.__doc__ = doc

    def __call__(self, *args, **kwargs):
        return self._blocking(*args, **kwargs)


class FunctionCall:
    """A call started with `spawn` (or found with `from_id`), running in the background.

    The host runs it to completion whether or not a handle is held, and keeps its result
    under its id for its retention window.
    """

    def __init__(self, handle: "host.FunctionCall") -> None:
        self._handle = handle
        self.get = _Twin(self._get, self._get_aio, "The call's result; `timeout` in seconds.")

    @staticmethod
    def from_id(function_call_id: str) -> "FunctionCall":
        """The spawned call whose id is `function_call_id`, wherever it was spawned."""
        require_host()
        try:
            return FunctionCall(host.call_from_id(function_call_id))
        except Err as error:
            raise raising(error) from None

    @property
    def object_id(self) -> str:
        """The call's id (`fc-` and 32 hexadecimal digits)."""
        return self._handle.id()

    def _get(self, timeout: Optional[float] = None) -> Any:
        try:
            return decode_result(self._handle.get(duration_nanos(timeout)))
        except Err as error:
            raise raising(error) from None

    async def _get_aio(self, timeout: Optional[float] = None) -> Any:
        try:
            return decode_result(await self._handle.get_async(duration_nanos(timeout)))
        except Err as error:
            raise raising(error) from None

    def cancel(self) -> None:
        """Cancels the call: it stops and never delivers; `get` then raises
        `InputCancellation`."""
        self._handle.cancel()


def _gather(*calls: FunctionCall) -> list:
    # Every call runs in the background already: waiting on each in turn takes as long as
    # the slowest.
    return [call.get() for call in calls]


async def _gather_aio(*calls: FunctionCall) -> list:
    return list(await asyncio.gather(*(call.get.aio() for call in calls)))


FunctionCall.gather = _Twin(
    _gather, _gather_aio,
    "The results of `calls`, in their order, once all are in (Modal's `FunctionCall.gather`); "
    "the first failure raises.",
)


@dataclasses.dataclass(frozen=True)
class FunctionStats:
    """A function's pool now (Modal's `FunctionStats`), and the containers it ever started."""

    backlog: int
    num_total_runners: int
    containers_started: int


#: Modal's `with_options` options that shape a function's containers: the calls run in a pool
#: of the function configured so (made by the host at the first such call).
CONTAINER_OPTIONS = frozenset({
    "cpu", "memory", "max_containers", "min_containers", "buffer_containers", "scaledown_window",
})

#: Modal's `with_options` options that set a container's environment and no call carries.
ENVIRONMENT_OPTIONS = frozenset({"env"})

#: Modal's options a WebAssembly guest runs without: accepted, with a warning.
GUEST_IGNORES = frozenset({"gpu", "region", "cloud"})


@dataclasses.dataclass(frozen=True)
class CallSettings:
    """What `with_options` sets for a handle's calls: the retry count, and what shapes the
    callee's containers (`function-config` fields, and `secrets` and `volumes` as the
    contract's sources and mounts) or None."""

    retries: Optional[int]
    containers: Optional[dict]

    def over(self, earlier: Optional[dict]) -> Optional[dict]:
        """The container options of a handle that had `earlier` once these are set over them."""
        if self.containers is None:
            return earlier
        earlier = earlier or {}
        return {key: earlier.get(key) if value is None else value for key, value in self.containers.items()}


def call_settings(where: str, retries: Any, others: dict) -> CallSettings:
    """What `with_options(retries=..., **others)` sets: a count, or a `Retries`, whose delays
    shape containers; of `others`, the options that shape containers, those a guest runs
    without (accepted with a warning), `secrets` and `volumes` (in place of the callee's own), and
    none else (`env` is set where the function is)."""
    # Imported here: `_volume` imports this module.
    from ._secret import sources as secret_sources
    from ._volume import mounts as volume_mounts

    environment = {}
    if others.get("secrets") is not None:
        environment["secrets"] = secret_sources(others.pop("secrets"))
    if others.get("volumes") is not None:
        environment["volumes"] = volume_mounts(others.pop("volumes"))
    others.pop("secrets", None), others.pop("volumes", None)
    for name in others:
        if name in ENVIRONMENT_OPTIONS:
            raise exception.InvalidError(
                f"{where}({name}=...): set it where the function or class is defined "
                f"(`@app.function({name}=...)`, `@app.cls({name}=...)`)")
        if name not in GUEST_IGNORES and name not in CONTAINER_OPTIONS:
            raise TypeError(f"{where}() got an unexpected option `{name}`")
    ignored = sorted(name for name in others if name in GUEST_IGNORES)
    if ignored:
        warnings.warn(f"{where}: {', '.join(ignored)} ignored: a WebAssembly guest runs without them", stacklevel=3)
    shaping = {name: value for name, value in others.items() if name in CONTAINER_OPTIONS}
    count = retries
    if retries is not None and not isinstance(retries, int):
        count = getattr(retries, "max_retries", None)
        if not isinstance(count, int):
            raise TypeError(f"{where}(retries=...) takes a count or a `fnhost.Retries`, not {retries!r}")
    if not shaping and count is retries:
        return CallSettings(count, environment or None)
    # Imported here: the app's module imports this one.
    from ._app import _config

    fields = dict.fromkeys(("max_containers", "min_containers", "buffer_containers", "scaledown_window",
                            "memory", "cpu"))
    fields.update(shaping)
    containers = _config(timeout=None, retries=retries if count is not retries else None,
                         max_inputs=None, target_inputs=None, **fields)
    containers["retries"] = None  # the count is the call's own
    containers.update(environment)
    return CallSettings(count, containers if any(value is not None for value in containers.values()) else None)


class Function:
    """A function of the app (or of another app), callable through the host."""

    def __init__(
        self,
        name: str,
        signature: Optional[inspect.Signature] = None,
        timeout: Optional[float] = None,
        retries: Optional[int] = None,
        params: Optional[bytes] = None,
        containers: Optional[dict] = None,
    ) -> None:
        self._name = name
        self._signature = signature
        self._timeout = timeout
        self._retries = retries
        #: Options that shape the callee's containers (`function-config` fields), or None.
        self._containers = containers
        #: For a method of a class: the instance's parameter values, a JSON object.
        self._params = params
        self.remote = _Twin(self._remote, self._remote_aio, "Calls the function and returns its result.")
        self.spawn = _Twin(self._spawn, self._spawn_aio, "Starts a call in the background.")
        self.map = _Twin(self._map, self._map_aio, "Calls the function once per input, in parallel.")
        self.starmap = _Twin(self._starmap, self._starmap_aio, "`map` with each input a tuple of arguments.")
        self.for_each = _Twin(self._for_each, self._for_each_aio, "`map` with the results dropped.")
        self.spawn_map = _Twin(self._spawn_map, self._spawn_map_aio, "Starts a call per input in the background.")
        self.remote_gen = _Twin(self._remote_gen, self._remote_gen_aio, "Calls a generator and yields its items as they come.")

    @staticmethod
    def from_name(app_name: str, name: Optional[str] = None) -> "Function":
        """The function `name` of the deployed app `app_name` (Modal's spelling), or, with one
        argument, the function of that name in this app (another component of it included)."""
        if name is None:
            return Function(app_name)
        return Function(f"{app_name}/{name}")

    @property
    def name(self) -> str:
        """The name calls go to (`APP/FUNCTION` for a function of another app)."""
        return self._name

    def with_options(self, *, timeout: Optional[float] = None, retries: Any = None, **others) -> "Function":
        """The same function with options overridden, as Modal's `with_options`: `timeout`
        (seconds) and `retries` (a count, or a `Retries`) for each call; `cpu`, `memory`,
        `max_containers`, `min_containers`, `buffer_containers`, `scaledown_window` (and a
        `Retries`' delays), `secrets` and `volumes` (in place of the function's own, as Modal
        replaces them; the variables written in the app, `env=` and `Secret.from_dict`, stay)
        run the calls in a pool of the function made so; `gpu`, `region`, `cloud` are ignored
        with a warning; `env` is refused (set it where the function is defined). On a class's method, the options shape
        the containers of its instance, as `Cls.with_options` does."""
        settings = call_settings("with_options", retries, others)
        containers = settings.over(self._containers)
        return Function(
            self._name,
            self._signature,
            self._timeout if timeout is None else timeout,
            self._retries if settings.retries is None else settings.retries,
            self._params,
            containers,
        )

    def get_current_stats(self) -> "FunctionStats":
        """The counters of the pool that runs the function (for a method, of its instance's
        pool), as Modal's `Function.get_current_stats`."""
        require_host()
        try:
            counters = json.loads(host.stats(self._name, self._params or b""))
        except Err as error:
            raise raising(error) from None
        return FunctionStats(
            backlog=counters.get("queued", 0),
            num_total_runners=counters.get("containers", 0),
            containers_started=counters.get("containers_started", 0),
        )

    def _options(self) -> "types.CallOptions":
        shaping = dict(self._containers or {})
        secrets, volumes = shaping.pop("secrets", None), shaping.pop("volumes", None)
        containers = types.FunctionConfig(**shaping) if any(value is not None for value in shaping.values()) else None
        return types.CallOptions(duration_nanos(self._timeout), self._retries, containers, secrets, volumes)

    def _payload(self, args: tuple, kwargs: dict) -> bytes:
        payload = encode_args(self._signature, args, kwargs)
        if self._params is None:
            return payload
        return b'{"params":' + self._params + b',"args":' + payload + b"}" if payload[:1] == b"[" else (
            b'{"params":' + self._params + b"," + payload[1:])

    def _remote(self, *args, **kwargs) -> Any:
        require_host()
        payload = self._payload(args, kwargs)
        try:
            return decode_result(host.call(self._name, payload, self._options()))
        except Err as error:
            raise raising(error) from None

    async def _remote_aio(self, *args, **kwargs) -> Any:
        require_host()
        payload = self._payload(args, kwargs)
        try:
            return decode_result(await host.call_async(self._name, payload, self._options()))
        except Err as error:
            raise raising(error) from None

    def _remote_gen(self, *args, **kwargs) -> Iterator:
        """The generator's items as they come; an error ends them; closing the iterator (or
        dropping it) cancels the call."""
        require_host()
        with host.call_gen(self._name, self._payload(args, kwargs), self._options()) as items:
            while True:
                item = items.next()
                if item is None:
                    return
                yield _decoded_item(item)

    async def _remote_gen_aio(self, *args, **kwargs) -> AsyncIterator:
        require_host()
        with host.call_gen(self._name, self._payload(args, kwargs), self._options()) as items:
            while True:
                item = await items.next_async()
                if item is None:
                    return
                yield _decoded_item(item)

    def _spawn(self, *args, **kwargs) -> FunctionCall:
        require_host()
        return FunctionCall(host.spawn(self._name, self._payload(args, kwargs), self._options()))

    async def _spawn_aio(self, *args, **kwargs) -> FunctionCall:
        return self._spawn(*args, **kwargs)

    def _map(self, *inputs: Iterable, kwargs: Optional[dict] = None, order_outputs: bool = True, return_exceptions: bool = False) -> Iterator:
        return self._starmap(zip(*inputs), kwargs=kwargs, order_outputs=order_outputs, return_exceptions=return_exceptions)

    def _map_aio(self, *inputs: Iterable, kwargs: Optional[dict] = None, order_outputs: bool = True, return_exceptions: bool = False) -> AsyncIterator:
        return self._starmap_aio(zip(*inputs), kwargs=kwargs, order_outputs=order_outputs, return_exceptions=return_exceptions)

    def _starmap(self, inputs: Iterable, kwargs: Optional[dict] = None, order_outputs: bool = True, return_exceptions: bool = False) -> Iterator:
        """Results in input order (or, with `order_outputs=False`, in the order the calls
        finish), with at most `MAP_WINDOW` spawned calls in flight; the calls not collected
        are cancelled when the iterator is closed or an error ends it."""
        kwargs = kwargs or {}
        in_flight: list = []
        # Calls seen finished, in the order they finished (with `order_outputs=False`).
        finished: collections.deque = collections.deque()
        inputs = iter(inputs)
        try:
            while True:
                for args in inputs:
                    in_flight.append(self._spawn(*args, **kwargs))
                    if len(in_flight) + len(finished) >= MAP_WINDOW:
                        break
                if order_outputs:
                    if not in_flight:
                        return
                    call = in_flight.pop(0)
                else:
                    if not finished:
                        if not in_flight:
                            return
                        finished.extend(_take_finished(in_flight))
                    call = finished.popleft()
                yield _outcome(call.get, return_exceptions)
        finally:
            for call in in_flight:
                call.cancel()

    async def _starmap_aio(self, inputs: Iterable, kwargs: Optional[dict] = None, order_outputs: bool = True, return_exceptions: bool = False) -> AsyncIterator:
        """Results in input order (or, with `order_outputs=False`, in the order the calls
        finish), with at most `MAP_WINDOW` calls in flight. When an error or the caller ends
        it early, it waits for the calls still in flight: componentize-py cannot cancel a call
        an asyncio task awaits, and an instance's task may not return while its calls run."""
        kwargs = kwargs or {}
        in_flight: collections.deque = collections.deque()
        # Tasks seen done (with `order_outputs=False`), to yield before waiting again.
        finished: collections.deque = collections.deque()
        inputs = iter(inputs)
        try:
            while True:
                for args in inputs:
                    in_flight.append(asyncio.ensure_future(self._remote_aio(*args, **kwargs)))
                    if len(in_flight) + len(finished) >= MAP_WINDOW:
                        break
                if order_outputs:
                    if not in_flight:
                        return
                    task = in_flight.popleft()
                else:
                    if not finished:
                        if not in_flight:
                            return
                        done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                        finished.extend(task for task in in_flight if task in done)
                        in_flight = collections.deque(task for task in in_flight if task not in done)
                    task = finished.popleft()
                yield await _outcome_aio(task, return_exceptions)
        finally:
            await asyncio.gather(*in_flight, *finished, return_exceptions=True)

    def _for_each(self, *inputs: Iterable, kwargs: Optional[dict] = None, ignore_exceptions: bool = False) -> None:
        """Returns once every call has finished; raises the first error (in input order)
        unless `ignore_exceptions`."""
        for _ in self._starmap(zip(*inputs), kwargs=kwargs, return_exceptions=ignore_exceptions):
            pass

    async def _for_each_aio(self, *inputs: Iterable, kwargs: Optional[dict] = None, ignore_exceptions: bool = False) -> None:
        async for _ in self._starmap_aio(zip(*inputs), kwargs=kwargs, order_outputs=False, return_exceptions=ignore_exceptions):
            pass

    def _spawn_map(self, *inputs: Iterable, kwargs: Optional[dict] = None) -> list:
        """Starts a call per input and returns at once: the handles carry the calls' ids
        (`object_id`); dropping them leaves the calls running. (Modal returns `None`.)"""
        kwargs = kwargs or {}
        return [self._spawn(*args, **kwargs) for args in zip(*inputs)]

    async def _spawn_map_aio(self, *inputs: Iterable, kwargs: Optional[dict] = None) -> list:
        return self._spawn_map(*inputs, kwargs=kwargs)


def _decoded_item(item) -> Any:
    """The value of a generator's item, a `result` as componentize-py gives it (`Ok` or
    `Err`); its error raised as the exception it stands for."""
    if isinstance(item, Err):
        raise raising(item) from None
    return decode_result(item.value)


def _take_finished(calls: list) -> list:
    """Takes the calls of `calls` that have finished out of it, in the order they finished,
    blocking until one has."""
    indices = host.wait_finished([call._handle for call in calls], None)
    # Empty only when the host shut down: the first call then answers with why.
    indices = indices or [0]
    taken = [calls[index] for index in indices]
    kept = set(indices)
    calls[:] = [call for index, call in enumerate(calls) if index not in kept]
    return taken


def _outcome(get: Callable[[], Any], return_exceptions: bool) -> Any:
    try:
        return get()
    except exception.Error as error:
        if return_exceptions:
            return error
        raise


async def _outcome_aio(task: "asyncio.Future", return_exceptions: bool) -> Any:
    try:
        return await task
    except exception.Error as error:
        if return_exceptions:
            return error
        raise
