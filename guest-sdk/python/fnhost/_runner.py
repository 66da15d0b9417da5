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
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from . import exception
from ._http import host, loop
from ._http.connection import fetch, serving
from ._output import LogStream, enabled, say

#: How long a server started for the run may take to stop before it is killed, in seconds.
STOP_TIMEOUT = 10.0


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
        binary, source = _binary(), _script()
        name = f"{(self._app.name or source.stem)[:55]}-{secrets.token_hex(4)}"
        url = os.environ.get("FNHOST_URL") or self._stack.enter_context(_private_server(binary))
        self._stack.enter_context(serving(url, os.environ.get("FNHOST_TOKEN") or None))
        self._stack.enter_context(_deployed(binary, source, name, url))
        self._stack.enter_context(host.running(name))


def _binary() -> str:
    found = os.environ.get("FNHOST_BIN") or shutil.which("fnhost")
    if found and os.access(found, os.X_OK):
        return found
    raise exception.ExecutionError(
        "app.run() needs the `fnhost` command: set FNHOST_BIN to it, or put it on PATH"
        + (f" (not an executable: {found})" if found else ""))


def _script() -> Path:
    """The script being run: the app's source."""
    script = getattr(sys.modules["__main__"], "__file__", None)
    if script is None:
        raise exception.ExecutionError(
            "app.run() deploys the script that defines the app: run it as `python script.py`")
    return Path(script).resolve()


@contextlib.contextmanager
def _private_server(binary: str) -> Iterator[str]:
    """Runs `fnhost serve` for the block, with a temporary state directory; its URL."""
    with tempfile.TemporaryDirectory(prefix="fnhost-run-") as state:
        server = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--state-dir", state, "--grace", "2s"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            url = _serving_url(server)
            say(f"fnhost: started `fnhost serve` at {url} for this run")
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _serving_url(server: subprocess.Popen) -> str:
    """The URL the server says it serves on; then its stderr is passed on (output on) or
    dropped, so that it never fills."""
    said = []
    for line in server.stderr:
        found = re.search(r"fnhost serving on (http://\S+)", line)
        if found:
            threading.Thread(target=_pass_on, args=(server.stderr,), daemon=True).start()
            return found.group(1)
        said.append(line.rstrip())
    server.stderr.close()
    server.wait()
    raise exception.ExecutionError("`fnhost serve` did not start: " + " / ".join(said[-5:]))


def _pass_on(lines) -> None:
    with lines:
        for line in lines:
            if enabled():
                sys.stderr.write(line)


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
