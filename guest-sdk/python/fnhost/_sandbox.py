"""Sandboxes (Modal's `modal.Sandbox`): isolated containers made on demand to run code nobody
reviewed, from a script run by CPython, over a server's HTTP API (docs/sandboxes.md).

`Sandbox.create(...)` makes one on the server `FNHOST_URL` names, else on a private
`fnhost serve` started for the script (and stopped at its exit, the sandboxes with it);
`sb.exec("python", "-c", code)` starts a process whose `stdout` and `stderr` are read whole
(`read()`) or line by line as the process writes them (`for line in p.stdout`), and whose
`stdin` takes `write`, `drain` and `write_eof`. Every blocking method has its `.aio` twin.

Invariant: a stream reader keeps one answer of the server open and its undelivered bytes, so
successive reads and iterators (`next(iter(p.stdout))` once per answer, as Modal's code
interpreter reads) continue where the last stopped and never lose or repeat a byte.
"""

import atexit
import codecs
import contextlib
import json
import os
from typing import Any, AsyncIterator, Callable, Iterator, Optional, Sequence

from . import exception
from ._phase import IN_COMPONENT

#: Modal's default sandbox lifetime, in seconds.
DEFAULT_TIMEOUT = 300

#: Modal's `Sandbox.create` arguments fnhost does not have (no GPUs, regions, ports or
#: tunnels; a sandbox has no network).
_UNSUPPORTED = ("gpu", "cloud", "region", "encrypted_ports", "h2_ports", "unencrypted_ports",
                "custom_domain", "proxy", "outbound_cidr_allowlist", "outbound_domain_allowlist",
                "inbound_cidr_allowlist", "cidr_allowlist", "network_file_systems", "pty",
                "readiness_probe", "experimental_options", "include_oidc_identity_token")


class _Twin:
    """A blocking method with its async twin as `.aio` (Modal's `sb.exec` / `sb.exec.aio`)."""

    def __init__(self, coroutine: Callable) -> None:
        self._coroutine = coroutine
        self.__doc__ = coroutine.__doc__

    def __call__(self, *args, **kwargs):
        from ._http import loop

        return loop.blocking(self._coroutine(*args, **kwargs))

    def aio(self, *args, **kwargs):
        from ._http import loop

        return loop.aio(self._coroutine(*args, **kwargs))


class _Twins:
    """`_Twin` per instance: `obj.NAME(...)` and `obj.NAME.aio(...)` run the coroutine method."""

    def __init__(self, coroutine: Callable) -> None:
        self._coroutine = coroutine
        self.__doc__ = coroutine.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        coroutine = self._coroutine
        return _Twin(lambda *args, **kwargs: coroutine(instance, *args, **kwargs))


def _require_cpython(what: str) -> None:
    if IN_COMPONENT:
        raise NotImplementedError(
            f"{what} from inside a function is not served yet: the contract has no sandbox "
            "imports. Make sandboxes from a script (CPython) or over the HTTP API")


# The server sandboxes go to when none is named: started at the first `create`, stopped at exit.
_private: Optional[contextlib.ExitStack] = None
_private_url: Optional[str] = None


def _target():
    """The server sandboxes are made on: the one named, else a private one."""
    global _private, _private_url
    from ._http.connection import Server, named, server
    from ._http.private import private_server

    if named():
        return server()
    if _private_url is None:
        _private = contextlib.ExitStack()
        _private_url = _private.enter_context(private_server())
        atexit.register(_private.close)
    return Server(_private_url)


async def _json(method: str, path: Sequence[str], target, **options) -> Any:
    from ._http.connection import fetch_json

    return await fetch_json(method, path, target=target, **options)


def _exit_code(exit: Optional[dict]) -> Optional[int]:
    return None if exit is None else exit["code"]


