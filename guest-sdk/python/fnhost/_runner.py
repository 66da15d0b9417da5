"""`app.run()` in CPython (Modal's ephemeral app): a script's app deployed for the duration of
a `with` block, where `f.remote(...)` calls it.

The script (`__main__`'s file) is the app's source: `fnhost deploy SCRIPT --name NAME` builds
it with componentize-py, as `fnhost run` does (the script keeps `app.run()` under `if __name__
== "__main__":`, which the build's import skips), and deploys it under the app's name (else the
script's stem) and a random suffix, so that a run never replaces a deployed app of that name.
It goes to the server `FNHOST_URL` names (with `FNHOST_TOKEN`); without one, to a private
`fnhost serve` started for the run on a loopback port the kernel picks, with a temporary state
directory (its dicts and queues last as long as the run). The `fnhost` command is
`FNHOST_BIN`, else `fnhost` on `PATH`.

Invariant: once a deploy started, however the block ends (its end, an exception, Ctrl-C), the
app is undeployed and a server started for the run is stopped and its directory removed; a
bare function name reaches the deployed copy only inside the block.
"""

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from . import exception
from ._http import host, loop
from ._http.connection import fetch, serving
from ._http.private import binary_path, private_server
from ._output import LogStream, enabled, say

class AppRun:
    """What `app.run()` returns: a `with` (or `async with`) block in which the app runs."""

    def __init__(self, app) -> None:
        self._app = app
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self._app

    def __exit__(self, *_exc_info) -> None:
        self._stack.close()

    async def __aenter__(self):
        return await asyncio.to_thread(self.__enter__)

    async def __aexit__(self, *exc_info) -> None:
        await asyncio.to_thread(self.__exit__, *exc_info)

    def _start(self) -> None:
        binary, source = binary_path(), _script()
        name = f"{(self._app.name or source.stem)[:55]}-{secrets.token_hex(4)}"
        url = os.environ.get("FNHOST_URL") or self._stack.enter_context(private_server())
        self._stack.enter_context(serving(url, os.environ.get("FNHOST_TOKEN") or None))
        self._stack.enter_context(_deployed(binary, source, name, url))
        self._stack.enter_context(host.running(name))


def _script() -> Path:
    """The script being run: the app's source."""
    script = getattr(sys.modules["__main__"], "__file__", None)
    if script is None:
        raise exception.ExecutionError(
            "app.run() deploys the script that defines the app: run it as `python script.py`")
    return Path(script).resolve()


@contextlib.contextmanager
def _deployed(binary: str, source: Path, name: str, url: str) -> Iterator[None]:
    """Deploys `source` as `name` for the block; then undeploys it."""
    log = None
    try:
        done = subprocess.run([binary, "deploy", str(source), "--name", name, "--url", url],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        for line in (done.stderr + done.stdout).splitlines():
            say(f"fnhost: {line}")
        if done.returncode != 0:
            said = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            raise exception.ExecutionError(f"app.run(): {said[-1].removeprefix('error: ')}")
        log = LogStream(name) if enabled() else None
        yield
    finally:
        _undeploy(name)
        if log is not None:
            log.wait()


def _undeploy(name: str) -> None:
    try:
        loop.blocking(fetch("DELETE", ["v1", "apps", name], expect=(204,)))
        say(f"fnhost: stopped `{name}`")
    except exception.NotFoundError:
        pass  # the deploy did not get that far
