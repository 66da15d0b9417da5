"""The errors of fnhost calls and storage, as Python exception classes (Modal's
`modal.exception`).

Every call that fails raises one of these; `Error` is the base of them all, so
`except fnhost.exception.Error` catches any failure of a call. Each class matches one
`call-error` case of the contract (`wit/fnhost.wit`), and `from_call_error` is the one
place that maps them. A `Dict` or `Queue` operation that fails raises the class of its
`storage-error` case, mapped by `from_storage_error`: `NotFoundError`, `InvalidError`,
`RequestSizeError`, `ServiceError`, and the standard library's `queue.Full` for a full
queue (as Modal raises it). In CPython the same failures come as a server's HTTP API answers
them (`{"error": {"kind", "message"}}`), mapped to the same classes by `from_api_error` and
`from_api_storage_error`; the client's own failures are `ConnectionError`, `AuthError` and
`ExecutionError`.
"""

import builtins
import queue
import sys
import traceback


class Error(Exception):
    """Base class of every error a call to another function raises."""


class NotFoundError(Error):
    """No function of that name is part of the app (or no call, dict or queue has that id, or
    no dict or queue has that name)."""


class InvalidError(Error):
    """The arguments did not fit the function's parameters, or could not be encoded; or a
    name, partition, key or argument of a `Dict` or `Queue` operation the host refused."""


#: What follows a Python body's `Type: message` in a `user` error: its formatted traceback.
TRACEBACK_MARK = "\n\nRemote traceback:\n"
#: The most of a traceback a `user` error carries (its end, where the exception was raised).
MAX_TRACEBACK = 16 * 1024


def user_message(error: BaseException) -> str:
    """The `user` error message of an exception a body raised: `Type: message`, then
    `TRACEBACK_MARK` and the exception's traceback as Python prints it (causes and notes too,
    so a remote exception re-raised here carries the traceback of where it was first raised)."""
    formatted = "".join(traceback.format_exception(error)).rstrip("\n")
    if len(formatted) > MAX_TRACEBACK:
        formatted = "[...]\n" + formatted[-MAX_TRACEBACK:]
    return f"{type(error).__name__}: {error}{TRACEBACK_MARK}{formatted}"


class RemoteError(Error):
    """The function's body raised: the message is `Type: message` of the remote exception
    (without the traceback the error carried, which is `remote_traceback`, and a note of the
    exception so Python prints it below the caller's own). When that type is found in the
    caller, the exception raised is of both that type and this one (see `from_call_error`)."""

    def __init__(self, message: str) -> None:
        summary, _, formatted = message.partition(TRACEBACK_MARK)
        super().__init__(summary)
        kind, _, detail = summary.partition(": ")
        #: The remote exception's type name (`ValueError`), when the callee is Python.
        self.type_name = kind if detail and kind.isidentifier() else None
        #: The remote exception's message.
        self.detail = detail if self.type_name else summary
        #: The remote exception's traceback as Python printed it there, when the callee is
        #: Python.
        self.remote_traceback = formatted or None


class TrappedError(Error):
    """The container running the call trapped (a crash of the instance, not an exception)."""


class TimeoutError(Error, builtins.TimeoutError):
    """The call did not finish in time."""


#: Modal's name for a call that ran out of time.
FunctionTimeoutError = TimeoutError


class InputCancellation(Error):
    """The call was cancelled before it finished."""


class OverloadedError(Error):
    """The function's queue is full: the call was refused at once."""


class TooDeepError(Error):
    """The call would nest deeper than the host's call depth limit."""


class RequestSizeError(Error):
    """A key, value, item or request of a `Dict` or `Queue` operation is past its size
    limit; the message names the limit."""


class ServiceError(Error):
    """The host's store of dicts and queues cannot serve now (a full disk, a damaged store
    file) or here (in a snap `enter` hook); nothing changed."""


class DeserializationError(Error):
    """A pickled value that was read cannot be unpickled here (its class cannot be imported,
    or the pickle is damaged)."""


class SerializationError(Error):
    """A result or item could not be encoded: the body ran, so the call is not run again."""


class VolumeFullError(Error):
    """A volume holds more than its quota at `commit()`: remove files, then commit again."""


class ExecutionError(Error):
    """What was asked cannot run here: a function of an app that is not running, `app.run()`
    inside a component, an app that could not be deployed for `app.run()`."""


class SandboxTimeoutError(Error):
    """A sandbox ran past its timeout (`Sandbox.wait`)."""


class SandboxTerminatedError(Error):
    """A sandbox was terminated (`Sandbox.wait`)."""


class ConnectionError(Error, builtins.ConnectionError):
    """The server (`FNHOST_URL`) could not be reached, or went away before it answered."""


