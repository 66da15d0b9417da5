"""A `fnhost serve` started for a block of a script, when the script names no server: what
`app.run()` deploys to, and where an ephemeral dict or queue lives (Modal's script mode, on
this machine).

The server listens on a loopback port the kernel picks, keeps its state in a temporary
directory, and is the `fnhost` command `FNHOST_BIN` names, else `fnhost` on `PATH`.

Invariant: however the block ends (its end, an exception, Ctrl-C), the server is stopped
(killed when it does not stop in `STOP_TIMEOUT`) and its directory removed: nothing it held
outlives the block.
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from typing import Iterator

from .. import exception
from .._output import enabled, say

#: How long a server started for a block may take to stop before it is killed, in seconds.
STOP_TIMEOUT = 10.0


def binary_path() -> str:
    """The `fnhost` command."""
    found = os.environ.get("FNHOST_BIN") or shutil.which("fnhost")
    if found and os.access(found, os.X_OK):
        return found
    raise exception.ExecutionError(
        "a script with no server named (FNHOST_URL) starts `fnhost serve` for its run, and needs "
        "the `fnhost` command: set FNHOST_BIN to it, or put it on PATH"
        + (f" (not an executable: {found})" if found else ""))


@contextlib.contextmanager
def private_server() -> Iterator[str]:
    """Runs `fnhost serve` for the block, with a temporary state directory; its URL."""
    binary = binary_path()
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
