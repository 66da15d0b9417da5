"""Workers fed through a Queue keep their results in a Dict, as Modal's examples do: the
entrypoint queues 100 jobs, four workers take them until the queue stays empty, and each result
is claimed atomically, so no job is done twice.

    fnhost run examples/jobs-py/app.py     # prints: done: 100, kept: 100, sum: 328350
"""

import queue

import fnhost

app = fnhost.App()
results = fnhost.Dict.from_name("jobs-results", create_if_missing=True)  # opens on first use
jobs = fnhost.Queue.from_name("jobs", create_if_missing=True)


@app.function()
def worker() -> int:
    done = 0
    while True:
        try:
            n = jobs.get(timeout=0.5)  # waits on the host, woken by a put
        except queue.Empty:
            return done
        if results.put(n, n * n, skip_if_exists=True):  # atomic: one writer per key
            done += 1


@app.local_entrypoint()
def main():
    results.clear()
    jobs.clear()
    calls = [worker.spawn() for _ in range(4)]
    jobs.put_many(list(range(100)))
    done = sum(call.get() for call in calls)
    print(f"done: {done}, kept: {results.len()}, sum: {sum(results.values())}")
