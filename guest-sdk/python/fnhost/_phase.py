"""Whether the component is being built or is running.

componentize-py imports the app's module when it builds the component and snapshots the
interpreter; the host is not there then, and a call to it aborts the build with a trap that
names no line of the app. The generated main module marks the end of the build (`built()`),
and every call to the host checks `require_host()` first, so a call made by module-level code
fails the build with a Python error at the line that made it.
"""

_built = False


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
