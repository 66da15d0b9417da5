"""`time.sleep` and `asyncio.sleep` that wait on the host.

A component has no clock to wait on by itself: `time.sleep` would spin, and asyncio's event
loop in a component has no timers (`call_later` is not implemented), so `asyncio.sleep` of a
positive delay would fail. Importing `fnhost` replaces both: `time.sleep` blocks the instance
through the host's `sleep` (none of its other inputs run meanwhile, as a blocking call holds an
asyncio loop), and `asyncio.sleep` awaits the host's `sleep-async` (other inputs run).
"""

import asyncio
import time

from wit_world.imports import host

from ._phase import require_host
from ._wire import duration_nanos

_yield_once = asyncio.sleep


def sleep(seconds: float) -> None:
    """Blocks the calling instance for `seconds`."""
    require_host()
    nanos = duration_nanos(seconds)
    if nanos:
        host.sleep(nanos)


async def sleep_aio(seconds: float, result=None):
    """Waits `seconds` while the instance's other inputs run; returns `result`."""
    require_host()
    nanos = duration_nanos(seconds)
    if nanos:
        await host.sleep_async(nanos)
    else:
        await _yield_once(0)
    return result


def install() -> None:
    """Makes `time.sleep` and `asyncio.sleep` wait on the host."""
    time.sleep = sleep
    asyncio.sleep = sleep_aio
