"""Workers fed through a Queue keep their results in a Dict, as Modal's examples do: the
entrypoint queues 100 jobs, four workers take them until the queue stays empty, and each result
is claimed atomically, so no job is done twice. A last function writes them to a file in a
Volume, named by a variable its Secret sets.

    fnhost run examples/jobs-py/app.py     # prints: done: 100, kept: 100, sum: 328350
                                           #         report: squares.txt, 100 lines
    fnhost volume get jobs-reports squares.txt -
"""

import os
import queue

import fnhost

app = fnhost.App()
results = fnhost.Dict.from_name("jobs-results", create_if_missing=True)  # opens on first use
jobs = fnhost.Queue.from_name("jobs", create_if_missing=True)
reports = fnhost.Volume.from_name("jobs-reports", create_if_missing=True)


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


@app.function(
    volumes={"/reports": reports},
    secrets=[fnhost.Secret.from_dict({"REPORT_NAME": "squares.txt"})],
)
def write_report() -> str:
    name = os.environ["REPORT_NAME"]
    with open(f"/reports/{name}", "w") as report:
        for n, square in sorted(results.items()):
            report.write(f"{n} {square}\n")
    reports.commit()  # durable, and within the volume's quota
    return name


@app.function(volumes={"/reports": reports})
def count_lines(name: str) -> int:
    with open(f"/reports/{name}") as report:
        return sum(1 for _ in report)


@app.local_entrypoint()
def main():
    results.clear()
    jobs.clear()
    calls = [worker.spawn() for _ in range(4)]
    jobs.put_many(list(range(100)))
    done = sum(call.get() for call in calls)
    print(f"done: {done}, kept: {results.len()}, sum: {sum(results.values())}")
    name = write_report.remote()
    print(f"report: {name}, {count_lines.remote(name)} lines")
