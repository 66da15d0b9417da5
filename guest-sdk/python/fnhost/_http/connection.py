"""The server the SDK talks to in CPython, and HTTP/1.1 requests to it.

The server is the one `app.run()` started for its run (`serving`), else `FNHOST_URL` (else
`http://127.0.0.1:7420`, the `fnhost` command's default), with the token `FNHOST_TOKEN`.
Requests are written on asyncio streams, one connection each (`Connection: close`), with the
standard library only; they run on the SDK's loop (`loop.py`).

Invariant: every request goes to a path under the base URL made of percent-encoded segments
(a name never reaches another path) and carries the token when one is set; it comes back as
an answer with a status the caller expects, or raises: the fnhost exception of the server's
error kind (`{"error": {"kind", "message"}}`), `ConnectionError` when the server cannot be
reached or goes away mid-answer.
"""

import asyncio
import contextlib
import dataclasses
import json
import os
import ssl
import urllib.parse
from typing import AsyncIterator, Callable, Iterator, Optional, Sequence

from .. import exception

#: The server when neither `app.run()` nor `FNHOST_URL` names one (the `fnhost` command's).
DEFAULT_URL = "http://127.0.0.1:7420"

#: The longest line of an answer's head, and of a streamed answer (a log event).
_LINE_LIMIT = 1 << 24


@dataclasses.dataclass(frozen=True)
class Server:
    """A server's base URL and token."""

    url: str
    token: Optional[str] = None


#: The servers `app.run()` started, innermost last.
_serving: list = []


def server() -> Server:
    """The server requests go to now."""
    if _serving:
        return _serving[-1]
    return Server(os.environ.get("FNHOST_URL") or DEFAULT_URL, os.environ.get("FNHOST_TOKEN") or None)


def named() -> bool:
    """Whether a server is named: one `app.run()` started, or `FNHOST_URL`."""
    return bool(_serving or os.environ.get("FNHOST_URL"))


@contextlib.contextmanager
def serving(url: str, token: Optional[str]) -> Iterator[None]:
    """Sends requests to the server at `url` while the block runs."""
    _serving.append(Server(url, token))
    try:
        yield
    finally:
        _serving.pop()


class Answer:
    """A server's answer: its status, its headers (lower-case names), and its body, read as it
    comes. Close it when done (`async with`)."""

    def __init__(self, status: int, headers: dict, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.status = status
        self.headers = headers
        self._reader = reader
        self._writer = writer

    async def __aenter__(self) -> "Answer":
        return self

    async def __aexit__(self, *_exc_info) -> None:
        self._writer.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive."""
        reader = self._reader
        if "chunked" in self.headers.get("transfer-encoding", ""):
            while size := int((await reader.readline()).split(b";")[0], 16):
                yield await reader.readexactly(size)
                await reader.readexactly(2)
        elif "content-length" in self.headers:
            yield await reader.readexactly(int(self.headers["content-length"]))
        else:
            while data := await reader.read(1 << 16):
                yield data

    async def body(self) -> bytes:
        """The whole body."""
        return b"".join([chunk async for chunk in self.chunks()])

    async def lines(self) -> AsyncIterator[bytes]:
        """The body's lines as they arrive, without their newlines (NDJSON)."""
        pending = b""
        async for chunk in self.chunks():
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                yield line
        if pending:
            yield pending


async def send(
    method: str,
    path: Sequence[str],
    *,
    query: Optional[dict] = None,
    body: bytes = b"",
    expect: Sequence[int] = (200,),
    raising: Callable[[str, str], Exception] = exception.from_api_error,
    target: Optional[Server] = None,
) -> Answer:
    """Sends a request for the path made of `path`'s segments (with a JSON `body`) to `target`
    (else the current server) and returns the answer, its head read; an answer whose status is
    not one of `expect` raises its error (`raising` makes the exception of a kind and message)."""
    target = target or server()
    try:
        answer = await _exchange(target, method, path, query, body)
    except (OSError, asyncio.IncompleteReadError, ValueError) as error:
        raise exception.ConnectionError(
            f"cannot reach the fnhost server at {target.url}: {error or type(error).__name__} (start one "
            "with `fnhost serve` and set FNHOST_URL, or run the app inside `with app.run():`)"
        ) from None
    if answer.status in expect:
        return answer
    async with answer:
        raise _error(answer.status, await answer.body(), raising)


async def fetch(method: str, path: Sequence[str], **options) -> tuple:
    """`send`, with the whole body read: `(status, body)`."""
    async with await send(method, path, **options) as answer:
        try:
            return answer.status, await answer.body()
        except (OSError, asyncio.IncompleteReadError) as error:
            raise exception.ConnectionError(f"the fnhost server went away mid-answer: {error}") from None


async def fetch_json(method: str, path: Sequence[str], **options):
    """`fetch`, with the body read as JSON (`None` for an empty one)."""
    _, body = await fetch(method, path, **options)
    return json.loads(body) if body else None


async def _exchange(target: Server, method: str, path: Sequence[str], query: Optional[dict], body: bytes) -> Answer:
    url = urllib.parse.urlsplit(target.url if "://" in target.url else f"http://{target.url}")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"`{target.url}` is not an http:// URL")
    request = _request(url, target.token, method, path, query, body)
    secure = url.scheme == "https"
    reader, writer = await asyncio.open_connection(
        url.hostname, url.port or (443 if secure else 80), ssl=ssl.create_default_context() if secure else None,
        limit=_LINE_LIMIT)
    try:
        writer.write(request)
        await writer.drain()
        status = int((await reader.readuntil(b"\r\n")).split()[1])
        headers = {}
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return Answer(status, headers, reader, writer)
    except BaseException:
        writer.close()
        raise


def _request(url: urllib.parse.SplitResult, token: Optional[str], method: str, path: Sequence[str],
             query: Optional[dict], body: bytes) -> bytes:
    """The request's bytes: its head, then `body`."""
    target = url.path.rstrip("/") + "/" + "/".join(urllib.parse.quote(segment, safe="") for segment in path)
    if query:
        target += "?" + urllib.parse.urlencode(query)
    head = [f"{method} {target} HTTP/1.1", f"Host: {url.netloc}", "Connection: close", f"Content-Length: {len(body)}"]
    if body:
        head.append("Content-Type: application/json")
    if token:
        head.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _error(status: int, body: bytes, raising: Callable[[str, str], Exception]) -> Exception:
    """The exception for an error answer."""
    try:
        error = json.loads(body)["error"]
        return raising(error["kind"], error["message"])
    except (ValueError, KeyError, TypeError):
        text = body.decode(errors="replace")[:200]
        return exception.Error(f"unexpected answer from the fnhost server: HTTP {status}: {text}")


def unserved(what: str) -> NotImplementedError:
    """The error for something a component does that the HTTP API does not serve yet."""
    return NotImplementedError(f"{what} is not served over fnhost's HTTP API yet (only inside a component)")
