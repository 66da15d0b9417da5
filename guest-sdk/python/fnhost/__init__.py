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
installed by the host before the build.
Arguments, results, keys and items are JSON values on
the wire, as for Rust functions, so Python and Rust functions call each other and share dicts
and queues; a value JSON cannot carry (a `datetime`, a `set`, any object) travels pickled,
readable by Python functions only. Module-level code runs once, when the component is
built (componentize-py pre-initializes the module), not in each container.

Importing `fnhost` makes `time.sleep` and `asyncio.sleep` wait on the host.
"""

from . import exception
from ._app import App, Retries, WebEndpoint, batched, concurrent, web_endpoint
from ._cls import Cls, Obj, enter, exit, method, parameter
from ._function import Function, FunctionCall, FunctionStats
from ._image import Image
from ._secret import Secret
from ._storage import Dict, Queue
from ._time import install as _install_sleep
from ._volume import FileEntry, FileEntryType, Volume

_install_sleep()

__all__ = [
    "App",
    "Cls",
    "Dict",
    "FileEntry",
    "FileEntryType",
    "Function",
    "FunctionCall",
    "FunctionStats",
    "Image",
    "Obj",
    "Queue",
    "Retries",
    "Secret",
    "Volume",
    "WebEndpoint",
    "batched",
    "concurrent",
    "enter",
    "exception",
    "exit",
    "method",
    "parameter",
    "web_endpoint",
]
