"""Where the SDK runs, and the host's imports it calls there.

Inside a component, componentize-py's bindings (`wit_world`) are importable: `host`, `storage`,
`sandboxes` and `types` are the contract's imports (`wit/fnhost.wit`), served by the host that runs the
component. In CPython (`pip install guest-sdk/python`, a script or a client) they are not, and
the same three come from `fnhost._http`, which serves them over a running `fnhost serve`'s
HTTP API. Every module that calls the host imports them from here, so the SDK's handles are
one code for both, and the choice is made once, at import.

Inside a component, componentize-py imports the app's module when it builds the component and
snapshots the interpreter; the host is not there then, and a call to it aborts the build with
a trap that names no line of the app. The generated main module marks the end of the build
(`built()`), and every call to the host checks `require_host()` first, so a call made by
module-level code fails the build with a Python error at the line that made it. In CPython the
server is there from the start.
"""

try:
    from componentize_py_types import Err
    from wit_world.imports import host, sandboxes, storage, types

    #: Whether this is a component (else CPython, calling a server over HTTP).
    IN_COMPONENT = True
except ModuleNotFoundError:
    from ._http import Err, host, storage, types

    #: Sandboxes are reached over HTTP in CPython (`fnhost._sandbox`), not through imports.
    sandboxes = None
    IN_COMPONENT = False

__all__ = ["IN_COMPONENT", "Err", "built", "host", "require_host", "sandboxes", "storage", "types"]

_built = not IN_COMPONENT


def built() -> None:
    """Marks the app's module as imported: from here on (and in every container, which starts
    from the snapshot taken after this) the host is there."""
    global _built
    _built = True


def require_host() -> None:
    """Raises when called while the component is being built."""
    if not _built:
        raise RuntimeError(
            "fnhost calls cannot run at module level: module-level code runs once, when the "
            "component is built; call functions from a function body or an entrypoint"
        )
