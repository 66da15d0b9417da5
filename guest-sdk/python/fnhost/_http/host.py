"""The contract's `host` import over HTTP: calls, spawned calls and their ids, pool stats.

A function is named as a component's `call` names it: `APP/FUNCTION` for a function of a
deployed app, a bare name for a function of the app `app.run()` runs (`running`); a bare name
with no app running raises `ExecutionError`, as Modal says of a function whose app is not
running. Arguments go as the JSON array of every argument (`?args=list`); the `{"args",
"kwargs"}` of a call with names to a function known only by name is bound here, to the
parameters the server's description of the app gives (`GET /v1/apps/{app}`).

Invariant: `call` ends with the call's result or error (a call the server stops waiting for,
`303`, is waited for by its id); a spawned call is waited for by `GET /v1/calls/{id}`, at most
a minute a request; `wait_finished` starts one watch per call, which then keeps its outcome
for every reader.
"""

import asyncio
import contextlib
import json
import re
from typing import Iterator, Optional

from .. import exception
from . import loop
from .connection import fetch, fetch_json, unserved

#: The longest a `GET /v1/calls/{id}` asks the server to hold its answer (its own limit).
MAX_WAIT = 60.0

#: The apps `app.run()` runs, innermost last: a bare function name is one of the last's.
_running: list = []


@contextlib.contextmanager
def running(app: str) -> Iterator[None]:
    """Makes bare function names name the functions of the deployed app `app` while the block
    runs."""
    _running.append(app)
    try:
        yield
    finally:
        _running.pop()


class FunctionCall:
    """A call the server runs in the background, known by its id."""

    def __init__(self, call_id: str) -> None:
        self._id = call_id
        #: The task that waits for the outcome, once `wait_finished` started one.
        self._watch: Optional[asyncio.Task] = None

    def id(self) -> str:
        return self._id

    def get(self, timeout_nanos: Optional[int]) -> bytes:
        return loop.blocking(self._get(timeout_nanos))

    async def get_async(self, timeout_nanos: Optional[int]) -> bytes:
        return await loop.aio(self._get(timeout_nanos))

    def cancel(self) -> None:
        loop.blocking(fetch("DELETE", ["v1", "calls", self._id], expect=(204,)))

    async def _get(self, timeout_nanos: Optional[int]) -> bytes:
        seconds = _seconds(timeout_nanos)
        if self._watch is None:
            result = await self._result(seconds)
        else:
            done, _ = await asyncio.wait([self._watch], timeout=seconds)
            result = self._watch.result() if done else None
        if result is None:
            raise exception.TimeoutError(f"call {self._id} still running after {seconds:g} s")
        return result

    def _watched(self) -> asyncio.Task:
        """The task that waits for the outcome until the call ends (on the SDK's loop), for
        `wait_finished` and every reader after it."""
        if self._watch is None:
            self._watch = asyncio.ensure_future(self._result(None))
            # Read its error even when no reader is left, so asyncio does not warn of it.
            self._watch.add_done_callback(lambda task: task.cancelled() or task.exception())
        return self._watch

    async def _result(self, seconds: Optional[float]) -> Optional[bytes]:
        """The call's result, or None when `seconds` (None: no limit) pass first."""
        clock = asyncio.get_running_loop().time
        deadline = None if seconds is None else clock() + seconds
        while True:
            asked = MAX_WAIT if deadline is None else min(MAX_WAIT, max(0.0, deadline - clock()))
            sent = clock()
            status, body = await fetch("GET", ["v1", "calls", self._id], query={"timeout": f"{asked * 1000:.0f}ms"},
                                       expect=(200, 202))
            if status == 200:
                return body
            if deadline is not None and clock() >= deadline:
                return None
            if clock() - sent < asked / 2:
                # A server that answers sooner than asked is not asked again at once.
                await asyncio.sleep(0.1)


def call(function: str, args: bytes, options) -> bytes:
    return loop.blocking(_call(function, args, options))


async def call_async(function: str, args: bytes, options) -> bytes:
    return await loop.aio(_call(function, args, options))


def spawn(function: str, args: bytes, options) -> FunctionCall:
    return loop.blocking(_spawn(function, args, options))


