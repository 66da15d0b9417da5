"""The errors of fnhost calls, as Python exception classes (Modal's `modal.exception`).

Every call that fails raises one of these; `Error` is the base of them all, so
`except fnhost.exception.Error` catches any failure of a call. Each class matches one
`call-error` case of the contract (`wit/fnhost.wit`), and `from_call_error` is the one
place that maps them.
"""

import builtins


class Error(Exception):
    """Base class of every error a call to another function raises."""


class NotFoundError(Error):
    """No function of that name is part of the app (or no call has that id)."""


class InvalidError(Error):
    """The arguments did not fit the function's parameters, or could not be encoded."""


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


_BY_CASE = {
    "NotFound": NotFoundError,
    "BadArguments": InvalidError,
    "User": RemoteError,
    "Trapped": TrappedError,
    "Timeout": TimeoutError,
    "Cancelled": InputCancellation,
    "Overloaded": OverloadedError,
    "TooDeep": TooDeepError,
}


def from_call_error(error) -> Error:
    """The exception for a `call-error` value of the contract (a `CallError_*` instance)."""
    case = type(error).__name__.removeprefix("CallError_")
    return _BY_CASE.get(case, Error)(error.value)
