"""An app whose image pip-installs real pure-Python packages from PyPI (named, and from a
requirements file) and sets a variable, as Modal's examples write it; `gpu=` and `region=` are Modal options a wasm guest ignores."""

import fnhost

image = (
    fnhost.Image.debian_slim(python_version="3.12")
    .pip_install("humanize==4.9.0", "primefac==2.0.12")
    .pip_install_from_requirements("requirements.txt")
    .env({"GREETING": "hello"})
)
app = fnhost.App("packages", image=image)

with image.imports():
    import humanize
    import six


@app.function(gpu="A10G", region="us-east")
def describe(n: int) -> str:
    import os

    size = humanize.naturalsize(n)
    return f"{os.environ['GREETING']}: {humanize.intcomma(n)}, {size}, six {six.__version__}"


@app.function()
def lazy_imports() -> list:
    """Imports in the body, of modules nothing imported at module level, as Modal's examples
    write them: the standard library's, and a subpackage of an installed package."""
    import csv
    import fractions
    import io
    from datetime import datetime

    import humanize.filesize

    rows = io.StringIO()
    csv.writer(rows).writerow([fractions.Fraction(1, 3), humanize.filesize.naturalsize(2048)])
    return [rows.getvalue().strip(), datetime.strptime("2026-12-06", "%Y-%m-%d").day]


@app.function()
def factors(n: int) -> list:
    """primefac defines a function `primefac` beside its submodule `primefac`: the build's
    loading of every submodule leaves the function in place, as a plain import does."""
    import primefac

    return sorted(primefac.primefac(n))
