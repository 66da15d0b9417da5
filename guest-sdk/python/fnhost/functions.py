"""Modal's `modal.functions` module: `from fnhost.functions import FunctionCall` as Modal
programs write it. The same classes as `fnhost.Function` and `fnhost.FunctionCall`."""

from ._function import Function, FunctionCall

#: `FunctionCall.gather` by its older name (Modal's `modal.functions.gather`).
gather = FunctionCall.gather

__all__ = ["Function", "FunctionCall", "gather"]
