"""The event loop the SDK's requests run on in CPython: one daemon thread, started by the first
request (as Modal's client runs its own).

A blocking form (`f.remote(...)`, `d.get(k)`) hands its coroutine to the loop and waits in the
calling thread; its `.aio` twin awaits the same coroutine from the caller's own event loop.

Invariant: every request runs on this loop, whichever thread or event loop asked for it, and a
caller that stops waiting (an exception, Ctrl-C, a cancelled task) cancels it there, which
closes its connection: the server then takes the caller as gone.
"""

import asyncio
import atexit
import threading
from typing import Any, Awaitable, Optional

_lock = threading.Lock()
_loop: Optional[asyncio.AbstractEventLoop] = None


def _running() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="fnhost-client", daemon=True).start()
            atexit.register(_close)
        return _loop


def _close() -> None:
    """Cancels what still runs on the loop at exit (a watch of a call no one reads), so that
    no request is left half done."""

    async def cancel_all() -> None:
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    start(cancel_all()).result(timeout=5)


def start(coroutine: Awaitable) -> "asyncio.Future":
    """Starts `coroutine` on the loop; its outcome, for the calling thread to wait on."""
    return asyncio.run_coroutine_threadsafe(coroutine, _running())


def blocking(coroutine: Awaitable) -> Any:
    """Runs `coroutine` on the loop and waits for its outcome here."""
    future = start(coroutine)
    try:
        return future.result()
    finally:
        future.cancel()


async def aio(coroutine: Awaitable) -> Any:
    """Runs `coroutine` on the loop and awaits its outcome from the caller's event loop."""
    return await asyncio.wrap_future(start(coroutine))


def twins(*names: str):
    """Gives the decorated class, for each of `names`, the two forms a resource of the bindings
    has: `NAME` (blocking) and `NAME_async`, both running its coroutine method `_NAME`."""

    def decorate(cls: type) -> type:
        for name in names:
            method = getattr(cls, f"_{name}")
            setattr(cls, name, _blocking_method(method))
            setattr(cls, f"{name}_async", _aio_method(method))
        return cls

    return decorate


def _blocking_method(method):
    return lambda self, *args: blocking(method(self, *args))


def _aio_method(method):
    return lambda self, *args: aio(method(self, *args))
