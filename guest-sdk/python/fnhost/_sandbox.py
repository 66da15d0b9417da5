"""Sandboxes (Modal's `modal.Sandbox`): isolated containers made on demand to run code nobody
reviewed (docs/sandboxes.md).

`Sandbox.create(...)` makes one; `sb.exec("python", "-c", code)` starts a process whose
`stdout` and `stderr` are read whole (`read()`) or line by line as the process writes them
(`for line in p.stdout`), and whose `stdin` takes `write`, `drain` and `write_eof`. Every
blocking method has its `.aio` twin. Inside a component the host's `sandboxes` imports serve
them (a blocking form holds the instance, as a blocking call does; `.aio` only the task); from
a script run by CPython, a server's HTTP API does: the one `FNHOST_URL` names, else a private
`fnhost serve` started for the script and stopped at its exit, its sandboxes with it.

Invariant: a stream reader keeps its undelivered bytes (and, over HTTP, its one open answer),
so successive reads and iterators (`next(iter(p.stdout))` once per answer, as Modal's code
interpreter reads) continue where the last stopped and never lose or repeat a byte.
"""

import atexit
import codecs
import contextlib
import json
from typing import Any, AsyncIterator, Callable, Iterator, Optional, Sequence

from . import exception
from ._phase import IN_COMPONENT, Err, require_host, sandboxes, types

#: Modal's default sandbox lifetime, in seconds.
DEFAULT_TIMEOUT = 300

#: The most bytes one read of a process's output asks the host for.
_PIECE = 1 << 16

#: Modal's `Sandbox.create` arguments fnhost does not have (no GPUs, regions, ports or
#: tunnels; a sandbox has no network).
_UNSUPPORTED = ("gpu", "cloud", "region", "encrypted_ports", "h2_ports", "unencrypted_ports",
                "custom_domain", "proxy", "outbound_cidr_allowlist", "outbound_domain_allowlist",
                "inbound_cidr_allowlist", "cidr_allowlist", "network_file_systems", "pty",
                "readiness_probe", "experimental_options", "include_oidc_identity_token")


