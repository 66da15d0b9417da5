"""`App`, its decorators, and the table of what this component holds.

Decorating a body with `@app.function(...)` or `@app.local_entrypoint()` records it in one
table per component (`REGISTRY`), which `describe` and `run` read. componentize-py imports the
app's module when it builds the component, so the table is complete before any instance
starts; nothing is registered at run time.

Options are checked as they are written, so a misspelled option or a value of the wrong type
fails the build with its name; the host checks the ranges when it loads the component.
"""

import dataclasses
import inspect
import math
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from ._cls import Cls, LocalClass, held_instance, register_class
from ._function import Function
from ._image import Image
from ._image import environment as image_environment
from ._phase import IN_COMPONENT
from ._schedule import Schedule
from ._schedule import checked as checked_schedule
from ._secret import Secret
from ._secret import sources as secret_sources
from ._volume import Volume
from ._volume import mounts as volume_mounts
from ._webapp import answering_json, body_models, request_body
from .exception import ExecutionError, InvalidError

#: The component's functions and local entrypoints, by name.
REGISTRY: dict = {}


@dataclasses.dataclass(frozen=True)
class Retries:
    """How a failed input is run again (Modal's `modal.Retries`); delays in seconds."""

    max_retries: int
    backoff_coefficient: float = 2.0
    initial_delay: float = 1.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        # Modal's ranges, each refused with its name.
        for name, low, high in (("max_retries", 0, 10), ("backoff_coefficient", 1.0, 10.0),
                                ("initial_delay", 0.0, 60.0), ("max_delay", 1.0, 60.0)):
            value = getattr(self, name)
            whole = name != "max_retries" or (isinstance(value, int) and not isinstance(value, bool))
            if not whole or not isinstance(value, (int, float)) or not low <= value <= high:
                raise InvalidError(f"Retries: `{name}` must be from {low} to {high}, not {value!r}")


@dataclasses.dataclass(frozen=True)
class WebEndpoint:
    """How a function is also served over HTTP at `/web/{app}/{label}` by `fnhost serve`:
    with its query and JSON body as arguments, or, when `protocol` names one (`asgi`,
    `wsgi`), every request under the label handed whole to the app the body returns."""

    method: str = "GET"
    label: Optional[str] = None
    requires_auth: bool = False
    protocol: Optional[str] = None


def concurrent(*, max_inputs: int, target_inputs: Optional[int] = None) -> Callable:
    """Lets one container take `max_inputs` inputs at once (Modal's `@modal.concurrent`).

    An `async def` body interleaves them on one instance; a `def` body runs them on separate
    instances, in parallel (a component has no threads). Put it under `@app.function()` (or
    `@app.cls()`, for all the methods of a class).
    """

    def mark(body: Callable) -> Callable:
        _check_order("concurrent", body)
        body.__fnhost_concurrent__ = (max_inputs, target_inputs)
        return body

    return mark


def web_endpoint(*, method: str = "GET", label: Optional[str] = None, requires_auth: bool = False) -> Callable:
    """Also serves the function over HTTP (Modal's `@modal.fastapi_endpoint`): `fnhost serve`
    answers it at `/web/{app}/{label}`. Put it under `@app.function()`."""
    endpoint = WebEndpoint(method.upper(), label, requires_auth)

    def mark(body: Callable) -> Callable:
        _check_order("web_endpoint", body)
        body.__fnhost_web__ = endpoint
        return body

    return mark


def fastapi_endpoint(*, method: str = "GET", label: Optional[str] = None, docs: bool = False,
                     requires_proxy_auth: bool = False, custom_domains: Optional[Sequence[str]] = None) -> Callable:
    """Modal's `@modal.fastapi_endpoint`: `web_endpoint` by Modal's names, with FastAPI's
    binding (a JSON body goes to the parameter annotated `dict`, the query to the others).
    `requires_proxy_auth=True` asks for the server's token. fnhost serves no OpenAPI page:
    `docs=True` is accepted and named in the build's warning; a custom domain is refused."""
    if custom_domains:
        raise InvalidError("fastapi_endpoint: fnhost serves every endpoint under /web/{app}/; "
                           "`custom_domains` cannot be honoured")
    endpoint = web_endpoint(method=method, label=label, requires_auth=requires_proxy_auth)

    def mark(body: Callable) -> Callable:
        _check_order("fastapi_endpoint", body)
        return endpoint(body)

    return mark


