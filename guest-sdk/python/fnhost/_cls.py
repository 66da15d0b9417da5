"""Classes (Modal's `@app.cls`): `fnhost.parameter()`, `@fnhost.enter()`, `@fnhost.exit()`,
`@fnhost.method()`, and the handles callers use (`Model(size=3).predict.remote(2)`).

`@app.cls(...)` records the class in `CLASSES` and returns a `Cls` in its place: calling it
with parameter values gives an `Obj` whose attributes are the methods' `Function` handles,
bound to those values. The class itself is built only in its containers: the host's `enter`
makes one instance per container from the values (`__new__`, then the parameters as
attributes), runs its `enter` hooks and keeps it in `INSTANCE`; each method's input runs on
that instance; `exit` runs the `exit` hooks when the container retires.
"""

import dataclasses
import inspect
import json
from typing import Any, Callable, Optional

from ._function import Function, call_settings
from ._phase import Err, types
from .exception import InvalidError, user_message

#: The component's classes, by name.
CLASSES: dict = {}

#: The container's instance: `(class name, object)`, or `None` before `enter`.
INSTANCE: list = [None]

_MISSING = object()


@dataclasses.dataclass(frozen=True)
class _Parameter:
    """A class's parameter (see `parameter`)."""

    default: Any = _MISSING


def parameter(*, default: Any = _MISSING) -> Any:
    """Declares a parameter of a class (Modal's `modal.parameter`): `size: int =
    fnhost.parameter()`, or with a `default`. Each distinct set of values gets its own
    containers; the values travel as JSON (at most 16 KiB) and are checked against the
    annotation (`int`, `float`, `str`, `bool`) when a container builds the instance."""
    return _Parameter(default)


def enter(*, snap: bool = False) -> Callable:
    """Marks a method run once per container before its first input (Modal's `@modal.enter`);
    with `snap=True`, once before a snapshot of the container's memory is taken."""

    def mark(body: Callable) -> Callable:
        body.__fnhost_enter__ = snap
        return body

    return mark


def exit() -> Callable:  # noqa: A001  (Modal's name)
    """Marks a method run when a container retires (Modal's `@modal.exit`)."""

    def mark(body: Callable) -> Callable:
        body.__fnhost_exit__ = True
        return body

    return mark


def method() -> Callable:
    """Marks a method callers call (Modal's `@modal.method`)."""

    def mark(body: Callable) -> Callable:
        body.__fnhost_method__ = True
        return body

    return mark


class LocalClass:
    """A class defined in this component: its parameters, hooks and methods."""

    def __init__(self, cls: type, config: dict, make_method: Callable) -> None:
        self.name = cls.__name__
        self.cls = cls
        self.config = config
        annotations = inspect.get_annotations(cls)
        #: `(name, annotation, default)` of each parameter, in order.
        self.params = [
            (name, annotations.get(name), value.default)
            for name, value in vars(cls).items()
            if isinstance(value, _Parameter)
        ]
        members = [value for value in vars(cls).values() if callable(value)]
        self.enters = [body for body in members if hasattr(body, "__fnhost_enter__")]
        self.exits = [body for body in members if hasattr(body, "__fnhost_exit__")]
        # As on Modal, `@batched` and a web endpoint make a method of their own.
        markers = ("__fnhost_method__", "__fnhost_batched__", "__fnhost_web__")
        bodies = [body for body in members if any(hasattr(body, marker) for marker in markers)]
        if not bodies:
            raise TypeError(f"class `{self.name}` needs at least one `@fnhost.method()`")
        kinds = {inspect.iscoroutinefunction(body) or inspect.isasyncgenfunction(body) for body in bodies}
        if len(kinds) > 1:
            raise TypeError(
                f"class `{self.name}`: every method is `def`, or every one `async def` (its "
                "containers run its methods' inputs one way)"
            )
        self.is_async = kinds == {True}
        #: The methods, as local functions named `CLASS.METHOD`.
        self.methods = [make_method(self, body) for body in bodies]
        self.snap = any(body.__fnhost_enter__ for body in self.enters)

    def build(self, values: dict) -> Any:
        """An instance with the parameter values `values` (defaults for those left out)."""
        instance = self.cls.__new__(self.cls)
        unknown = set(values) - {name for name, _, _ in self.params}
        if unknown:
            raise Err(types.CallError_BadArguments(
                f"class `{self.name}` has no parameter `{sorted(unknown)[0]}`"))
        for name, annotation, default in self.params:
            value = values.get(name, default)
            if value is _MISSING:
                raise Err(types.CallError_BadArguments(
                    f"parameter `{name}` of `{self.name}` has no default: give it a value"))
            if annotation in (int, float, str, bool) and not _fits(value, annotation):
                raise Err(types.CallError_BadArguments(
                    f"the parameters of `{self.name}`: `{name}` is a {annotation.__name__}, "
                    f"not {value!r}"))
            setattr(instance, name, value)
        return instance


