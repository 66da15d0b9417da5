"""Fan-out: 100 calls that each sleep one second finish together, in about one second.

`slow_square` is a blocking function with one input per container, so the 100 calls run on
100 containers at once; `main` gathers them with `asyncio.gather` of `remote.aio`.

    fnhost run examples/fanout-py/app.py
"""

import asyncio
import time

import fnhost

app = fnhost.App()


@app.function()
def slow_square(x):
    """Sleeps one second (on the host: the container holds no CPU), then squares `x`."""
    time.sleep(1)
    return x * x


@app.local_entrypoint()
async def main():
    start = time.monotonic()
    squares = await asyncio.gather(*[slow_square.remote.aio(x) for x in range(100)])
    print(
        f"{len(squares)} calls of 1 s each finished in {time.monotonic() - start:.2f} s "
        f"(sum of squares: {sum(squares)})"
    )