def asgi_app(*, label: Optional[str] = None, custom_domains: Optional[Sequence[str]] = None,
             requires_proxy_auth: bool = False) -> Callable:
    """Modal's `@modal.asgi_app()`: the body takes no arguments and returns an ASGI app
    (Starlette, FastAPI, ...), which serves every method and path under `/web/{app}/{label}`
    (built once per container). Put it under `@app.function()`, or on a class's method."""
    return _app_endpoint("asgi_app", "asgi", label, custom_domains, requires_proxy_auth)


def wsgi_app(*, label: Optional[str] = None, custom_domains: Optional[Sequence[str]] = None,
             requires_proxy_auth: bool = False) -> Callable:
    """Modal's `@modal.wsgi_app()`: the body takes no arguments and returns a WSGI app (Flask,
    Bottle, ...), which serves every method and path under `/web/{app}/{label}` (built once
    per container). Put it under `@app.function()`, or on a class's method."""
    return _app_endpoint("wsgi_app", "wsgi", label, custom_domains, requires_proxy_auth)


def _app_endpoint(decorator: str, protocol: str, label: Optional[str], custom_domains, requires_auth: bool) -> Callable:
    if custom_domains:
        raise InvalidError(f"{decorator}: fnhost serves every endpoint under /web/{{app}}/; "
                           "`custom_domains` cannot be honoured")
    endpoint = WebEndpoint("*", label, requires_auth, protocol)

    def mark(body: Callable) -> Callable:
        _check_order(decorator, body)
        if inspect.iscoroutinefunction(body) or inspect.isasyncgenfunction(body):
            raise InvalidError(f"@fnhost.{decorator}: `{body.__name__}` must be a plain `def` that returns the app")
        body.__fnhost_web__ = endpoint
        return body

    return mark


def _check_order(decorator: str, marked: Any) -> None:
    """Refuses a marker written above `@app.function()` or `@app.cls()`, where it would mark
    what they made and change nothing (Modal refuses it too)."""
    if isinstance(marked, (Function, Cls)):
        raise InvalidError(
            f"`@fnhost.{decorator}` is written above `@app.function()` or `@app.cls()`: put it "
            f"below them, on the body itself ({marked!r})"
        )


@dataclasses.dataclass(frozen=True)
class Batching:
    """How a batched function's inputs are gathered (see `batched`)."""

    max_batch_size: int
    wait_ms: int


def batched(*, max_batch_size: int, wait_ms: int) -> Callable:
    """Makes the function batched (Modal's `@modal.batched`): its body takes a list per
    parameter and returns a list with one result per input; callers call it with one value
    per parameter and get one result. The host runs up to `max_batch_size` queued inputs as one
    (1 to 1000), waiting at most `wait_ms` milliseconds for more (at most 600 000). Put it
    under `@app.function()`."""
    for name, value, low, high in (("max_batch_size", max_batch_size, 1, 1000), ("wait_ms", wait_ms, 0, 600_000)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"`batched`: `{name}` must be a whole number from {low} to {high}, not {value!r}")
    batching = Batching(max_batch_size, wait_ms)

    def mark(body: Callable) -> Callable:
        _check_order("batched", body)
        body.__fnhost_batched__ = batching
        return body

    return mark