class _StreamReader:
    """A process's stdout or stderr: `read()` it whole, or iterate its lines (`for line in`,
    `async for line in`) as the process writes them; text unless the process was made with
    `text=False`."""

    def __init__(self, process: "ContainerProcess", which: str, text: bool) -> None:
        self._process = process
        self._which = which
        self._text = text
        self._answer = None
        self._chunks: Optional[AsyncIterator[bytes]] = None
        self._pending = "" if text else b""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._ended = False
        self.read = _Twin(self._read)

    async def _chunk(self) -> bool:
        """Takes the next piece the process wrote into the pending text; `False` at the end."""
        from ._http.connection import send

        if self._ended:
            return False
        if self._chunks is None:
            process = self._process
            path = ["v1", "sandboxes", process._sandbox.object_id, "processes", str(process._pid), self._which]
            self._answer = await send("GET", path, target=process._sandbox._server)
            self._chunks = self._answer.chunks().__aiter__()
        try:
            piece = await self._chunks.__anext__()
        except StopAsyncIteration:
            self._ended = True
            await self._answer.__aexit__(None, None, None)
            if self._text:
                self._pending += self._decoder.decode(b"", final=True)
            return False
        self._pending += self._decoder.decode(piece) if self._text else piece
        return True

    async def _read(self):
        """Everything left, until the process's end."""
        while await self._chunk():
            pass
        rest, self._pending = self._pending, self._pending[:0]
        return rest

    async def _next_line(self):
        newline = "\n" if self._text else b"\n"
        while newline not in self._pending:
            if not await self._chunk():
                if not self._pending:
                    return None
                line, self._pending = self._pending, self._pending[:0]
                return line
        line, _, self._pending = self._pending.partition(newline)
        return line + newline

    def __iter__(self) -> Iterator:
        from ._http import loop

        while (line := loop.blocking(self._next_line())) is not None:
            yield line

    async def __aiter__(self) -> AsyncIterator:
        from ._http import loop

        while (line := await loop.aio(self._next_line())) is not None:
            yield line


class _StreamWriter:
    """A process's stdin: `write` buffers, `drain` sends what is buffered, `write_eof` closes
    it (after what is buffered)."""

    def __init__(self, process: "ContainerProcess") -> None:
        self._process = process
        self._buffer = bytearray()
        self._eof = False
        self.drain = _Twin(self._drain)

    def write(self, data) -> None:
        if self._eof:
            raise ValueError("stdin is closed: write_eof() was called")
        self._buffer += data.encode() if isinstance(data, str) else bytes(data)

    def write_eof(self) -> None:
        self._eof = True

    async def _drain(self) -> None:
        """Sends what `write` buffered (and the end, after `write_eof`)."""
        from ._http.connection import fetch

        data, self._buffer = bytes(self._buffer), bytearray()
        if not data and not self._eof:
            return
        process = self._process
        path = ["v1", "sandboxes", process._sandbox.object_id, "processes", str(process._pid), "stdin"]
        query = {"eof": "true"} if self._eof else None
        await fetch("POST", path, body=data, query=query, expect=(204,), target=process._sandbox._server)


class ContainerProcess:
    """A process of a sandbox (Modal's `ContainerProcess`)."""

    def __init__(self, sandbox: "Sandbox", pid: int, text: bool = True) -> None:
        self._sandbox = sandbox
        self._pid = pid
        self._returncode: Optional[int] = None
        self.stdout = _StreamReader(self, "stdout", text)
        self.stderr = _StreamReader(self, "stderr", text)
        self.stdin = _StreamWriter(self)

    def __repr__(self) -> str:
        return f"ContainerProcess(sandbox={self._sandbox.object_id!r}, pid={self._pid})"

    @property
    def returncode(self) -> int:
        """Its exit code, once `wait()` (or a `poll()`) saw it end."""
        if self._returncode is None:
            raise exception.InvalidError("the process's returncode is known once wait() or poll() saw it end")
        return self._returncode

    async def _exit(self, timeout: Optional[float]) -> Optional[int]:
        path = ["v1", "sandboxes", self._sandbox.object_id, "processes", str(self._pid), "wait"]
        query = None if timeout is None else {"timeout": timeout}
        answer = await _json("POST", path, self._sandbox._server, query=query)
        code = _exit_code(answer["exit"])
        if code is not None:
            self._returncode = code
        return code

    @_Twins
    async def wait(self) -> int:
        """Waits for the process to end; its exit code."""
        while (code := await self._exit(None)) is None:
            pass
        return code

    @_Twins
    async def poll(self) -> Optional[int]:
        """Its exit code if it ended, else `None`."""
        return await self._exit(0)


