"""Arguments and results on the wire, and host results turned into Python values.

The wire is the one every SDK uses: a call's arguments are a JSON array, one element per
parameter, and its result is the JSON value of what the body returned. Keyword arguments are
bound to positions here when the callee's signature is known (a function of this app); for a
callee known only by name they travel as `{"args": [...], "kwargs": {...}}`, which the host
binds to the callee's parameter names before the callee sees it.
"""

import inspect
import json
from typing import Any, Optional

from componentize_py_types import Err

from . import exception


def encode_args(signature: Optional[inspect.Signature], args: tuple, kwargs: dict) -> bytes:
    """The payload of a call with `args` and `kwargs`, for a callee with `signature`."""
    try:
        if not kwargs:
            # No arguments is the most common call: skip the encoder.
            return json.dumps(list(args)).encode() if args else b"[]"
        if signature is None:
            return json.dumps({"args": list(args), "kwargs": kwargs}).encode()
        return json.dumps(bind(signature, args, kwargs)).encode()
    except TypeError as error:
        raise exception.InvalidError(str(error)) from None
    except ValueError as error:
        raise exception.InvalidError(f"cannot encode the arguments: {error}") from None


def bind(signature: inspect.Signature, args: tuple, kwargs: dict) -> list:
    """`args` and `kwargs` as a list by position, up to the last parameter given; a parameter
    left out before it takes its default."""
    bound = signature.bind(*args, **kwargs)
    names = list(signature.parameters)
    given = [name for name in names if name in bound.arguments]
    last = names.index(given[-1]) if given else -1
    bound.apply_defaults()
    return [bound.arguments[name] for name in names[: last + 1]]


def decode_result(payload: bytes) -> Any:
    """The value a callee returned."""
    if payload == b"null":
        return None
    try:
        return json.loads(payload)
    except ValueError as error:
        raise exception.InvalidError(f"cannot decode the result: {error}") from None


def raising(error: Err) -> exception.Error:
    """The fnhost exception for a failed host call."""
    return exception.from_call_error(error.value)


def duration_nanos(seconds: Optional[float]) -> Optional[int]:
    """`seconds` in the host's nanoseconds (`None` stays `None`)."""
    if seconds is None:
        return None
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    return min(int(seconds * 1_000_000_000), 2**64 - 1)
