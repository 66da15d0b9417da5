"""The call a body runs for: Modal's `current_function_call_id()` and `current_input_id()`.

The host hands each input's call id to the export that runs it. A `def` body holds its
instance until it returns: the id is set around it. `async def` bodies interleave on one
event loop, so the id is set around each *step* of the body's coroutine (`await_as`) and put
back after: whichever body runs sees its own, and a task it starts inherits it. Outside a
function's container (a local entrypoint, a script) both are None.
"""

import contextvars
from typing import Awaitable, Callable, Optional, TypeVar

_CALL_ID: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("fnhost_call_id", default=None)

T = TypeVar("T")


def current_function_call_id() -> Optional[str]:
    """The id of the call this body serves (`fc-` and 32 hex digits), as
    `FunctionCall.from_id` takes it; None outside a function's container. A batched body sees
    its batch's own id."""
    return _CALL_ID.get()


def current_input_id() -> Optional[str]:
    """The id of the input this body runs (`in-` and the call's hex digits): each fnhost call
    carries one input. None outside a function's container."""
    call = _CALL_ID.get()
    return None if call is None else "in-" + call.removeprefix("fc-")


def run_as(call_id: str, body: Callable[[], T]) -> T:
    """Runs `body` (a `def` body's call) with `call_id` current (none when empty)."""
    token = _CALL_ID.set(call_id or None)
    try:
        return body()
    finally:
        _CALL_ID.reset(token)


async def await_as(call_id: str, awaitable: Awaitable[T]) -> T:
    """Awaits `awaitable` with `call_id` current at each of its steps (none when empty)."""
    return await _Scoped(call_id or None, awaitable)


class _Scoped:
    """An awaitable that runs another with a call id current while it runs, step by step."""

    def __init__(self, call_id: Optional[str], awaitable: Awaitable) -> None:
        self.call_id = call_id
        self.awaitable = awaitable

    def __await__(self):
        steps = self.awaitable.__await__()
        sent, thrown = None, None
        while True:
            token = _CALL_ID.set(self.call_id)
            try:
                yielded = steps.send(sent) if thrown is None else steps.throw(thrown)
            except StopIteration as done:
                return done.value
            finally:
                _CALL_ID.reset(token)
            try:
                sent, thrown = (yield yielded), None
            except BaseException as error:  # noqa: BLE001 - handed to the body, as await does
                sent, thrown = None, error
