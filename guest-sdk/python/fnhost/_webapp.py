"""Web endpoints' bodies: Modal's `asgi_app` and `wsgi_app` (a web framework's app served by
a function), and a `fastapi_endpoint`'s pydantic-model parameters and its result, read and
made JSON as FastAPI does.

The decorated body takes no arguments and returns the app (a Starlette or FastAPI app for
ASGI, a Flask or Bottle app for WSGI). The host gives such an endpoint every request under
`/web/{app}/{label}` whole, as the function's one argument (the contract's `web-form.request`:
method, path under the label, raw query, headers, base64 body, and `root`, the prefix the app
is mounted at); this module builds the app once per container, hands it the request as its
protocol spells one (an ASGI scope with `receive`/`send`, a WSGI environ with
`start_response`), gathers what it answers, and returns it as a web response
(`{"fnhost:web-response": {status, headers, body}}`).

What differs from a server: the request body arrives whole and the response is gathered
whole before it is sent (a streamed response is sent once it ends), and ASGI lifespan events
are not sent (an app's startup code belongs in its factory, or in a class's `@enter`).
"""

import asyncio
import base64
import dataclasses
import datetime
import decimal
import enum
import functools
import inspect
import io
import sys
import uuid
from typing import Any, Callable
from urllib.parse import unquote

#: The key of a result that is a web response.
RESPONSE_KEY = "fnhost:web-response"


def request_body(factory: Callable[[], Any], protocol: str) -> Callable:
    """The body that serves whole requests with the app `factory` returns (built at the first
    request of the container), speaking `protocol` (`asgi` or `wsgi`)."""
    built = []

    def app() -> Any:
        if not built:
            built.append(factory())
        return built[0]

    if protocol == "asgi":

        async def serve(request: dict) -> dict:
            return await serve_asgi(app(), request)

    else:

        def serve(request: dict) -> dict:
            return serve_wsgi(app(), request)

    serve.__name__ = factory.__name__
    serve.__qualname__ = getattr(factory, "__qualname__", factory.__name__)
    serve.__doc__ = factory.__doc__
    return serve


def answering_json(body: Callable) -> Callable:
    """The body of a `fastapi_endpoint`: `body`, its result made JSON as FastAPI's
    `jsonable_encoder` makes it (see `jsonable`), for every caller. A generator's items are
    left as they are."""
    if inspect.isgeneratorfunction(body) or inspect.isasyncgenfunction(body):
        return body
    if inspect.iscoroutinefunction(body):

        async def endpoint(*args, **kwargs):
            return jsonable(await body(*args, **kwargs))

    else:

        def endpoint(*args, **kwargs):
            return jsonable(body(*args, **kwargs))

    return functools.wraps(body)(endpoint)


def body_models(body: Callable) -> dict:
    """The parameters of `body` typed as a pydantic model, by name: FastAPI reads each from
    the request's JSON body (the whole body when it is the only one)."""
    try:
        signature = inspect.signature(body, eval_str=True)
    except Exception:  # an annotation that names nothing importable: FastAPI would fail too
        signature = inspect.signature(body)
    return {name: param.annotation for name, param in signature.parameters.items() if is_model(param.annotation)}


def is_model(kind: Any) -> bool:
    """Whether `kind` is a pydantic model class (pydantic 1 or 2; never imported here)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(kind, type) and issubclass(kind, pydantic.BaseModel)


def validated(model: type, value: Any) -> Any:
    """`value` as an instance of the pydantic `model`, as FastAPI validates a body; raises
    `ValueError` (pydantic's `ValidationError`) saying what does not fit."""
    if isinstance(value, model):
        return value
    return model.model_validate(value) if hasattr(model, "model_validate") else model.parse_obj(value)


def jsonable(value: Any) -> Any:
    """`value` as JSON values, as FastAPI answers a result: dates and times in ISO 8601, a
    UUID or `Decimal` as a string (a whole `Decimal` as an int), an enum as its value, a
    dataclass, a pydantic model or a `__dict__`-less mapping as an object, a set or tuple as a list, bytes
    decoded as UTF-8. A web response is left as it is."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(jsonable(key)): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if is_model(type(value)):
        return jsonable(value.model_dump(mode="json") if hasattr(value, "model_dump") else value.dict())
    raise TypeError(f"a web endpoint's result must be JSON: `{type(value).__name__}` is not")


def response(status: int, headers: list, body: bytes) -> dict:
    """A web response: the host answers with it as it is."""
    return {RESPONSE_KEY: {"status": status, "headers": headers, "body": base64.b64encode(body).decode()}}


async def serve_asgi(app: Any, request: dict) -> dict:
    """Runs the ASGI `app` on `request` and returns its response."""
    body = base64.b64decode(request["body"])
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request["method"],
        "scheme": "http",
        # As servers do since ASGI's clarification: `path` holds `root_path`.
        "path": request["root"] + unquote(request["path"]),
        "raw_path": (request["root"] + request["path"]).encode("latin-1"),
        "root_path": request["root"],
        "query_string": request["query"].encode("latin-1"),
        "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in request["headers"]],
        "client": None,
        "server": None,
        "state": {},
    }
    answered = asyncio.Event()
    unread = [body]
    start: dict = {}
    parts: list = []

    async def receive() -> dict:
        if unread:
            return {"type": "http.request", "body": unread.pop(), "more_body": False}
        # The client stays until the response is whole: then it has gone.
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            parts.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                answered.set()

    try:
        await app(scope, receive, send)
    finally:
        answered.set()
    if not start:
        raise RuntimeError("the ASGI app returned without starting a response")
    headers = [[bytes(name).decode("latin-1"), bytes(value).decode("latin-1")] for name, value in start.get("headers", [])]
    return response(start["status"], headers, b"".join(parts))


def serve_wsgi(app: Any, request: dict) -> dict:
    """Runs the WSGI `app` on `request` (PEP 3333) and returns its response."""
    body = base64.b64decode(request["body"])
    environ = {
        "REQUEST_METHOD": request["method"],
        "SCRIPT_NAME": request["root"],
        "PATH_INFO": unquote(request["path"], encoding="latin-1"),
        "QUERY_STRING": request["query"],
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in request["headers"]:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        elif key == "HOST":
            environ["HTTP_HOST"] = value
            environ["SERVER_NAME"], _, port = value.partition(":")
            environ["SERVER_PORT"] = port or "80"
        else:
            # Repeated headers are joined, as a server does.
            header = "HTTP_" + key
            environ[header] = f"{environ[header]},{value}" if header in environ else value
    # The body arrived whole, however it was sent: its length is known.
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    started: list = []
    written: list = []

    def start_response(status: str, headers: list, exc_info=None) -> Callable:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return written.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            written.append(chunk)
    finally:
        if hasattr(result, "close"):
            result.close()
    if not started:
        raise RuntimeError("the WSGI app returned without calling start_response")
    status, headers = started
    return response(int(status.split(" ", 1)[0]), [[name, value] for name, value in headers], b"".join(written))
