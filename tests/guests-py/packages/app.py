"""An app whose image pip-installs real pure-Python packages from PyPI (named, and from a
requirements file) and sets a variable, as Modal's examples write it; `gpu=` and `region=` are Modal options a wasm guest ignores."""

import fnhost

image = (
    fnhost.Image.debian_slim(python_version="3.12")
    .pip_install("humanize==4.9.0")
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
