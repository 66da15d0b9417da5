"""Images (Modal's `modal.Image`): the Python packages and environment an app's functions get.

A WebAssembly guest has no operating system to install into; what carries over from Modal's
images is their Python part. Before the build, the host reads every image chain from the app's
source without running it (`pip_install("six")`, `pip_install_from_requirements("req.txt")`),
installs those packages with pip (pure-Python wheels, or wasm32-wasi ones from an index you
name), and bundles them into the component. Here, while the component is built, each method
checks that what it asks for is what the host installed, so an argument the source does not
spell out (a list built at run time) stops the build naming the call, instead of a module
missing later. What cannot exist in a wasm guest (`apt_install`, `run_commands`,
`from_registry`, ...) stops the build with the reason. In CPython (a script that defines the
app) there is no build to check: the packages are the component's, and an import of them in
`with image.imports():` that fails here is skipped, as on Modal.
"""

import re
from typing import Mapping, Optional, Sequence

from ._phase import IN_COMPONENT

#: The requirements the host installed for this build, normalized (set by the generated main
#: module before the app is imported).
INSTALLED: frozenset = frozenset()

#: The CPython the component embeds (componentize-py's).
PYTHON_VERSION = "3.14"


class ImageError(Exception):
    """What an image asks for cannot be honoured in a WebAssembly guest."""


def normalized(requirement: str) -> str:
    """A requirement as the host compares it: no spaces, lower case, `_` and `.` in the name
    read as `-` (PEP 503)."""
    text = "".join(requirement.split())
    name = re.match(r"[A-Za-z0-9._-]*", text).group(0)
    return re.sub(r"[-_.]+", "-", name).lower() + text[len(name):]


def _unsupported(method: str, why: str):
    def refuse(*_args, **_kwargs):
        raise ImageError(f"Image.{method}: {why}")

    refuse.__name__ = method
    return staticmethod(refuse)


_NO_SYSTEM = (
    "fnhost's functions run in WebAssembly, with no operating system to install into or "
    "commands to run; only Python packages carry over (pip_install)"
)
_NO_REGISTRY = "fnhost builds from Python source, not from container images"


class Image:
    """The Python packages and environment variables of the functions that use it. Methods
    return a new image, as Modal's do."""

    def __init__(self, packages: Sequence[str] = (), env: Optional[Mapping[str, str]] = None) -> None:
        self._packages = tuple(packages)
        self._env = dict(env or {})

    @staticmethod
    def debian_slim(python_version: Optional[str] = None, force_build: bool = False) -> "Image":
        """An empty image. Functions run on the CPython the component embeds (3.14); another
        `python_version` is noted by the host's build with a warning."""
        return Image()

    def pip_install(self, *packages, index_url: Optional[str] = None, extra_index_url: Optional[str] = None,
                    find_links: Optional[str] = None, pre: bool = False, extra_options: str = "",
                    force_build: bool = False, secrets: Sequence = (), gpu=None) -> "Image":
        """Adds pip packages (`"humanize==4.9.0"`, lists of them too)."""
        added = []
        for package in _flatten(packages):
            if not isinstance(package, str):
                raise TypeError(f"Image.pip_install takes package names, not {type(package).__name__}")
            if IN_COMPONENT and normalized(package) not in INSTALLED:
                raise ImageError(
                    f"Image.pip_install({package!r}): the host did not find this package in the "
                    "app's source, where it reads an image's packages before the build: write "
                    "the packages as string literals"
                )
            added.append(package)
        return Image(self._packages + tuple(added), self._env)

    uv_pip_install = pip_install

    def pip_install_from_requirements(self, requirements_txt: str, find_links: Optional[str] = None, *,
                                      index_url: Optional[str] = None, extra_index_url: Optional[str] = None,
                                      pre: bool = False, extra_options: str = "", force_build: bool = False,
                                      secrets: Sequence = (), gpu=None) -> "Image":
        """Adds the packages of a requirements file (a path relative to the app's directory);
        the host installs them before the build."""
        if not isinstance(requirements_txt, str):
            raise TypeError("Image.pip_install_from_requirements takes a path")
        return Image(self._packages, self._env)

    def add_local_python_source(self, *modules: str, copy: bool = False, ignore=()) -> "Image":
        """Local modules the functions import: the app's directory is always in the component,
        and the host adds a module found beside it or in the current directory."""
        for module in modules:
            if not isinstance(module, str):
                raise TypeError("Image.add_local_python_source takes module names")
        return Image(self._packages, self._env)

    def env(self, vars: Mapping[str, str]) -> "Image":
        """Sets environment variables in the containers of the functions that use it."""
        merged = dict(self._env)
        for key, value in vars.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("Image.env takes strings")
            merged[key] = value
        return Image(self._packages, merged)

    def imports(self):
        """A context for imports of the image's packages (Modal's): they are in the component,
        so imports inside it run as anywhere else."""
        return _Imports()

    apt_install = _unsupported("apt_install", _NO_SYSTEM)
    run_commands = _unsupported("run_commands", _NO_SYSTEM)
    dockerfile_commands = _unsupported("dockerfile_commands", _NO_SYSTEM)
    micromamba_install = _unsupported("micromamba_install", _NO_SYSTEM)
    run_function = _unsupported("run_function", _NO_SYSTEM)
    from_registry = _unsupported("from_registry", _NO_REGISTRY)
    from_dockerfile = _unsupported("from_dockerfile", _NO_REGISTRY)
    from_aws_ecr = _unsupported("from_aws_ecr", _NO_REGISTRY)
    from_gcp_artifact_registry = _unsupported("from_gcp_artifact_registry", _NO_REGISTRY)
    micromamba = _unsupported("micromamba", _NO_REGISTRY)

    def __repr__(self) -> str:
        return f"Image(packages={list(self._packages)!r})"


class _Imports:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, *_exc) -> bool:
        return not IN_COMPONENT and kind is not None and issubclass(kind, ImportError)


def _flatten(packages) -> list:
    found = []
    for package in packages:
        if isinstance(package, (list, tuple)):
            found.extend(_flatten(package))
        else:
            found.append(package)
    return found


def environment(image: Optional[Image]) -> list:
    """The variables `image` sets, as `(key, value)` pairs; none without an image."""
    if image is None:
        return []
    if not isinstance(image, Image):
        raise TypeError(f"`image` takes an fnhost.Image, not {type(image).__name__}")
    return list(image._env.items())
