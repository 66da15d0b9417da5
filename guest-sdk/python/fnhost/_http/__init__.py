"""The contract's imports (`host`, `storage` and `types` of `wit/fnhost.wit`) served over a
running `fnhost serve`'s HTTP API (docs/server.md), for the SDK run by CPython.

A component calls its host through componentize-py's bindings; a script or a client run by
CPython has no host of its own, so `_phase` takes these instead, and `Function`, `Dict`,
`Queue` and `Volume` run unchanged over them: each call of an import is a request to the
server (or a few: a wait longer than the server holds one, a call with keyword arguments that
first reads the callee's parameters, `Dict.update`), made on the SDK's event loop (`loop.py`). What the HTTP API does not serve (generators, class methods, per-call options,
`Queue.iterate`) fails with an exception that says so.

Invariant: an import here never raises `Err`, which only the bindings raise: a failure is
the fnhost exception of the server's error kind, raised at once.
"""

from . import host, storage, types
from .host import deployed
from .types import Err

__all__ = ["Err", "deployed", "host", "storage", "types"]