def call_gen(function: str, args: bytes, options):
    raise unserved(f"calling the generator `{function}` (`remote_gen`)")


def call_from_id(call_id: str) -> FunctionCall:
    if not re.fullmatch(r"fc-[0-9a-fA-F]{32}", call_id):
        raise exception.NotFoundError(f"`{call_id}` is not a call id (`fc-` and 32 hexadecimal digits)")
    return FunctionCall(call_id)


def wait_finished(calls: list, timeout_nanos: Optional[int]) -> list:
    return loop.blocking(_wait_finished(calls, timeout_nanos))


def stats(function: str, params: bytes) -> bytes:
    return json.dumps(loop.blocking(_described(function)).get("stats") or {}).encode()


async def _call(function: str, args: bytes, options) -> bytes:
    status, body = await fetch("POST", _path(function, "call"), query={"args": "list"},
                               body=await _arguments(function, args, options), expect=(200, 303))
    if status == 303:
        return await FunctionCall(json.loads(body)["call_id"])._get(None)
    return body


async def _spawn(function: str, args: bytes, options) -> FunctionCall:
    answer = await fetch_json("POST", _path(function, "spawn"), query={"args": "list"},
                              body=await _arguments(function, args, options), expect=(202,))
    return FunctionCall(answer["call_id"])


async def _wait_finished(calls: list, timeout_nanos: Optional[int]) -> list:
    watches = [call._watched() for call in calls]
    if not watches:
        return []
    done, _ = await asyncio.wait(watches, timeout=_seconds(timeout_nanos), return_when=asyncio.FIRST_COMPLETED)
    return [index for index, watch in enumerate(watches) if watch in done]


def _target(function: str) -> tuple:
    """`(app, function)` of a function named as `call` names it."""
    if "/" in function:
        app, name = function.split("/", 1)
    elif _running:
        app, name = _running[-1], function
    else:
        raise exception.ExecutionError(
            f"Function `{function}` has not been hydrated: the App it is defined on is not running. "
            f"Call it inside `with app.run():`, or, for a deployed app, through "
            f"`fnhost.Function.from_name(APP, {function!r})`")
    if "." in name:
        raise unserved(f"calling the method `{name}` of a class")
    return app, name


def _path(function: str, action: str) -> list:
    app, name = _target(function)
    return ["v1", "apps", app, "functions", name, action]


async def _arguments(function: str, args: bytes, options) -> bytes:
    """The JSON array of every argument of a call (see the module's documentation)."""
    given = (options.timeout_nanos, options.retries, options.containers, options.secrets, options.volumes)
    if any(option is not None for option in given):
        raise unserved("`with_options(...)`")
    if not args.startswith(b"{"):
        return args
    named = json.loads(args)
    params = (await _described(function))["params"]
    positional, keywords = named.get("args", []), named.get("kwargs", {})
    if len(positional) > len(params):
        raise exception.InvalidError(f"`{function}` takes {len(params)} arguments, {len(positional)} given")
    bound = dict(zip(params, positional))
    for name, value in keywords.items():
        if name not in params:
            raise exception.InvalidError(f"`{function}` has no parameter `{name}` (it takes: {', '.join(params)})")
        if name in bound:
            raise exception.InvalidError(f"parameter `{name}` of `{function}` is given twice")
        bound[name] = value
    missing = [param for param in params if param not in bound]
    if missing:
        raise exception.InvalidError(
            f"`{function}` needs a value for {', '.join(missing)}: over the HTTP API, every argument is given")
    return json.dumps([bound[param] for param in params]).encode()


def deployed(app: str) -> dict:
    """The server's description of the deployed app `app`; `NotFoundError` when there is none."""
    return loop.blocking(fetch_json("GET", ["v1", "apps", app]))


async def _described(function: str) -> dict:
    """The server's description of the function (`GET /v1/apps/{app}`'s)."""
    app, name = _target(function)
    for described in (await fetch_json("GET", ["v1", "apps", app]))["functions"]:
        if described["name"] == name:
            return described
    raise exception.NotFoundError(f"no function `{name}` in the app `{app}`")


def _seconds(timeout_nanos: Optional[int]) -> Optional[float]:
    return None if timeout_nanos is None else timeout_nanos / 1e9