class LocalFunction(Function):
    """A function defined in this component: a `Function` that also knows its body."""

    def __init__(self, body: Callable, config: dict, entrypoint: bool) -> None:
        web: Optional[WebEndpoint] = getattr(body, "__fnhost_web__", None)
        #: A `fastapi_endpoint`'s parameters typed as a pydantic model, by name: each is
        #: validated from the JSON it is given, as FastAPI reads a body.
        self.models = body_models(body) if web is not None and web.protocol is None else {}
        if web is not None:
            body = answering_json(body) if web.protocol is None else _serving_requests(body, web.protocol)
        signature = inspect.signature(body)
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(
                    f"{body.__name__}: fnhost functions take named parameters; "
                    f"`{param}` is not supported"
                )
        super().__init__(body.__name__, signature)
        parameters = signature.parameters.values()
        #: The parameters' names, in order.
        self.params = [param.name for param in parameters]
        #: How many arguments a call must give at least (those without defaults).
        self.required = sum(param.default is param.empty for param in parameters)
        #: Whether every parameter can be given by position (none is keyword-only).
        self.positional = all(
            param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD) for param in parameters
        )
        self.body = body
        self.config = config
        self.entrypoint = entrypoint
        #: Whether it yields items (`def` with `yield`, or `async def` with `yield`).
        self.is_generator = inspect.isgeneratorfunction(body) or inspect.isasyncgenfunction(body)
        self.is_async = inspect.iscoroutinefunction(body) or inspect.isasyncgenfunction(body)
        if self.is_generator and entrypoint:
            raise TypeError(f"{body.__name__}: a local entrypoint cannot be a generator")
        self.web = web
        self.batch: Optional[Batching] = getattr(body, "__fnhost_batched__", None)
        if self.batch is not None and self.is_generator:
            raise TypeError(f"{body.__name__}: a generator cannot be batched")
        if self.batch is not None and not self.params:
            raise TypeError(f"{body.__name__}: a batched function takes at least one parameter (a list)")
        self.__doc__ = body.__doc__
        self.__wrapped__ = body

    def local(self, *args, **kwargs):
        """Runs the body right here, in the caller's own instance."""
        return self.body(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        """A local entrypoint called by name runs its body here, as Modal's does (a script's
        `with app.run(): main()`); a function is called with `.remote` or `.local`."""
        if not self.entrypoint:
            raise TypeError(
                f"{self.name}: an fnhost function is not called directly: "
                f"`{self.name}.remote(...)` runs it in a container, `{self.name}.local(...)` here"
            )
        return self.body(*args, **kwargs)

    def __repr__(self) -> str:
        kind = "local_entrypoint" if self.entrypoint else "function"
        return f"<fnhost {kind} {self.name}>"


def _serving_requests(factory: Callable, protocol: str) -> Callable:
    """The body of an `asgi_app`/`wsgi_app` endpoint: it takes the whole request and serves
    it with the app `factory` (which takes no arguments) returns."""
    if any(param.default is param.empty for param in inspect.signature(factory).parameters.values()):
        raise TypeError(f"{factory.__name__}: an @{protocol}_app body takes no arguments; it returns the app")
    return request_body(factory, protocol)


#: Options of Modal's that have no meaning for a WebAssembly guest, which runs without them:
#: accepted, and named once in a warning by the host's build (which reads them from the source).
IGNORED_OPTIONS = frozenset({
    "gpu", "region", "cloud", "ephemeral_disk", "nonpreemptible", "proxy", "i6pn", "block_network",
    "restrict_modal_access", "enable_memory_snapshot", "experimental_options", "include_source",
    "serialized", "name", "startup_timeout", "allow_cross_region_volumes", "network_file_systems",
    "single_use_containers", "is_generator",
})


def _ignore(options: Mapping[str, Any], where: str) -> None:
    """Accepts `options` that a WebAssembly guest runs without; any other name is a mistake."""
    for option in options:
        if option not in IGNORED_OPTIONS:
            raise TypeError(f"{where}() got an unexpected option `{option}`")


class App:
    """An fnhost app (Modal's `modal.App`): the functions and entrypoints of a component.

    `image`, `secrets` and `volumes` given here are every function's and class's defaults."""

    def __init__(self, name: Optional[str] = None, *, image: Optional[Image] = None,
                 secrets: Sequence[Secret] = (), volumes: Mapping[str, Volume] = {}, **ignored) -> None:
        _ignore(ignored, "App")
        image_environment(image)
        self.name = name
        self.image = image
        self.secrets = tuple(secret_sources(secrets))
        volume_mounts(volumes)
        self.volumes = dict(volumes)

    def _environment(self, image: Optional[Image], env: Optional[Mapping[str, str]], secrets) -> list:
        """The `secret-source`s of a function: the image's variables, its `env`, the app's
        secrets, then its own (a later source's variable wins)."""
        pairs = image_environment(image if image is not None else self.image)
        for key, value in (env or {}).items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("`env` takes strings")
            pairs.append((key, value))
        inline = [Secret.from_dict(dict(pairs))._source] if pairs else []
        return inline + list(self.secrets) + secret_sources(secrets)

    def function(
        self,
        _body: Optional[Callable] = None,
        *,
        timeout: Optional[float] = None,
        retries: Union[int, Retries, None] = None,
        max_containers: Optional[int] = None,
        min_containers: Optional[int] = None,
        buffer_containers: Optional[int] = None,
        scaledown_window: Optional[float] = None,
        memory: Optional[int] = None,
        cpu: Optional[float] = None,
        max_inputs: Optional[int] = None,
        target_inputs: Optional[int] = None,
        secrets: Sequence[Secret] = (),
        volumes: Mapping[str, Volume] = {},
        image: Optional[Image] = None,
        env: Optional[Mapping[str, str]] = None,
        schedule: Optional[Schedule] = None,
        **ignored,
    ) -> Callable:
        """Makes a `def` or `async def` a function of the app.

        `timeout` and `scaledown_window` are in seconds, `memory` in MiB, `cpu` in cores;
        `retries` is a count or a `Retries`; `secrets`, `env` and the `image`'s `env` set
        environment variables in its containers, and `volumes` (`{"/data": vol}`) mount
        volumes in them; the `image`'s packages are in the component. Unset options take the
        host's defaults (and the app's `image`, `secrets` and `volumes`); Modal's options that
        a wasm guest runs without (`gpu=`, `region=`, ...) are accepted and ignored.
        `schedule` (`fnhost.Period(...)` or `fnhost.Cron(...)`) has `fnhost serve` run it by
        itself, with no arguments.
        """
        config = _config(
            timeout=timeout, retries=retries, max_containers=max_containers, min_containers=min_containers,
            buffer_containers=buffer_containers, scaledown_window=scaledown_window, memory=memory, cpu=cpu,
            max_inputs=max_inputs, target_inputs=target_inputs,
        )
        _ignore(ignored, "function")
        config["secrets"] = self._environment(image, env, secrets)
        config["volumes"] = volume_mounts({**self.volumes, **volumes})
        config["schedule"] = checked_schedule(schedule)

        def register(body: Callable) -> LocalFunction:
            return _register(LocalFunction(body, _concurrent(config, body), entrypoint=False))

        return register if _body is None else register(_body)

    def cls(
        self,
        _cls: Optional[type] = None,
        *,
        timeout: Optional[float] = None,
        retries: Union[int, Retries, None] = None,
        max_containers: Optional[int] = None,
        min_containers: Optional[int] = None,
        buffer_containers: Optional[int] = None,
        scaledown_window: Optional[float] = None,
        memory: Optional[int] = None,
        cpu: Optional[float] = None,
        max_inputs: Optional[int] = None,
        target_inputs: Optional[int] = None,
        secrets: Sequence[Secret] = (),
        volumes: Mapping[str, Volume] = {},
        image: Optional[Image] = None,
        env: Optional[Mapping[str, str]] = None,
        **ignored,
    ) -> Callable:
        """Makes a class a class of the app (Modal's `@app.cls`): its instances live in
        containers, one per container, built from `fnhost.parameter()` values; the options
        are a function's, shared by every method. Callers write `Model(size=3).predict.remote(2)`.
        """
        config = _config(
            timeout=timeout, retries=retries, max_containers=max_containers, min_containers=min_containers,
            buffer_containers=buffer_containers, scaledown_window=scaledown_window, memory=memory, cpu=cpu,
            max_inputs=max_inputs, target_inputs=target_inputs,
        )
        _ignore(ignored, "cls")
        config["secrets"] = self._environment(image, env, secrets)
        config["volumes"] = volume_mounts({**self.volumes, **volumes})

        def register(cls: type) -> Cls:
            return register_class(LocalClass(cls, _concurrent(config, cls), _method))

        return register if _cls is None else register(_cls)

    def local_entrypoint(self, _body: Optional[Callable] = None) -> Callable:
        """Makes a `def` or `async def` an entrypoint: what `fnhost run app.py::NAME` runs."""

        def register(body: Callable) -> LocalFunction:
            return _register(LocalFunction(body, {}, entrypoint=True))

        return register if _body is None else register(_body)

    @staticmethod
    def lookup(name: str, *, create_if_missing: bool = False, environment_name: Optional[str] = None,
               client: Any = None) -> "App":
        """The app `name` (Modal's `App.lookup`), to reach its functions with
        `Function.from_name(name, ...)`. From CPython it must be deployed on the server, else
        `NotFoundError`; an app exists on fnhost only by a deploy, so `create_if_missing=True`
        gives an app object with that name and deploys nothing. Inside a component the host
        answers for the app at the first call to it."""
        del environment_name, client  # Modal's workspace options: a server has one.
        if not IN_COMPONENT:
            from ._http import deployed

            if not create_if_missing:
                deployed(name)
        return App(name)

    def run(self):
        """Runs the app for the duration of a `with` (or `async with`) block, from a script run
        by CPython (Modal's `app.run()`): the script is deployed, to `FNHOST_URL`'s server or
        to a private `fnhost serve` started for the run, and undeployed at the block's end (see
        `fnhost._runner`). Keep it under `if __name__ == "__main__":`."""
        if IN_COMPONENT:
            raise ExecutionError(
                "`app.run()` runs an app from a script (`python script.py`); inside a component "
                "the app runs already: put `with app.run():` under `if __name__ == \"__main__\":`")
        # Imported here: the runner is CPython's, not part of a component.
        from ._runner import AppRun

        return AppRun(self)


def _config(*, timeout, retries, max_containers, min_containers, buffer_containers, scaledown_window, memory,
            cpu, max_inputs, target_inputs) -> dict:
    """The `function-config` fields of a function's (or class's) options, checked."""
    return {
        "timeout_secs": _whole_seconds("timeout", timeout),
        "max_containers": _count("max_containers", max_containers),
        "min_containers": _count("min_containers", min_containers),
        "buffer_containers": _count("buffer_containers", buffer_containers),
        "scaledown_window_secs": _whole_seconds("scaledown_window", scaledown_window),
        "memory_mib": _count("memory", memory),
        "cpu_millicores": None if cpu is None else _count("cpu", round(cpu * 1000)),
        "max_inputs": _count("max_inputs", max_inputs),
        "target_inputs": _count("target_inputs", target_inputs),
        **_retry_config(retries),
    }


def _concurrent(config: dict, marked: Any) -> dict:
    """`config` with what `@fnhost.concurrent` wrote on `marked` (a body or a class)."""
    limits = getattr(marked, "__fnhost_concurrent__", None)
    if limits is None:
        return config
    return {
        **config,
        "max_inputs": _count("max_inputs", limits[0]),
        "target_inputs": _count("target_inputs", limits[1]),
    }


def _method(local: LocalClass, body: Callable) -> LocalFunction:
    """The method `body` of `local` as a local function `CLASS.METHOD` that runs on the
    container's instance."""
    signature = inspect.signature(body)
    name = f"{local.name}.{body.__name__}"
    if inspect.isasyncgenfunction(body):

        async def call(*args, **kwargs):
            async for item in body(held_instance(local.name), *args, **kwargs):
                yield item

    elif inspect.isgeneratorfunction(body):

        def call(*args, **kwargs):
            yield from body(held_instance(local.name), *args, **kwargs)

    elif inspect.iscoroutinefunction(body):

        async def call(*args, **kwargs):
            return await body(held_instance(local.name), *args, **kwargs)

    else:

        def call(*args, **kwargs):
            return body(held_instance(local.name), *args, **kwargs)

    call.__name__ = name
    call.__doc__ = body.__doc__
    call.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    for marker in ("__fnhost_batched__", "__fnhost_web__"):
        if hasattr(body, marker):
            setattr(call, marker, getattr(body, marker))
    if hasattr(body, "__fnhost_concurrent__"):
        raise InvalidError(
            f"`@fnhost.concurrent` is on the method `{name}`: it applies to a class's "
            "containers, so put it on the class, under `@app.cls()`"
        )
    return LocalFunction(call, local.config, entrypoint=False)


def _register(function: LocalFunction) -> LocalFunction:
    if function.name in REGISTRY:
        raise ValueError(f"two functions of this component are named `{function.name}`")
    REGISTRY[function.name] = function
    return function


def _count(option: str, value) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise TypeError(f"option `{option}` takes a whole number from 0, not {value!r}")
    return value


def _whole_seconds(option: str, value) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise TypeError(f"option `{option}` takes seconds (a number from 0), not {value!r}")
    return _count(option, math.ceil(value))


def _retry_config(retries) -> dict:
    config = {"retries": None, "retry_delay_ms": None, "backoff_coefficient": None, "max_retry_delay_ms": None}
    if isinstance(retries, Retries):
        config["retries"] = _count("retries", retries.max_retries)
        config["retry_delay_ms"] = _count("retries.initial_delay", round(retries.initial_delay * 1000))
        config["backoff_coefficient"] = float(retries.backoff_coefficient)
        config["max_retry_delay_ms"] = _count("retries.max_delay", round(retries.max_delay * 1000))
    elif retries is not None:
        config["retries"] = _count("retries", retries)
    return config
