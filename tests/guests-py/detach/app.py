"""A Python test app for `fnhost run --detach`: its entrypoint spawns a call that waits for a
release the test sends only after the command has exited, so the call can finish only if the
server kept it running."""

import fnhost

app = fnhost.App("detach")


@app.function()
def outlive(n: int) -> int:
    release = fnhost.Queue.from_name("detach-release", create_if_missing=True)
    release.get(timeout=120)
    fnhost.Dict.from_name("detach-done", create_if_missing=True)["result"] = n * 2
    return n * 2


@app.local_entrypoint()
def main():
    # Made here (opened at their first use), before the command exits: the test reads and
    # fills them after.
    fnhost.Queue.from_name("detach-release", create_if_missing=True).object_id
    fnhost.Dict.from_name("detach-done", create_if_missing=True).object_id
    call = outlive.spawn(21)
    print(f"spawned {call.object_id}")
