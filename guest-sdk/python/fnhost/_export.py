"""The component's side of the contract: describe what it holds, run one of them by name.

componentize-py looks for the class `Guest` in the component's main module (the one fnhost
generates, which imports the app's module and this class). `run` serves `def` bodies: it is
lifted async by componentize-py, but a `def` body never awaits, so it holds its instance until
it returns, and the host gives a blocking function one input per instance. `run_async` serves
`async def` bodies as tasks of the instance's event loop, interleaved.

An exception in a body goes back as a `user` error `Type: message` with its traceback
(`exception.user_message`), the traceback also to stderr (the host's log); an exception never unwinds into the runtime, which would trap the instance
and with it every other input it holds.
"""

import inspect
import json
import sys
import traceback

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

from ._app import REGISTRY, LocalFunction
from ._cls import CLASSES, INSTANCE, LocalClass, parameter_default, run_hooks
from ._current import await_as, run_as
from ._schedule import Cron, Period
from ._webapp import validated
from ._wire import decode_value, encode_value
from .exception import DeserializationError, user_message


class Guest(exports.Guest):
    """What the host calls."""

    def describe(self) -> "types.AppInfo":
        infos = [_info(function) for function in REGISTRY.values()]
        return types.AppInfo(
            functions=[info for info, function in zip(infos, REGISTRY.values()) if not function.entrypoint],
            entrypoints=[info for info, function in zip(infos, REGISTRY.values()) if function.entrypoint],
            classes=[_class_info(local) for local in CLASSES.values()],
        )

    async def run(self, function: str, args: bytes, call_id: str) -> bytes:
        entry = _find(function, is_async=False)
        positional, named = _arguments(entry, args)
        try:
            result = run_as(call_id, lambda: entry.body(*positional, **named))
        except Exception as error:
            raise _user_error(error) from None
        return _encode(result)

    async def run_async(self, function: str, args: bytes, call_id: str) -> bytes:
        entry = _find(function, is_async=True)
        positional, named = _arguments(entry, args)
        try:
            result = await await_as(call_id, entry.body(*positional, **named))
        except Exception as error:
            raise _user_error(error) from None
        return _encode(result)

    async def run_gen(self, function: str, args: bytes, call_id: str, sink: "host.ItemSink") -> None:
        entry = _find(function, is_async=False, is_generator=True)
        positional, named = _arguments(entry, args)

        def drain() -> None:
            for item in entry.body(*positional, **named):
                if not sink.send(_encode(item)):
                    break

        with sink:
            try:
                run_as(call_id, drain)
            except Err:
                raise
            except Exception as error:
                raise _user_error(error) from None

    async def run_gen_async(self, function: str, args: bytes, call_id: str, sink: "host.ItemSink") -> None:
        entry = _find(function, is_async=True, is_generator=True)
        positional, named = _arguments(entry, args)

        async def drain() -> None:
            async for item in entry.body(*positional, **named):
                if not await sink.send_async(_encode(item)):
                    break

        with sink:
            try:
                await await_as(call_id, drain())
            except Err:
                raise
            except Exception as error:
                raise _user_error(error) from None

    async def enter(self, class_name: str, params: bytes, phase: "types.EnterPhase") -> None:
        local = CLASSES.get(class_name)
        if local is None:
            raise Err(types.CallError_NotFound(f"this component has no class `{class_name}`"))
        if phase == types.EnterPhase.RESTORED:
            held = INSTANCE[0]
            if held is None or held[0] != class_name:
                raise Err(types.CallError_BadArguments(f"the snapshot holds no instance of `{class_name}`"))
            instance = held[1]
        else:
            try:
                values = json.loads(params) if params else {}
            except ValueError as error:
                raise Err(types.CallError_BadArguments(f"the parameters of `{class_name}`: {error}")) from None
            if values is None:
                values = {}
            instance = local.build(values)
        snap = [hook for hook in local.enters if hook.__fnhost_enter__]
        other = [hook for hook in local.enters if not hook.__fnhost_enter__]
        if phase != types.EnterPhase.RESTORED:
            await run_hooks(local, instance, snap)
        if phase != types.EnterPhase.SNAPSHOT:
            await run_hooks(local, instance, other)
        INSTANCE[0] = (class_name, instance)

    async def exit(self) -> None:
        # A container whose `enter` failed holds no instance: nothing to do.
        held = INSTANCE[0]
        if held is not None:
            await run_hooks(CLASSES[held[0]], held[1], CLASSES[held[0]].exits)


def _find(name: str, is_async: bool, is_generator: bool = False) -> LocalFunction:
    entry = REGISTRY.get(name)
    if entry is None and "." in name:
        local = CLASSES.get(name.split(".", 1)[0])
        entry = next((method for method in local.methods if method.name == name), None) if local else None
    if entry is None:
        raise Err(types.CallError_NotFound(f"this component has no function `{name}`"))
    if entry.is_async != is_async or entry.is_generator != is_generator:
        kind, through = ("async", "run-async") if entry.is_async else ("blocking", "run")
        raise Err(types.CallError_BadArguments(f"`{name}` has a {kind} body: the host must run it through `{through}`"))
    return entry


