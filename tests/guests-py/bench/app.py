"""The Python functions the benchmark suite (`tests/benches/suite/python.rs`) measures; loaded
beside the Rust bench app (`tests/guests/bench`) for the calls across languages."""

import fnhost

app = fnhost.App()


@app.function(max_containers=2000)
def py_noop():
    """The trivial blocking function: the one containers are started for, and Rust's
    `ping_py` calls."""


@app.function()
def py_ping_rust(n):
    """`n` sequential blocking calls of Rust's `noop_blocking`; timed by the caller."""
    noop = fnhost.Function.from_name("noop_blocking")
    for _ in range(n):
        noop.remote()


@app.function()
def py_ping_py(n):
    """`n` sequential blocking calls of `py_noop`; timed by the caller."""
    for _ in range(n):
        py_noop.remote()