def _run_now(coroutine) -> Any:
    """A coroutine that never waits on anything (a component's blocking imports), run here."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a blocking sandbox call waited on the event loop")


class _Twin:
    """A blocking method with its async twin as `.aio` (Modal's `sb.exec` / `sb.exec.aio`):
    both run `coroutine`, told by `_aio` which imports to use inside a component."""

    def __init__(self, coroutine: Callable) -> None:
        self._coroutine = coroutine
        self.__doc__ = coroutine.__doc__

    def __call__(self, *args, **kwargs):
        if IN_COMPONENT:
            return _run_now(self._coroutine(*args, _aio=False, **kwargs))
        from ._http import loop

        return loop.blocking(self._coroutine(*args, _aio=False, **kwargs))

    def aio(self, *args, **kwargs):
        if IN_COMPONENT:
            return self._coroutine(*args, _aio=True, **kwargs)
        from ._http import loop

        return loop.aio(self._coroutine(*args, _aio=True, **kwargs))


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


async def _imported(aio: bool, resource, name: str, *args):
    """The host's `name` on `resource`: its `-async` form when `aio`."""
    if aio:
        return await getattr(resource, f"{name}_async")(*args)
    return getattr(resource, name)(*args)


def _raised(error: "Err") -> Exception:
    """The exception of a sandbox import's `call-error`."""
    from ._wire import raising

    return raising(error)


# --- over HTTP (CPython) ---------------------------------------------------------------------

_private: Optional[contextlib.ExitStack] = None
_private_url: Optional[str] = None


def _server():
    """The server sandboxes are made on: the one named, else a private one started now."""
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


def _found_server():
    """The server a sandbox is looked up on: the named one, or the private one if started."""
    from ._http.connection import Server, named, server

    return server() if named() or _private_url is None else Server(_private_url)


async def _json(method: str, path: Sequence[str], target, **options) -> Any:
    from ._http.connection import fetch_json

    return await fetch_json(method, path, target=target, **options)


class _HttpSandbox:
    """A sandbox on a server: its id and the server."""

    def __init__(self, object_id: str, server) -> None:
        self.id = object_id
        self.server = server

    @staticmethod
    async def create(options: dict) -> "_HttpSandbox":
        server = _server()
        body = dict(options)
        body["secrets"] = [source.value for source in options["secrets"] if isinstance(source, types.SecretSource_Named)]
        for source in options["secrets"]:
            if isinstance(source, types.SecretSource_Inline):
                body["env"] = {**body["env"], **dict(source.value)}
        body["volumes"] = {mount.path: mount.volume for mount in options["volumes"]}
        body = {key: value for key, value in body.items() if value not in (None, [], {})}
        made = await _json("POST", ["v1", "sandboxes"], server, body=json.dumps(body).encode(), expect=(201,))
        return _HttpSandbox(made["id"], server)

    async def exec(self, args: list, options: dict, aio: bool) -> "_HttpProcess":
        body = {"args": args, **{key: value for key, value in options.items() if value not in (None, [], {})}}
        body["secrets"] = [source.value for source in options["secrets"] if isinstance(source, types.SecretSource_Named)]
        for source in options["secrets"]:
            if isinstance(source, types.SecretSource_Inline):
                body["env"] = {**body.get("env", {}), **dict(source.value)}
        started = await _json("POST", ["v1", "sandboxes", self.id, "exec"], self.server,
                              body=json.dumps(body).encode(), expect=(201,))
        return _HttpProcess(self, started["pid"])

    async def wait(self, timeout: Optional[float], aio: bool) -> Optional[dict]:
        query = None if timeout is None else {"timeout": timeout}
        answer = await _json("POST", ["v1", "sandboxes", self.id, "wait"], self.server, query=query)
        return answer["exit"]

    async def terminate(self, aio: bool) -> None:
        await _json("DELETE", ["v1", "sandboxes", self.id], self.server)


class _HttpProcess:
    """A process of a sandbox on a server."""

    def __init__(self, sandbox: _HttpSandbox, pid: int) -> None:
        self.sandbox = sandbox
        self.pid = pid
        self._answers: dict = {}

    def _path(self, last: str) -> list:
        return ["v1", "sandboxes", self.sandbox.id, "processes", str(self.pid), last]

    async def write(self, data: bytes, eof: bool, aio: bool) -> bool:
        from ._http.connection import fetch

        await fetch("POST", self._path("stdin"), body=data, query={"eof": "true"} if eof else None,
                    expect=(204,), target=self.sandbox.server)
        return True

    async def read(self, stderr: bool, aio: bool) -> Optional[bytes]:
        """The next piece of the output, from the one answer kept open for it."""
        from ._http.connection import send

        which = "stderr" if stderr else "stdout"
        if which not in self._answers:
            answer = await send("GET", self._path(which), target=self.sandbox.server)
            self._answers[which] = (answer, answer.chunks().__aiter__())
        answer, chunks = self._answers[which]
        try:
            return await chunks.__anext__()
        except StopAsyncIteration:
            await answer.__aexit__(None, None, None)
            return None

    async def wait(self, timeout: Optional[float], aio: bool) -> Optional[dict]:
        query = None if timeout is None else {"timeout": timeout}
        return (await _json("POST", self._path("wait"), self.sandbox.server, query=query))["exit"]


# --- through the host's imports (a component) -----------------------------------------------

def _millis(seconds: Optional[float]) -> Optional[int]:
    return None if seconds is None else int(seconds * 1000)


def _exit_of(exit) -> Optional[dict]:
    if exit is None:
        return None
    return {"code": exit.code, "reason": exit.reason, "message": exit.message}


class _GuestSandbox:
    """A sandbox of the host that runs this component."""

    def __init__(self, resource) -> None:
        self.resource = resource
        self.id = resource.id()

    @staticmethod
    async def create(options: dict) -> "_GuestSandbox":
        require_host()
        wit = sandboxes.SandboxOptions(
            app=options["app"], command=options["command"], timeout_ms=_millis(options["timeout"]),
            idle_timeout_ms=_millis(options["idle_timeout"]), workdir=options["workdir"],
            env=list(options["env"].items()), secrets=options["secrets"], volumes=options["volumes"],
            millicores=None if options["cpu"] is None else int(options["cpu"] * 1000),
            memory_mib=options["memory"], cpu_time_ms=_millis(options["cpu_time"]),
            packages=options["packages"])
        try:
            return _GuestSandbox(sandboxes.Sandbox.create(wit))
        except Err as error:
            raise _raised(error) from None

    async def exec(self, args: list, options: dict, aio: bool) -> "_GuestProcess":
        wit = sandboxes.ExecOptions(timeout_ms=_millis(options["timeout"]), workdir=options["workdir"],
                                    env=list(options["env"].items()), secrets=options["secrets"])
        try:
            return _GuestProcess(self.resource.exec(args, wit))
        except Err as error:
            raise _raised(error) from None

    async def wait(self, timeout: Optional[float], aio: bool) -> Optional[dict]:
        return _exit_of(await _imported(aio, self.resource, "wait", _millis(timeout)))

    async def terminate(self, aio: bool) -> None:
        self.resource.terminate()


class _GuestProcess:
    """A process of a sandbox of this component's host."""

    def __init__(self, resource) -> None:
        self.resource = resource
        self.pid = resource.pid()

    async def write(self, data: bytes, eof: bool, aio: bool) -> bool:
        written = True
        if data:
            written = await _imported(aio, self.resource, "write_stdin", data)
        if eof:
            self.resource.close_stdin()
        return written

    async def read(self, stderr: bool, aio: bool) -> Optional[bytes]:
        return await _imported(aio, self.resource, "read", stderr, _PIECE)

    async def wait(self, timeout: Optional[float], aio: bool) -> Optional[dict]:
        return _exit_of(await _imported(aio, self.resource, "wait", _millis(timeout)))


# --- Modal's surface ---------------------------------------------------------------------------

def _exit_code(exit: Optional[dict]) -> Optional[int]:
    return None if exit is None else exit["code"]


class _StreamReader:
    """A process's stdout or stderr: `read()` it whole, or iterate its lines (`for line in`,
    `async for line in`) as the process writes them; text unless the process was made with
    `text=False`."""

    def __init__(self, process: "ContainerProcess", stderr: bool, text: bool) -> None:
        self._process = process
        self._stderr = stderr
        self._text = text
        self._pending = "" if text else b""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._ended = False
        self.read = _Twin(self._read)

    async def _piece(self, aio: bool) -> bool:
        """Takes the next piece the process wrote into the pending text; `False` at the end."""
        if self._ended:
            return False
        piece = await self._process._backend.read(self._stderr, aio)
        if piece is None:
            self._ended = True
            if self._text:
                self._pending += self._decoder.decode(b"", final=True)
            return False
        self._pending += self._decoder.decode(piece) if self._text else piece
        return True

    async def _read(self, _aio: bool):
        """Everything left, until the process's end."""
        while await self._piece(_aio):
            pass
        rest, self._pending = self._pending, self._pending[:0]
        return rest

    async def _next_line(self, _aio: bool):
        newline = "\n" if self._text else b"\n"
        while newline not in self._pending:
            if not await self._piece(_aio):
                if not self._pending:
                    return None
                line, self._pending = self._pending, self._pending[:0]
                return line
        line, _, self._pending = self._pending.partition(newline)
        return line + newline

    def __iter__(self) -> Iterator:
        next_line = _Twin(self._next_line)
        while (line := next_line()) is not None:
            yield line

    async def __aiter__(self) -> AsyncIterator:
        next_line = _Twin(self._next_line)
        while (line := await next_line.aio()) is not None:
            yield line


class _StreamWriter:
    """A process's stdin: `write` buffers, `drain` sends what is buffered, `write_eof` closes
    it (after what is buffered)."""

    def __init__(self, process: "ContainerProcess") -> None:
        self._process = process
        self._buffer = bytearray()
        self._eof = False
        self._closed = False
        self.drain = _Twin(self._drain)

    def write(self, data) -> None:
        if self._eof:
            raise ValueError("stdin is closed: write_eof() was called")
        self._buffer += data.encode() if isinstance(data, str) else bytes(data)

    def write_eof(self) -> None:
        self._eof = True

    async def _drain(self, _aio: bool) -> None:
        """Sends what `write` buffered (and the end, after `write_eof`)."""
        data, self._buffer = bytes(self._buffer), bytearray()
        eof = self._eof and not self._closed
        if not data and not eof:
            return
        self._closed = self._closed or eof
        if not await self._process._backend.write(data, eof, _aio):
            raise BrokenPipeError("the process's stdin is closed (or it ended)")


class ContainerProcess:
    """A process of a sandbox (Modal's `ContainerProcess`)."""

    def __init__(self, backend, text: bool = True) -> None:
        self._backend = backend
        self._returncode: Optional[int] = None
        self.stdout = _StreamReader(self, False, text)
        self.stderr = _StreamReader(self, True, text)
        self.stdin = _StreamWriter(self)

    def __repr__(self) -> str:
        return f"ContainerProcess(pid={self._backend.pid})"

    @property
    def returncode(self) -> int:
        """Its exit code, once `wait()` (or a `poll()`) saw it end."""
        if self._returncode is None:
            raise exception.InvalidError("the process's returncode is known once wait() or poll() saw it end")
        return self._returncode

    async def _exit(self, timeout: Optional[float], aio: bool) -> Optional[int]:
        code = _exit_code(await self._backend.wait(timeout, aio))
        if code is not None:
            self._returncode = code
        return code

    @_Twins
    async def wait(self, _aio: bool) -> int:
        """Waits for the process to end; its exit code."""
        while (code := await self._exit(None, _aio)) is None:
            pass
        return code

    @_Twins
    async def poll(self, _aio: bool) -> Optional[int]:
        """Its exit code if it ended, else `None`."""
        return await self._exit(0, _aio)


class Sandbox:
    """A sandbox (Modal's `modal.Sandbox`): make one with `Sandbox.create`, find one with
    `Sandbox.from_id`."""

    def __init__(self, backend, entrypoint: bool = False) -> None:
        self._backend = backend
        self._result: Optional[dict] = None
        self._main = None
        if entrypoint:
            process = (_HttpProcess(backend, 1) if isinstance(backend, _HttpSandbox)
                       else _GuestProcess(backend.resource.process(1)))  # The entrypoint is process 1.
            self._main = ContainerProcess(process)

    def __repr__(self) -> str:
        return f"Sandbox({self.object_id!r})"

    @property
    def object_id(self) -> str:
        """Its id, `sb-` and 32 hexadecimal digits: `Sandbox.from_id` finds it elsewhere."""
        return self._backend.id

    @staticmethod
    async def _create(*args: str, app=None, name: Optional[str] = None, image=None,
                      env: Optional[dict] = None, secrets: Sequence = (), volumes: Optional[dict] = None,
                      timeout: int = DEFAULT_TIMEOUT, idle_timeout: Optional[int] = None,
                      workdir: Optional[str] = None, cpu=None, memory=None, block_network: bool = False,
                      cpu_time: Optional[float] = None, verbose: bool = False, client=None,
                      environment_name: Optional[str] = None, tags: Optional[dict] = None,
                      _aio: bool = False, **unsupported) -> "Sandbox":
        """Makes a sandbox (Modal's arguments; docs/sandboxes.md says what each does here)."""
        del block_network, verbose, client, environment_name  # A sandbox has no network anyway.
        given = sorted(key for key, value in unsupported.items() if value not in (None, False, [], {}, ()))
        if given:
            raise exception.InvalidError(
                f"Sandbox.create({', '.join(given)}=...) is not supported by fnhost: a sandbox runs "
                "WebAssembly on this host, with no network, ports or GPUs")
        if name is not None or tags:
            raise exception.InvalidError("named and tagged sandboxes are not supported by fnhost yet")
        if not all(isinstance(arg, str) for arg in args):
            raise exception.InvalidError("a sandbox's command is strings")
        from ._secret import sources
        from ._volume import mounts

        variables, packages = _image(image)
        variables.update({key: value for key, value in (env or {}).items() if value is not None})
        options = {
            "app": None if app is None else (getattr(app, "name", None) or str(app)),
            "command": list(args),
            "timeout": timeout,
            "idle_timeout": idle_timeout,
            "workdir": workdir,
            "env": variables,
            "secrets": sources(list(secrets or ())),
            "volumes": mounts(volumes or {}),
            "cpu": cpu[1] if isinstance(cpu, tuple) else cpu,
            "memory": memory[1] if isinstance(memory, tuple) else memory,
            "cpu_time": cpu_time,
            "packages": packages,
        }
        backend = await (_GuestSandbox if IN_COMPONENT else _HttpSandbox).create(options)
        return Sandbox(backend, entrypoint=bool(args))

    create = _Twin(_create)

    @staticmethod
    def from_id(sandbox_id: str, client=None) -> "Sandbox":
        """The sandbox `sandbox_id` (`NotFoundError` when the host has none)."""
        del client
        if IN_COMPONENT:
            require_host()
            try:
                return Sandbox(_GuestSandbox(sandboxes.Sandbox.from_id(sandbox_id)))
            except Err as error:
                raise _raised(error) from None
        from ._http import loop

        target = _found_server()
        info = loop.blocking(_json("GET", ["v1", "sandboxes", sandbox_id], target))
        sandbox = Sandbox(_HttpSandbox(info["id"], target))
        sandbox._result = info.get("exit")
        return sandbox

    @staticmethod
    def list(*, app_id: Optional[str] = None, tags: Optional[dict] = None, client=None) -> Iterator["Sandbox"]:
        """The sandboxes alive on the server (those of the app `app_id`, when given)."""
        del tags, client
        if IN_COMPONENT:
            raise NotImplementedError("Sandbox.list is served over the HTTP API (a script), not in a function")
        from ._http import loop

        target = _found_server()
        for info in loop.blocking(_json("GET", ["v1", "sandboxes"], target))["sandboxes"]:
            if app_id is None or info.get("app") == app_id:
                yield Sandbox(_HttpSandbox(info["id"], target))

    @_Twins
    async def exec(self, *args: str, timeout: Optional[int] = None, workdir: Optional[str] = None,
                   env: Optional[dict] = None, secrets: Sequence = (), text: bool = True, bufsize: int = -1,
                   stdout=None, stderr=None, pty: bool = False, pty_info=None, _pty_info=None,
                   _aio: bool = False) -> ContainerProcess:
        """Starts `args` (`"python", "-c", code`, or a wasi:cli command) in the sandbox."""
        del bufsize  # Output is delivered as the process writes it, line-buffered or not.
        from ._secret import sources

        if pty or pty_info is not None or _pty_info is not None:
            raise exception.InvalidError("a pseudo-terminal is not supported by fnhost's sandboxes")
        if stdout is not None or stderr is not None:
            raise exception.InvalidError(
                "exec's stdout= and stderr= (StreamType) are not supported by fnhost: both are pipes, "
                "read from the process")
        if not args or not all(isinstance(arg, str) for arg in args):
            raise exception.InvalidError("exec takes the program and its arguments, all strings")
        options = {
            "timeout": timeout,
            "workdir": workdir,
            "env": {key: value for key, value in (env or {}).items() if value is not None},
            "secrets": sources(list(secrets or ())),
        }
        return ContainerProcess(await self._backend.exec(list(args), options, _aio), text)

    async def _exit(self, timeout: Optional[float], aio: bool) -> Optional[dict]:
        exit = await self._backend.wait(timeout, aio)
        if exit is not None:
            self._result = exit
        return exit

    @_Twins
    async def wait(self, raise_on_termination: bool = True, _aio: bool = False) -> None:
        """Waits for the sandbox to end: past its timeout (`SandboxTimeoutError`), terminated
        (`SandboxTerminatedError` unless `raise_on_termination=False`), or its entrypoint done."""
        while (exit := await self._exit(None, _aio)) is None:
            pass
        if exit["reason"] == "timeout":
            raise exception.SandboxTimeoutError(f"sandbox {self.object_id} ran past its timeout")
        if exit["reason"] == "terminated" and raise_on_termination:
            raise exception.SandboxTerminatedError(f"sandbox {self.object_id} was terminated")

    @_Twins
    async def poll(self, _aio: bool) -> Optional[int]:
        """Its exit code if it ended, else `None`."""
        return _exit_code(await self._exit(0, _aio))

    @_Twins
    async def terminate(self, *, wait: bool = False, _aio: bool = False) -> Optional[int]:
        """Ends the sandbox: its processes are killed and its files removed."""
        await self._backend.terminate(_aio)
        await self._exit(0, _aio)
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


def _image(image) -> tuple:
    """A sandbox's image's variables and packages (`Image.env`, `Image.pip_install`)."""
    if image is None:
        return {}, []
    return dict(getattr(image, "_env", {})), list(getattr(image, "_packages", ()))
