"""The errors of fnhost calls and storage, as Python exception classes (Modal's
`modal.exception`).

Every call that fails raises one of these; `Error` is the base of them all, so
`except fnhost.exception.Error` catches any failure of a call. Each class matches one
`call-error` case of the contract (`wit/fnhost.wit`), and `from_call_error` is the one
place that maps them. A `Dict` or `Queue` operation that fails raises the class of its
`storage-error` case, mapped by `from_storage_error`: `NotFoundError`, `InvalidError`,
`RequestSizeError`, `ServiceError`, and the standard library's `queue.Full` for a full
queue (as Modal raises it).
"""

import builtins
import queue


class Error(Exception):
    """Base class of every error a call to another function raises."""


class NotFoundError(Error):
    """No function of that name is part of the app (or no call, dict or queue has that id, or
    no dict or queue has that name)."""


class InvalidError(Error):
    """The arguments did not fit the function's parameters, or could not be encoded; or a
    name, partition, key or argument of a `Dict` or `Queue` operation the host refused."""


class RemoteError(Error):
    """The function's body raised: the message is `Type: message` of the remote exception."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        kind, _, detail = message.partition(": ")
        #: The remote exception's type name (`ValueError`), when the callee is Python.
        self.type_name = kind if detail and kind.isidentifier() else None
        #: The remote exception's message.
        self.detail = detail if self.type_name else message


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


def from_call_error(error) -> Error:
    """The exception for a `call-error` value of the contract (a `CallError_*` instance)."""
    case = type(error).__name__.removeprefix("CallError_")
    return _BY_CASE.get(case, Error)(error.value)


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
