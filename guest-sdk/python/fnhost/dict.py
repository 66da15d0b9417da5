"""Modal's `modal.dict` module: `from fnhost.dict import Dict` as Modal programs write it. The
same class as `fnhost.Dict`."""

from ._storage import Dict

__all__ = ["Dict"]
