"""Schedules (Modal's `Period` and `Cron`): when a deployed app runs a function by itself.

`@app.function(schedule=fnhost.Period(days=1))` or `schedule=fnhost.Cron("0 9 * * 1-5",
timezone="Europe/Paris")`. Only `fnhost serve` fires them (a deployed app, as on Modal): a
Period counts from the deploy (a redeploy starts it again), a Cron follows the clock of its
time zone. Both are checked here as far as Python can (the parts of a period, the fields of
an expression); the host checks the expression and the zone when it loads the app.

Invariant: a schedule is a plain value the component describes to the host; it runs nothing
in the guest.
"""

from typing import Union


class Period:
    """Every period after the deploy (Modal's `modal.Period`), counted on the calendar in UTC:
    `days=1` fires at the deploy's time of day, `months=1` on its day of the month."""

    def __init__(self, *, years: int = 0, months: int = 0, weeks: int = 0, days: int = 0, hours: int = 0,
                 minutes: int = 0, seconds: float = 0) -> None:
        parts = {"years": years, "months": months, "weeks": weeks, "days": days, "hours": hours,
                 "minutes": minutes}
        for name, value in parts.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise TypeError(f"Period: `{name}` takes a whole number of at least 0, not {value!r}")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise TypeError(f"Period: `seconds` takes a number of at least 0, not {seconds!r}")
        millis = round(seconds * 1000)
        if not any(parts.values()) and millis < 1000:
            raise ValueError("Period: a period is at least one second")
        self.parts = parts
        self.millis = millis

    def __repr__(self) -> str:
        given = [f"{name}={value}" for name, value in self.parts.items() if value]
        if self.millis:
            given.append(f"seconds={self.millis / 1000:g}")
        return f"Period({', '.join(given)})"


class Cron:
    """At the times a cron expression names (Modal's `modal.Cron`): five fields (minute hour
    day-of-month month day-of-week), or six with seconds first, in `timezone` (IANA)."""

    def __init__(self, cron_string: str, timezone: str = "UTC") -> None:
        if not isinstance(cron_string, str) or len(cron_string.split()) not in (5, 6) and not cron_string.startswith("@"):
            raise ValueError(f"Cron: `{cron_string}` is not a cron expression of 5 fields (or 6, seconds first)")
        if not isinstance(timezone, str) or not timezone:
            raise TypeError("Cron: `timezone` takes an IANA zone name such as \"Europe/Paris\"")
        self.cron_string = cron_string
        self.timezone = timezone

    def __repr__(self) -> str:
        return f"Cron({self.cron_string!r}, timezone={self.timezone!r})"


Schedule = Union[Period, Cron]


def checked(schedule) -> "Schedule | None":
    """`schedule` when it is one (or None); a clear error for anything else."""
    if schedule is None or isinstance(schedule, (Period, Cron)):
        return schedule
    raise TypeError(f"`schedule` takes fnhost.Period(...) or fnhost.Cron(...), not {schedule!r}")
