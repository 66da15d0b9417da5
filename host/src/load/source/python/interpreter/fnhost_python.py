"""fnhost's `python` for sandboxes: CPython as a `wasi:cli` command.

The host builds this module once with componentize-py. What runs at module level runs at
build time, inside the build's interpreter: it copies the standard library (mounted at
`/python` during the build, and only then) to the build's second path entry, which the host
keeps beside the component and mounts read-only at `/python` in every process, so that a
program imports any module of it; and it imports the modules programs use most, so that
those are in the component's memory image and cost nothing to import. What `Run.run` does
runs in each process: it takes the process's arguments, environment and working directory
(the build's are in the image) and runs the program as CPython's `python` command would.
"""

import code
import importlib
import os
import runpy
import shutil
import sys
import traceback

from wit_world import exports
from wit_world.imports import environment, process

# Build time: the standard library, for the processes to import from.
shutil.copytree(
    "/python",
    "/1/stdlib",
    ignore=shutil.ignore_patterns(
        "__pycache__", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages"
    ),
)

for _name in (
    "argparse", "ast", "base64", "bisect", "calendar", "collections", "contextlib", "copy",
    "csv", "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools",
    "hashlib", "heapq", "html", "inspect", "io", "itertools", "json", "math", "operator",
    "pathlib", "pprint", "random", "re", "shlex", "statistics", "string", "struct", "textwrap",
    "time", "typing", "unittest", "uuid", "codeop", "tokenize", "linecache", "_strptime",
):
    try:
        importlib.import_module(_name)
    except Exception:
        pass

USAGE = "usage: python [-c cmd | -m mod | file | -] [arg] ...\n"

# Options CPython's `python` takes that change nothing here (output is unbuffered, there is
# no user site, no bytecode is written); those taking a value skip it.
IGNORED = frozenset("-u -B -E -s -S -I -q -O -OO -b -bb -d -P -R -v".split())
IGNORED_WITH_VALUE = frozenset(("-W", "-X"))


class Interactive(code.InteractiveConsole):
    """CPython's interactive mode on a pipe: prompts and banner on stderr, values on stdout."""

    def raw_input(self, prompt=""):
        sys.stderr.write(prompt)
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")


def take_process_state():
    """The process's own environment and working directory in place of the build's."""
    os.environ.clear()
    for key, value in environment.get_environment():
        os.environ[key] = value
    cwd = environment.initial_cwd()
    if cwd:
        os.chdir(cwd)
    sys.dont_write_bytecode = True
    # The sandbox's image's packages, when it has some.
    if os.path.isdir("/packages") and os.listdir("/packages"):
        sys.path.insert(0, "/packages")


def run_source(source, filename, namespace):
    exec(compile(source, filename, "exec"), namespace)


def main(args):
    """Runs `python ARGS`; returns the exit status."""
    interactive = False
    while args and args[0].startswith("-") and args[0] != "-":
        option, args = args[0], args[1:]
        if option == "-c":
            if not args:
                sys.stderr.write("Argument expected for the -c option\n" + USAGE)
                return 2
            sys.argv = ["-c"] + args[1:]
            namespace = {"__name__": "__main__", "__builtins__": __builtins__}
            run_source(args[0], "<string>", namespace)
            return finish(interactive, namespace)
        if option == "-m":
            if not args:
                sys.stderr.write("Argument expected for the -m option\n" + USAGE)
                return 2
            sys.argv = [args[0]] + args[1:]
            namespace = runpy.run_module(args[0], run_name="__main__", alter_sys=True)
            return finish(interactive, namespace)
        if option == "-i":
            interactive = True
        elif option in ("-V", "--version"):
            print("Python " + sys.version.split()[0])
            return 0
        elif option in ("-h", "--help", "-?"):
            print(USAGE, end="")
            return 0
        elif option in IGNORED_WITH_VALUE:
            args = args[1:]
        elif option not in IGNORED:
            sys.stderr.write(f"Unknown option: {option}\n" + USAGE)
            return 2
    if args and args[0] != "-":
        sys.argv = list(args)
        namespace = runpy.run_path(args[0], run_name="__main__")
        return finish(interactive, namespace)
    sys.argv = list(args) or [""]
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    if interactive:
        return finish(True, namespace)
    run_source(sys.stdin.read(), "<stdin>", namespace)
    return 0


def finish(interactive, namespace):
    """After the program: with `-i`, an interactive interpreter in its namespace."""
    if interactive:
        banner = f"Python {sys.version} on {sys.platform}"
        Interactive(namespace).interact(banner=banner, exitmsg="")
    return 0


def status(exit):
    """The exit status `sys.exit(code)` asks for, printing a message as CPython does."""
    code = exit.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def print_program_traceback(error):
    """The traceback of what the program raised, without this module's frames."""
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename == __file__:
        frames = frames.tb_next
    traceback.print_exception(type(error), error, frames)


class Run(exports.Run):
    def run(self) -> None:
        take_process_state()
        try:
            code = main(environment.get_arguments()[1:])
        except SystemExit as exit:
            code = status(exit)
        except BaseException as error:
            print_program_traceback(error)
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        if code:
            process.exit(code)
