"""Write fnhost functions in Python, with Modal's spelling.

```python
import fnhost

app = fnhost.App()

@app.function()
def blocking_function():
    return 42

@app.function()
async def async_function():
    x = await blocking_function.remote.aio()
    return x * 10

@app.local_entrypoint()
def blocking_main():
    print(async_function.remote())  # => 420
```

`fnhost run app.py::blocking_main` builds the file into a component with componentize-py and
runs it. Every call goes through the host: `f.remote(...)` blocks the caller's instance until
the result is back, `await f.remote.aio(...)` lets its other inputs run; `f.spawn(...)` starts
a call in the background (`FunctionCall`), `f.map(...)` fans out (`starmap`, `for_each`,
`spawn_map` too), `f.local(...)` runs the body
right here. Classes are Modal's too: `@app.cls(...)` with `fnhost.parameter()`,
`@fnhost.enter()`, `@fnhost.exit()` and `@fnhost.method()`, called as
`Model(size=3).predict.remote(2)`. `fnhost.Dict` and `fnhost.Queue` are Modal's dicts and
queues, kept by the host between calls (`Dict.from_name(name, create_if_missing=True)`,
`with fnhost.Queue.ephemeral() as q:`); `fnhost.Secret` sets a function's environment
variables and `fnhost.Volume` mounts a directory in its containers (`volumes={"/data": vol}`).
`fnhost.Image.debian_slim().pip_install("humanize")` (as `App(image=)` or `function(image=)`)
bundles pip packages into the component: pure-Python wheels, read from the source and
installed by the host before the build. `schedule=fnhost.Period(minutes=5)` or
`schedule=fnhost.Cron("0 9 * * 1-5", timezone="Europe/Paris")` has `fnhost serve` run a
function by itself; `fnhost.current_function_call_id()` names the call a body serves.
Arguments, results, keys and items are JSON values on
the wire, as for Rust functions, so Python and Rust functions call each other and share dicts
and queues; a value JSON cannot carry (a `datetime`, a `set`, any object) travels pickled,
readable by Python functions only. Module-level code runs once, when the component is
built (componentize-py pre-initializes the module), not in each container.

Inside a component, importing `fnhost` makes `time.sleep` and `asyncio.sleep` wait on the host.

The same package, installed into CPython (`pip install guest-sdk/python`), is a client of a
running `fnhost serve` (`FNHOST_URL`, with `FNHOST_TOKEN`) over its HTTP API, with no
dependency beyond the standard library: `fnhost.Function.from_name("app", "f").remote(...)`
(`.remote.aio`, `.spawn`, `.map`, `.starmap`, `FunctionCall.from_id(id).get()`,
`FunctionCall.gather`) and `fnhost.Dict`, `fnhost.Queue` and `fnhost.Volume` `.from_name(...)`
reach its apps and storage, with the values and exceptions a function sees. A script that
defines an app runs it with `python script.py`, as on Modal:

```python
if __name__ == "__main__":
    with fnhost.enable_output(), app.run():
        print(async_function.remote())
```

`app.run()` deploys the script to `FNHOST_URL`'s server, or to a private `fnhost serve` it
starts (the `fnhost` command: `FNHOST_BIN`, else on `PATH`), and undeploys it when the block
ends; `enable_output()` streams the app's log meanwhile; `f.local(...)` runs a body in CPython.
What the HTTP API does not serve yet (generators, class methods, `with_options`, ephemeral
dicts and queues) raises `NotImplementedError`.
"""

from . import exception
from ._app import (App, Retries, WebEndpoint, asgi_app, batched, concurrent, fastapi_endpoint, web_endpoint,
                   wsgi_app)
from ._cls import Cls, Obj, enter, exit, method, parameter
from ._current import current_function_call_id, current_input_id
from ._function import Function, FunctionCall, FunctionStats
from ._image import Image
from ._phase import IN_COMPONENT
from ._schedule import Cron, Period
from ._secret import Secret
from ._storage import Dict, Queue
from ._sandbox import ContainerProcess, Sandbox
from ._volume import FileEntry, FileEntryType, Volume
from . import container_process  # noqa: E402  (Modal's `modal.container_process`)

__all__ = [
    "App",
    "Cls",
    "ContainerProcess",
    "Cron",
    "Dict",
    "FileEntry",
    "FileEntryType",
    "Function",
    "FunctionCall",
    "FunctionStats",
    "Image",
    "Obj",
    "Period",
    "Queue",
    "Retries",
    "Sandbox",
    "Secret",
    "Volume",
    "WebEndpoint",
    "asgi_app",
    "batched",
    "concurrent",
    "current_function_call_id",
    "current_input_id",
    "enter",
    "exception",
    "exit",
    "fastapi_endpoint",
    "method",
    "parameter",
    "web_endpoint",
    "wsgi_app",
]

if IN_COMPONENT:
    from ._time import install as _install_sleep

    _install_sleep()
else:
    from ._output import enable_output

    __all__ += ["enable_output"]