def _fits(value: Any, annotation: type) -> bool:
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


async def run_hooks(local: LocalClass, instance: Any, hooks: list) -> None:
    """Runs `hooks` on `instance` in order; a hook that raises fails with its name."""
    for hook in hooks:
        try:
            result = hook(instance)
            if inspect.isawaitable(result):
                await result
        except Exception as error:  # noqa: BLE001  (any error fails the hook)
            raise Err(types.CallError_User(
                f"hook `{hook.__name__}` of `{local.name}` failed: {user_message(error)}"
            )) from None


def held_instance(class_name: str) -> Any:
    """The container's instance of `class_name`, for a method to run on."""
    held = INSTANCE[0]
    if held is None or held[0] != class_name:
        raise Err(types.CallError_BadArguments(
            f"this container holds no instance of `{class_name}`: the host must run `enter` first"))
    return held[1]


class Obj:
    """A class with parameter values (what `Model(size=3)` is in Modal): its methods are
    attributes, each a `Function` handle bound to those values."""

    def __init__(self, local: LocalClass, params: bytes, timeout: Optional[float] = None,
                 retries: Optional[int] = None, containers: Optional[dict] = None) -> None:
        self._local = local
        for method in local.methods:
            short = method.name.split(".", 1)[1]
            setattr(self, short, Function(method.name, method._signature, timeout, retries, params, containers))


class Cls:
    """What `@app.cls(...)` makes of a class: call it with parameter values for an `Obj`."""

    def __init__(self, local: LocalClass, timeout: Optional[float] = None, retries: Optional[int] = None,
                 containers: Optional[dict] = None) -> None:
        self._local = local
        self._timeout = timeout
        self._retries = retries
        #: Options that shape the instances' containers (`function-config` fields), or None.
        self._containers = containers
        self.__doc__ = local.cls.__doc__

    def __call__(self, **values) -> Obj:
        try:
            params = json.dumps(values, sort_keys=True).encode()
        except (TypeError, ValueError) as error:
            raise TypeError(f"the parameters of `{self._local.name}` must be JSON values: {error}") from None
        return Obj(self._local, params, self._timeout, self._retries, self._containers)

    def with_options(self, *, timeout: Optional[float] = None, retries: Any = None, **others) -> "Cls":
        """The class with options overridden, as Modal's `Cls.with_options`: each method
        call's `timeout` (seconds) and `retries` (a count, or a `Retries`); `cpu`, `memory`,
        `max_containers`, `min_containers`, `buffer_containers`, `scaledown_window` (and a
        `Retries`' delays), `secrets` and `volumes` (in place of the class's own) run an
        instance's calls in a pool of its own made so (its containers build the instance and
        run `enter` as any do); `gpu`, `region`, `cloud` are ignored with a warning; `env` is
        refused (set it on `@app.cls`)."""
        settings = call_settings("with_options", retries, others)
        return Cls(self._local, self._timeout if timeout is None else timeout,
                   self._retries if settings.retries is None else settings.retries,
                   settings.over(self._containers))

    def with_concurrency(self, *, max_inputs: int, target_inputs: Optional[int] = None) -> "Cls":
        """Modal's `Cls.with_concurrency`: refused, as the class's containers are set on
        `@app.cls`."""
        raise InvalidError("with_concurrency(...): a class's concurrency is set with "
                           "`@fnhost.concurrent(max_inputs=...)` under `@app.cls()`")

    def with_batching(self, *, max_batch_size: int, wait_ms: int) -> "Cls":
        """Modal's `Cls.with_batching`: refused, as the class's containers are set on
        `@app.cls`."""
        raise InvalidError("with_batching(...): a method is batched with "
                           "`@fnhost.batched(max_batch_size=..., wait_ms=...)` on it")

    def __repr__(self) -> str:
        return f"<fnhost class {self._local.name}>"


def register_class(local: LocalClass) -> Cls:
    if local.name in CLASSES:
        raise ValueError(f"two classes of this component are named `{local.name}`")
    CLASSES[local.name] = local
    return Cls(local)


def parameter_default(default: Any) -> Optional[str]:
    """A parameter's default as the contract carries it: JSON, or `None` when required."""
    return None if default is _MISSING else json.dumps(default)
