"""Modal's `modal.queue` module: `from fnhost.queue import Queue` as Modal programs write it.
The same class as `fnhost.Queue`."""

from ._storage import Queue

__all__ = ["Queue"]
