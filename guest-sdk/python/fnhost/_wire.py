"""Arguments, results and stored values on the wire, and host results turned into Python values.

The wire is the one every SDK uses: a call's arguments are a JSON array, one element per
parameter, and its result is the JSON value of what the body returned. Keyword arguments are
bound to positions here when the callee's signature is known (a function of this app); for a
callee known only by name they travel as `{"args": [...], "kwargs": {...}}`, which the host
binds to the callee's parameter names before the callee sees it. A call made from CPython goes
through a server's HTTP API, which takes every argument: there, a known signature's defaults
are filled in here.

Every value crosses through `encode_value` and `decode_value`: call arguments and results,
generator items, and the keys, values and items of `Dict` and `Queue`. A value JSON carries
(None, bools, numbers, strings, lists, dicts with string keys) is written as JSON; tuples are
written as lists, as JSON writes them, and read back as lists. Any other value (a `datetime`, a
`set`, an exception, a dataclass, any object) is pickled and written as the JSON object
`{"$fnhost.pickle": "<base64 of the pickle>", "type": "<module.qualname of its type>"}`, and
read back as the value by unpickling it. The member `$fnhost.pickle` is reserved: an object
holding it is always read as a pickle. Only Python readers can read such a value (a Rust
function sees the object; `type` tells it what the value was), and the reader needs the
value's class importable under the same name. Unpickling runs code chosen by the writer, as
Modal's cloudpickle does: it runs inside the reader's sandbox, with the reader's imports, so
read pickled values only from dicts, queues and functions of writers you trust.
"""

import base64
import inspect
import json
import pickle
from typing import Any, Optional

from . import exception
from ._phase import IN_COMPONENT, Err

#: The member that marks a pickled value (reserved: see the module's documentation).
PICKLE = "$fnhost.pickle"
_PICKLE_BYTES = PICKLE.encode()


def encode_value(value: Any) -> bytes:
    """`value` on the wire: its JSON, with what JSON cannot carry pickled. Raises `TypeError`
    for a value pickle cannot take either, `ValueError` for a circular one."""
    return json.dumps(value, default=_pickled).encode()


def decode_value(payload: bytes) -> Any:
    """The value `payload` holds, pickled values unpickled. Raises `ValueError` when it is
    not JSON, `exception.DeserializationError` when a pickled value cannot be read."""
    if payload == b"null":
        return None
    if _PICKLE_BYTES not in payload:
        # No pickled value in it: skip the hook, called for every object otherwise.
        return json.loads(payload)
    return json.loads(payload, object_hook=_unpickled)


def _pickled(value: Any) -> dict:
    """The JSON object standing for `value` (`json.dumps`'s `default` hook)."""
    kind = type(value)
    try:
        data = pickle.dumps(value)
    except Exception as error:
        raise TypeError(f"cannot encode a `{_type_name(kind)}`: neither JSON nor pickle takes it: {error}") from None
    return {PICKLE: base64.b64encode(data).decode(), "type": _type_name(kind)}


def _unpickled(value: dict) -> Any:
    """`value`, or the value it stands for when it is a pickled one (`json.loads`'s hook)."""
    if PICKLE not in value:
        return value
    kind = value.get("type", "a value")
    try:
        return pickle.loads(base64.b64decode(value[PICKLE], validate=True))
    except Exception as error:
        raise exception.DeserializationError(f"cannot unpickle `{kind}`: {type(error).__name__}: {error}") from None


def _type_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def encode_args(signature: Optional[inspect.Signature], args: tuple, kwargs: dict) -> bytes:
    """The payload of a call with `args` and `kwargs`, for a callee with `signature`."""
    try:
        if signature is not None and not IN_COMPONENT:
            return encode_value(bind(signature, args, kwargs, every=True))
        if not kwargs:
            # No arguments is the most common call: skip the encoder.
            return encode_value(list(args)) if args else b"[]"
        if signature is None:
            return encode_value({"args": list(args), "kwargs": kwargs})
        return encode_value(bind(signature, args, kwargs))
    except TypeError as error:
        raise exception.InvalidError(str(error)) from None
    except ValueError as error:
        raise exception.InvalidError(f"cannot encode the arguments: {error}") from None


def bind(signature: inspect.Signature, args: tuple, kwargs: dict, every: bool = False) -> list:
    """`args` and `kwargs` as a list by position, up to the last parameter given (or, with
    `every`, to the last parameter); a parameter left out before it takes its default."""
    bound = signature.bind(*args, **kwargs)
    names = list(signature.parameters)
    given = [name for name in names if every or name in bound.arguments]
    last = names.index(given[-1]) if given else -1
    bound.apply_defaults()
    return [bound.arguments[name] for name in names[: last + 1]]


def decode_result(payload: bytes) -> Any:
    """The value a callee returned."""
    try:
        return decode_value(payload)
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
