"""`fnhost.enable_output()` (Modal's `modal.enable_output`): while it is on, `app.run()` says on
stderr what it does (the server it starts, the build and the deploy) and streams the running
app's log as it comes, one line per event of the server's `GET /v1/apps/{app}/logs?follow=true`:
`[SOURCE] MESSAGE`, the source being the container (`square#0`), else the function, else
`host`; a container's stdout goes to stdout, the rest to stderr.

Invariant: the stream is open before `app.run()`'s block starts (the server sends the events
it kept, then each new one) and ends when the app is undeployed, which the block's end does
before it waits for the stream: every event the app logged during the block is printed before
the block returns.
"""

import contextlib
import json
import sys
from typing import Iterator

from . import exception
from ._http import loop
from ._http.connection import Answer, send

#: How many `enable_output()` blocks are open.
_depth = [0]

#: How long the end of `app.run()` waits for the rest of the log, in seconds.
DRAIN = 10.0


@contextlib.contextmanager
def enable_output(show_progress: bool = True) -> Iterator[None]:
    """Shows what `app.run()` does and the app's log while the block runs. (`show_progress` is
    accepted for Modal's sake: there is no progress display.)"""
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1


def enabled() -> bool:
    """Whether output is on."""
    return _depth[0] > 0


def say(message: str) -> None:
    """Prints a line about what `app.run()` does, when output is on."""
    if enabled():
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


class LogStream:
    """The log of the app `app`, printed as it comes on the SDK's loop until the app is
    undeployed (see the module's invariant)."""

    def __init__(self, app: str) -> None:
        answer = loop.blocking(send("GET", ["v1", "apps", app, "logs"], query={"follow": "true"}))
        self._printing = loop.start(_print_events(answer))

    def wait(self) -> None:
        """Waits for the end of the stream (the app undeployed), at most `DRAIN` seconds."""
        try:
            self._printing.result(timeout=DRAIN)
        except TimeoutError:
            say(f"the app's log did not end within {DRAIN:g} s: stopped reading it")
        except (exception.Error, ValueError) as error:
            say(f"the app's log could not be read: {error}")
        finally:
            self._printing.cancel()


async def _print_events(answer: Answer) -> None:
    async with answer:
        async for line in answer.lines():
            event = json.loads(line)
            source = event.get("container") or event.get("function") or "host"
            stream = sys.stdout if event.get("stream") == "stdout" else sys.stderr
            # One write a line: the script's own thread prints to the same streams.
            stream.write(f"[{source}] {event.get('message') or ''}\n")
            stream.flush()
