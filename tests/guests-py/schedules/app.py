"""A Python test app for schedules (`schedule=fnhost.Period(...)` and `fnhost.Cron(...)`):
functions that `fnhost serve` runs by itself, each run telling the test what it saw through a
queue or a dict."""

import time

import fnhost

app = fnhost.App("schedules")


@app.function(schedule=fnhost.Period(seconds=1))
def every_second():
    """Puts the id of the call it serves in the queue `ticks`."""
    fnhost.Queue.from_name("ticks", create_if_missing=True).put(fnhost.current_function_call_id())


@app.function(schedule=fnhost.Period(seconds=1))
def slow():
    """Runs for 2.5 s, longer than its period: the ticks that come meanwhile are skipped.
    Notes in the dict `slow` whether it ever found another run still going."""
    runs = fnhost.Dict.from_name("slow", create_if_missing=True)
    if runs.get("running", False):
        runs["overlapped"] = True
    runs["running"] = True
    time.sleep(2.5)
    runs["running"] = False
    runs["done"] = runs.get("done", 0) + 1


@app.function(schedule=fnhost.Period(hours=1))
def hourly():
    """Fires an hour after each deploy."""


@app.function(schedule=fnhost.Cron("0 9 * * 1-5", timezone="Europe/Paris"))
def weekday_mornings():
    """Fires at nine on weekdays, Paris time."""
