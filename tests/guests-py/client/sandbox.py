"""Sandboxes from a script, as Modal's sandbox examples drive them (a code interpreter fed
through stdin, output read whole and line by line, from_id, terminate), only the import
changed. Prints one line per check; run by host/cli/tests/server.rs."""

import asyncio
import json

import fnhost

DRIVER = """
import json, sys
from contextlib import redirect_stdout
from io import StringIO
names = {}
while True:
    request = json.loads(input())
    out = StringIO()
    with redirect_stdout(out):
        try:
            exec(request["code"], names)
        except Exception as error:
            print("error:", error)
    print(json.dumps({"stdout": out.getvalue()}), flush=True)
"""


def run_code(process: fnhost.container_process.ContainerProcess, code: str) -> str:
    process.stdin.write(json.dumps({"code": code}))
    process.stdin.write("\n")
    process.stdin.drain()
    return json.loads(next(iter(process.stdout)))["stdout"]


app = fnhost.App.lookup("sandbox-test", create_if_missing=True)
sb = fnhost.Sandbox.create(app=app)
print("id:", sb.object_id.startswith("sb-"))
p = sb.exec("python", "-c", "print('hello from python')")
print("read:", p.stdout.read().strip(), p.wait(), p.returncode)

interpreter = sb.exec("python", "-c", DRIVER)
answers = [run_code(interpreter, code) for code in ("x = 10", "y = 5", "print(f'x + y = {x + y}')", "1 / 0")]
print("interpreter:", answers)

p = sb.exec("python", "-c", "import time\nfor i in range(3):\n    print('line', i, flush=True)\n    time.sleep(0.05)")
print("lines:", [line for line in p.stdout])

p = sb.exec("python", "-c", "import sys; print('oops', file=sys.stderr); sys.exit(3)")
print("stderr:", p.stderr.read().strip(), p.wait())

p = sb.exec("python", "-c", "open('/tmp/shared.txt', 'w').write('kept')")
p.wait()
p = sb.exec("python", "-c", "print(open('/tmp/shared.txt').read())", workdir="/tmp", env={"A": "1"})
print("files:", p.stdout.read().strip())

try:
    sb.exec("bash", "-c", "echo hi")
except fnhost.exception.NotFoundError as error:
    print("bash:", "cannot run in a sandbox" in str(error))

same = fnhost.Sandbox.from_id(sb.object_id)
print("from_id:", same.poll(), any(s.object_id == sb.object_id for s in fnhost.Sandbox.list(app_id="sandbox-test")))
sb.terminate()
try:
    sb.wait()
except fnhost.exception.SandboxTerminatedError:
    print("terminated:", sb.returncode, same.poll())


async def main():
    sb = await fnhost.Sandbox.create.aio(timeout=60)
    p = await sb.exec.aio("python", "-c", "print(6 * 7)")
    lines = [line async for line in p.stdout]
    code = await p.wait.aio()
    await sb.terminate.aio()
    return lines, code


print("aio:", asyncio.run(main()))

sb = fnhost.Sandbox.create("python", "-c", "print('entrypoint')", timeout=60)
sb.wait()
print("entrypoint:", sb.stdout.read().strip(), sb.returncode)

sb = fnhost.Sandbox.create(timeout=1)
try:
    sb.wait()
except fnhost.exception.SandboxTimeoutError:
    print("timeout:", sb.returncode)