class Sandbox:
    """A sandbox of a server (Modal's `modal.Sandbox`): make one with `Sandbox.create`, find
    one with `Sandbox.from_id`."""

    def __init__(self, object_id: str, server, entrypoint: bool = False) -> None:
        self._id = object_id
        self._server = server
        self._result: Optional[dict] = None
        self._main = ContainerProcess(self, 1) if entrypoint else None

    def __repr__(self) -> str:
        return f"Sandbox({self._id!r})"

    @property
    def object_id(self) -> str:
        """Its id, `sb-` and 32 hexadecimal digits: `Sandbox.from_id` finds it from another
        process."""
        return self._id

    @staticmethod
    async def _create(*args: str, app=None, name: Optional[str] = None, image=None,
                      env: Optional[dict] = None, secrets: Sequence = (), volumes: Optional[dict] = None,
                      timeout: int = DEFAULT_TIMEOUT, idle_timeout: Optional[int] = None,
                      workdir: Optional[str] = None, cpu=None, memory=None, block_network: bool = False,
                      cpu_time: Optional[float] = None, verbose: bool = False, client=None,
                      environment_name: Optional[str] = None, tags: Optional[dict] = None,
                      **unsupported) -> "Sandbox":
        """Makes a sandbox (Modal's arguments; see docs/sandboxes.md for what each does here)."""
        del block_network, verbose, client, environment_name  # A sandbox has no network anyway.
        _require_cpython("Sandbox.create")
        given = sorted(key for key, value in unsupported.items() if value not in (None, False, [], {}, ()))
        refused = [key for key in given if key in _UNSUPPORTED] or given
        if refused:
            raise exception.InvalidError(
                f"Sandbox.create({', '.join(refused)}=...) is not supported by fnhost: a sandbox runs "
                "WebAssembly on this host, with no network, ports or GPUs")
        if name is not None or tags:
            raise exception.InvalidError("named and tagged sandboxes are not supported by fnhost yet")
        body: dict = {"timeout": timeout}
        if args:
            body["command"] = list(args)
        if app is not None:
            body["app"] = getattr(app, "name", None) or str(app)
        variables = dict(_image_env(image))
        variables.update({key: value for key, value in (env or {}).items() if value is not None})
        if variables:
            body["env"] = variables
        named, inline = _secrets(secrets)
        if inline:
            body["env"] = {**body.get("env", {}), **inline}
        if named:
            body["secrets"] = named
        if volumes:
            body["volumes"] = {str(path): _volume_name(volume) for path, volume in volumes.items()}
        for key, value in (("idle_timeout", idle_timeout), ("workdir", workdir), ("cpu_time", cpu_time)):
            if value is not None:
                body[key] = value
        if cpu is not None:
            body["cpu"] = cpu[1] if isinstance(cpu, tuple) else cpu
        if memory is not None:
            body["memory"] = memory[1] if isinstance(memory, tuple) else memory
        server = _target()
        made = await _json("POST", ["v1", "sandboxes"], server, body=json.dumps(body).encode(), expect=(201,))
        return Sandbox(made["id"], server, entrypoint=bool(args))

    create = _Twin(_create)

    @staticmethod
    def from_id(sandbox_id: str, client=None) -> "Sandbox":
        """The sandbox `sandbox_id` on the server (`NotFoundError` when it has none)."""
        from ._http import loop
        from ._http.connection import named, server

        del client
        _require_cpython("Sandbox.from_id")
        target = server() if named() or _private_url is None else _target()
        info = loop.blocking(_json("GET", ["v1", "sandboxes", sandbox_id], target))
        sandbox = Sandbox(info["id"], target)
        sandbox._result = info.get("exit")
        return sandbox

    @staticmethod
    def list(*, app_id: Optional[str] = None, tags: Optional[dict] = None, client=None) -> Iterator["Sandbox"]:
        """The sandboxes alive on the server (those of the app `app_id`, when given)."""
        from ._http import loop
        from ._http.connection import named, server

        del tags, client
        target = server() if named() or _private_url is None else _target()
        listed = loop.blocking(_json("GET", ["v1", "sandboxes"], target))["sandboxes"]
        for info in listed:
            if app_id is None or info.get("app") == app_id:
                yield Sandbox(info["id"], target)

    @_Twins
    async def exec(self, *args: str, timeout: Optional[int] = None, workdir: Optional[str] = None,
                   env: Optional[dict] = None, secrets: Sequence = (), text: bool = True, bufsize: int = -1,
                   stdout=None, stderr=None, pty: bool = False, pty_info=None, _pty_info=None) -> ContainerProcess:
        """Starts `args` (`"python", "-c", code`, or a wasi:cli command) in the sandbox."""
        del bufsize, stdout, stderr, pty_info, _pty_info
        if pty:
            raise exception.InvalidError("a pseudo-terminal is not supported by fnhost's sandboxes")
        if not args or not all(isinstance(arg, str) for arg in args):
            raise exception.InvalidError("exec takes the program and its arguments, all strings")
        body: dict = {"args": list(args)}
        if timeout is not None:
            body["timeout"] = timeout
        if workdir is not None:
            body["workdir"] = workdir
        named, inline = _secrets(secrets)
        variables = {key: value for key, value in (env or {}).items() if value is not None}
        variables.update(inline)
        if variables:
            body["env"] = variables
        if named:
            body["secrets"] = named
        started = await _json("POST", ["v1", "sandboxes", self._id, "exec"], self._server,
                              body=json.dumps(body).encode(), expect=(201,))
        return ContainerProcess(self, started["pid"], text)

    async def _exit(self, timeout: Optional[float]) -> Optional[dict]:
        query = None if timeout is None else {"timeout": timeout}
        answer = await _json("POST", ["v1", "sandboxes", self._id, "wait"], self._server, query=query)
        if answer["exit"] is not None:
            self._result = answer["exit"]
        return answer["exit"]

    @_Twins
    async def wait(self, raise_on_termination: bool = True) -> None:
        """Waits for the sandbox to end: past its timeout (`SandboxTimeoutError`), terminated
        (`SandboxTerminatedError` unless `raise_on_termination=False`), or its entrypoint done."""
        while (exit := await self._exit(None)) is None:
            pass
        if exit["reason"] == "timeout":
            raise exception.SandboxTimeoutError(f"sandbox {self._id} ran past its timeout")
        if exit["reason"] == "terminated" and raise_on_termination:
            raise exception.SandboxTerminatedError(f"sandbox {self._id} was terminated")

    @_Twins
    async def poll(self) -> Optional[int]:
        """Its exit code if it ended, else `None`."""
        return _exit_code(await self._exit(0))

    @_Twins
    async def terminate(self, *, wait: bool = False) -> Optional[int]:
        """Ends the sandbox: its processes are killed and its files removed."""
        answer = await _json("DELETE", ["v1", "sandboxes", self._id], self._server)
        self._result = answer["exit"]
        return self.returncode if wait else None

    @property
    def returncode(self) -> Optional[int]:
        """Its exit code once it ended (124 past its timeout, 137 terminated), else `None`."""
        return _exit_code(self._result)

    def _entrypoint(self) -> ContainerProcess:
        if self._main is None:
            raise exception.InvalidError("this sandbox was made without a command: read its processes' streams")
        return self._main

    @property
    def stdout(self) -> _StreamReader:
        """The entrypoint's stdout (a sandbox made with a command)."""
        return self._entrypoint().stdout

    @property
    def stderr(self) -> _StreamReader:
        """The entrypoint's stderr."""
        return self._entrypoint().stderr

    @property
    def stdin(self) -> _StreamWriter:
        """The entrypoint's stdin."""
        return self._entrypoint().stdin


def _image_env(image) -> dict:
    if image is None:
        return {}
    if getattr(image, "_packages", ()):
        raise exception.InvalidError(
            "a sandbox's image with packages (pip_install) is not supported by fnhost yet: the "
            "sandbox's python has the standard library")
    return dict(getattr(image, "_env", {}))


def _secrets(secrets: Sequence) -> tuple:
    """The names of the host's secrets, and the variables of inline ones (`Secret.from_dict`)."""
    from ._phase import types

    named, inline = [], {}
    for secret in secrets or ():
        source = getattr(secret, "_source", None)
        if isinstance(source, types.SecretSource_Named):
            named.append(source.value)
        elif isinstance(source, types.SecretSource_Inline):
            inline.update(dict(source.value))
        else:
            raise exception.InvalidError(f"`secrets` holds fnhost.Secret values, not {type(secret).__name__}")
    return named, inline


def _volume_name(volume) -> str:
    name = getattr(volume, "_name", None)
    if not isinstance(name, str):
        raise exception.InvalidError(f"{volume!r} is not a named volume: give Volume.from_name(...)")
    return name
