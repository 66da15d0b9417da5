"""Reads what an fnhost app's images ask for from its source files, without running them.

Run by the host before a build, with the app's directory and its `.py` files (relative paths)
as arguments; prints one JSON object: the pip packages, requirements files and index options
the images name, the local modules they add, the Python versions they ask for, the image
methods a WebAssembly guest cannot honour (`refused`), and the function options it runs
without (`ignored`). Only literals are read: the SDK checks at build that what the app asks for
is what was installed, so a computed argument stops the build there.
"""

import ast
import json
import sys

NO_SYSTEM = (
    "fnhost's functions run in WebAssembly, with no operating system to install into or "
    "commands to run; only Python packages carry over (pip_install)"
)
NO_REGISTRY = "fnhost builds from Python source, not from container images"
REFUSED = {
    "apt_install": NO_SYSTEM,
    "run_commands": NO_SYSTEM,
    "dockerfile_commands": NO_SYSTEM,
    "micromamba_install": NO_SYSTEM,
    "run_function": NO_SYSTEM,
    "from_registry": NO_REGISTRY,
    "from_dockerfile": NO_REGISTRY,
    "from_aws_ecr": NO_REGISTRY,
    "from_gcp_artifact_registry": NO_REGISTRY,
    "micromamba": NO_REGISTRY,
}
PIP = {"pip_install", "uv_pip_install"}
DECORATORS = {"function", "cls", "App"}
IGNORED = {
    "gpu", "region", "cloud", "ephemeral_disk", "nonpreemptible", "proxy", "i6pn", "block_network",
    "restrict_modal_access", "enable_memory_snapshot", "experimental_options", "include_source",
    "serialized", "name", "startup_timeout", "allow_cross_region_volumes", "network_file_systems",
    "single_use_containers", "is_generator",
}


def strings(node):
    """The strings a literal argument spells: a string, or a list or tuple of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [text for element in node.elts for text in strings(element)]
    if isinstance(node, ast.Starred):
        return strings(node.value)
    return []


def called(node):
    """The name a call is made to: `x.pip_install(...)` and `pip_install(...)` alike."""
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


def imported(node):
    """The modules an import statement may load, wherever it stands (a body's too): `import
    a.b` names `a.b`; `from a import b` names `a` and, when `b` is a submodule, `a.b`. Relative
    imports are left to the app's own modules."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or not node.module:
        return []
    return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"]


def read(path, where, found):
    with open(path, "rb") as source:
        tree = ast.parse(source.read(), filename=where)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found["imports"].extend(imported(node))
            continue
        if not isinstance(node, ast.Call):
            continue
        name = called(node)
        line = f"{where}, line {node.lineno}"
        keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
        if name in PIP:
            for argument in node.args:
                found["packages"].extend(strings(argument))
        if name in PIP or name == "pip_install_from_requirements":
            for option in ("index_url", "extra_index_url", "find_links"):
                found[option].extend(strings(keywords.get(option, ast.Constant(None))))
            pre = keywords.get("pre")
            if isinstance(pre, ast.Constant) and pre.value is True:
                found["pre"] = True
        if name == "pip_install_from_requirements" and node.args:
            found["requirements"].extend(strings(node.args[0]))
        if name == "add_local_python_source":
            for argument in node.args:
                found["local_sources"].extend(strings(argument))
        if name == "debian_slim":
            found["python_versions"].extend(strings(keywords.get("python_version", ast.Constant(None))))
        if name in REFUSED:
            found["refused"].append(f"Image.{name} ({line}): {REFUSED[name]}")
        if name in DECORATORS:
            for option in keywords:
                # An app's `name=` names it (the deploy's name); a function's is ignored.
                if option in IGNORED and (name, option) != ("App", "name"):
                    found["ignored"].append(f"{option}= ({line})")
        docs = keywords.get("docs")
        if name == "fastapi_endpoint" and isinstance(docs, ast.Constant) and docs.value is True:
            found["ignored"].append(f"docs= ({line}: no OpenAPI page is served)")


def main():
    root, files = sys.argv[1], sys.argv[2:]
    found = {
        "packages": [], "requirements": [], "index_url": [], "extra_index_url": [], "find_links": [],
        "pre": False, "local_sources": [], "python_versions": [], "refused": [], "ignored": [],
        "imports": [],
    }
    for relative in files:
        try:
            read(f"{root}/{relative}", relative, found)
        except SyntaxError:
            # The build reports it, with componentize-py's message, if the file is imported.
            continue
    found["imports"] = sorted(set(found["imports"]))
    json.dump(found, sys.stdout)


main()