def _arguments(entry: LocalFunction, payload: bytes) -> tuple:
    """The body's arguments, by position and by name, from the JSON array of the call's
    arguments; an array that does not fit the parameters is a `bad-arguments` error."""
    try:
        values = [] if payload == b"[]" else decode_value(payload)
    except (ValueError, DeserializationError) as error:
        raise Err(types.CallError_BadArguments(f"`{entry.name}`: {error}")) from None
    if not isinstance(values, list):
        raise Err(types.CallError_BadArguments(f"`{entry.name}`: the arguments must be a JSON array"))
    if entry.models:
        values = _validated(entry, values)
    if entry.positional and entry.required <= len(values) <= len(entry.params):
        return values, {}
    names = entry.params
    if len(values) > len(names):
        raise Err(types.CallError_BadArguments(
            f"`{entry.name}` takes {_count(len(names))} ({', '.join(names)}), not {len(values)}"))
    call = dict(zip(names, values))
    try:
        entry._signature.bind(**call)
    except TypeError as error:
        raise Err(types.CallError_BadArguments(f"`{entry.name}`: {error}")) from None
    return (), call


def _validated(entry: LocalFunction, values: list) -> list:
    """`values` with each argument of a pydantic-typed parameter made that model, as FastAPI
    reads a body; one that does not fit is a `bad-arguments` error saying why."""
    values = list(values)
    for index, name in enumerate(entry.params[: len(values)]):
        model = entry.models.get(name)
        if model is not None and values[index] is not None:
            try:
                values[index] = validated(model, values[index])
            except ValueError as error:
                raise Err(types.CallError_BadArguments(f"`{entry.name}`: `{name}`: {error}")) from None
    return values


def _count(count: int) -> str:
    return "1 argument" if count == 1 else f"{count} arguments"


def _encode(result) -> bytes:
    if result is None:
        return b"null"
    try:
        return encode_value(result)
    except (TypeError, ValueError) as error:
        raise Err(types.CallError_Payload(f"cannot encode the result: {error}")) from None


def _user_error(error: Exception) -> Err:
    traceback.print_exception(error, file=sys.stderr)
    return Err(types.CallError_User(user_message(error)))


def _class_info(local: LocalClass) -> "types.ClassInfo":
    return types.ClassInfo(
        name=local.name,
        kind=types.BodyKind.ASYNC if local.is_async else types.BodyKind.BLOCKING,
        params=[name for name, _, _ in local.params],
        param_types=[_annotation(annotation) if annotation is not None else "" for _, annotation, _ in local.params],
        param_defaults=[parameter_default(default) for _, _, default in local.params],
        config=types.FunctionConfig(**{field: local.config.get(field) for field in _CONFIG_FIELDS}),
        methods=[_info(method) for method in local.methods],
        snap=local.snap,
        live_enter=any(not hook.__fnhost_enter__ for hook in local.enters),
        secrets=local.config.get("secrets", []),
        volumes=local.config.get("volumes", []),
    )


def _info(function: LocalFunction) -> "types.FunctionInfo":
    params = function._signature.parameters.values()
    config = function.config
    return types.FunctionInfo(
        # A method's name is its own, without its class's.
        name=function.name.split(".", 1)[-1],
        kind=types.BodyKind.ASYNC if function.is_async else types.BodyKind.BLOCKING,
        params=[param.name for param in params],
        param_types=[_annotation(param.annotation) for param in params],
        config=types.FunctionConfig(**{field: config.get(field) for field in _CONFIG_FIELDS}),
        web=None if function.web is None else types.WebEndpoint(
            method=function.web.method, label=function.web.label, requires_auth=function.web.requires_auth,
            form=types.WebForm.ARGUMENTS if function.web.protocol is None else types.WebForm.REQUEST,
            # FastAPI's binding: the one parameter typed as a pydantic model takes the body.
            body=next(iter(function.models)) if len(function.models) == 1 else None),
        batch=None if function.batch is None else types.Batching(
            max_batch_size=function.batch.max_batch_size, wait_ms=function.batch.wait_ms),
        generator=function.is_generator,
        secrets=config.get("secrets", []),
        volumes=config.get("volumes", []),
        schedule=_schedule(config.get("schedule")),
    )


def _schedule(schedule) -> "types.Schedule | None":
    if isinstance(schedule, Period):
        return types.Schedule_Period(types.Period(**schedule.parts, millis=schedule.millis))
    if isinstance(schedule, Cron):
        return types.Schedule_Cron(types.Cron(expression=schedule.cron_string, timezone=schedule.timezone))
    return None


_CONFIG_FIELDS = [
    "max_inputs", "target_inputs", "max_containers", "min_containers", "buffer_containers",
    "scaledown_window_secs", "timeout_secs", "memory_mib", "cpu_millicores", "retries",
    "retry_delay_ms", "backoff_coefficient", "max_retry_delay_ms",
]


def _annotation(annotation) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)
