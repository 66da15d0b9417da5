"""Sandboxes made and driven from inside functions, blocking and async (tests/all/sandboxes.rs)."""

import json

import fnhost

app = fnhost.App("sandboxes")

ECHO = "import sys\nfor line in sys.stdin:\n    print(line.strip().upper(), flush=True)\n"


@app.function()
def drive(code: str) -> dict:
    sb = fnhost.Sandbox.create(app=app, timeout=60)
    p = sb.exec("python", "-c", code, env={"WHO": "guest"})
    out = p.stdout.read()
    code = p.wait()
    echo = sb.exec("python", "-c", ECHO)
    echo.stdin.write("one\ntwo\n")
    echo.stdin.drain()
    first = next(iter(echo.stdout))
    echo.stdin.write_eof()
    echo.stdin.drain()
    rest = list(echo.stdout)
    try:
        sb.exec("bash", "-c", "true")
        refused = "ran"
    except fnhost.exception.NotFoundError as error:
        refused = "cannot run in a sandbox" in str(error)
    return {"id": sb.object_id, "out": out, "code": code, "first": first, "rest": rest, "refused": refused,
            "same": fnhost.Sandbox.from_id(sb.object_id).poll()}


@app.function()
async def drive_async(code: str) -> list:
    sb = await fnhost.Sandbox.create.aio(timeout=60)
    p = await sb.exec.aio("python", "-c", code)
    lines = [line async for line in p.stdout]
    code = await p.wait.aio()
    await sb.terminate.aio()
    return [lines, code, sb.returncode]


@app.function()
def entrypoint() -> list:
    sb = fnhost.Sandbox.create("python", "-c", "print(json_free := 7 * 6)", timeout=60)
    sb.wait()
    return [sb.stdout.read(), sb.returncode, json.dumps(None)]