class AuthError(Error):
    """The server refused the request's token (`FNHOST_TOKEN`)."""


_BY_CASE = {
    "NotFound": NotFoundError,
    "BadArguments": InvalidError,
    "User": RemoteError,
    "Trapped": TrappedError,
    "Timeout": TimeoutError,
    "Cancelled": InputCancellation,
    "Overloaded": OverloadedError,
    "TooDeep": TooDeepError,
    "Payload": SerializationError,
}


#: The kinds of error only the HTTP API answers, beside the contract's cases.
_BY_API_KIND = {"bad-request": InvalidError, "unauthorized": AuthError}


def from_call_error(error) -> Error:
    """The exception for a `call-error` value of the contract (a `CallError_*` instance)."""
    return _call_error(type(error).__name__.removeprefix("CallError_"), error.value)


def from_api_error(kind: str, message: str) -> Error:
    """The exception for an error a server's HTTP API answered: a call's kinds are the
    contract's cases in kebab case (`not-found` is `NotFound`, `too-deep` is `TooDeep`)."""
    if kind in _BY_API_KIND:
        return _BY_API_KIND[kind](message)
    return _call_error("".join(part.capitalize() for part in kind.split("-")), message)


def _call_error(case: str, message: str) -> Error:
    if case == "User":
        return _remote(message)
    return _BY_CASE.get(case, Error)(message)


#: The classes that raise a remote exception of each type here, by the type's name.
_REMOTE_TYPES: dict = {}


def _remote(message: str) -> Error:
    """A remote body's exception, raised as its own type when that type can be found here (a
    built-in, or a class of the app's own modules): an instance of both that type and
    `RemoteError`, so `except ValueError` and `except RemoteError` both catch it. Otherwise,
    or when the type cannot be made so (its constructor takes other arguments), a
    `RemoteError` naming the type."""
    plain = RemoteError(message)
    raised = _as_remote_type(plain)
    if plain.remote_traceback is not None:
        raised.add_note(f"{TRACEBACK_MARK.lstrip()}{plain.remote_traceback}")
    return raised


def _as_remote_type(plain: RemoteError) -> Error:
    remote_type = _remote_type(plain.type_name)
    if remote_type is None:
        return plain
    try:
        raised = remote_type(plain.detail)
    except Exception:
        return plain
    raised.type_name, raised.detail = plain.type_name, plain.detail
    raised.remote_traceback = plain.remote_traceback
    return raised


def _remote_type(name):
    """The class raising remote exceptions of type `name`, made once."""
    if name is None:
        return None
    if name not in _REMOTE_TYPES:
        _REMOTE_TYPES[name] = _combined(_local_type(name), name)
    return _REMOTE_TYPES[name]


def _local_type(name: str):
    """The exception class named `name` here: a built-in, else one of the app's modules (those
    that define its functions)."""
    found = getattr(builtins, name, None)
    if found is None:
        from ._app import REGISTRY

        modules = {function.body.__module__ for function in REGISTRY.values()}
        for module in sorted(modules):
            found = getattr(sys.modules.get(module), name, None)
            if found is not None:
                break
    if isinstance(found, type) and issubclass(found, Exception) and not issubclass(found, Error):
        return found
    return None


def _combined(local, name: str):
    if local is None:
        return None
    try:
        return type(name, (local, RemoteError), {"__module__": local.__module__})
    except TypeError:
        # Its instances are laid out in a way `RemoteError`'s cannot share.
        return None


_BY_STORAGE_CASE = {
    "NotFound": NotFoundError,
    "Invalid": InvalidError,
    "TooLarge": RequestSizeError,
    "Full": queue.Full,
    "Unavailable": ServiceError,
}


def from_storage_error(error) -> Exception:
    """The exception for a `storage-error` value of the contract (a `StorageError_*`
    instance): an `Error`, or `queue.Full` for a full queue."""
    case = type(error).__name__.removeprefix("StorageError_")
    return _BY_STORAGE_CASE.get(case, Error)(error.value)


#: The `storage-error` case of each kind the HTTP API answers a storage operation with.
_STORAGE_CASE_OF_KIND = {
    "not-found": "NotFound",
    "bad-request": "Invalid",
    "bad-arguments": "Invalid",
    "payload": "TooLarge",
    "full": "Full",
    "unavailable": "Unavailable",
}


def from_api_storage_error(kind: str, message: str) -> Exception:
    """The exception for an error a server's HTTP API answered to a dict, queue or volume
    operation: as `from_storage_error` for the store's kinds, else as `from_api_error`."""
    case = _STORAGE_CASE_OF_KIND.get(kind)
    if case is None:
        return from_api_error(kind, message)
    return _BY_STORAGE_CASE[case](message)
