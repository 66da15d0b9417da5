//! Schedules (Modal's `schedule=`): when a deployed app runs a function by itself.
//!
//! A [`Schedule`] is checked when the app loads (a cron expression that does not parse, a
//! time zone that does not exist, a period shorter than a second: a load error naming it), so
//! that computing a tick never fails later. Ticks are pure arithmetic on instants: a
//! [`Period`] counts from an anchor (the deploy) on the UTC calendar, a cron schedule follows
//! the wall clock of its zone, daylight-saving changes included (croner's rules: a skipped
//! local time fires at the first time after the change, a repeated one once). What fires them
//! is the server's concern.

use chrono::{DateTime, Months, TimeDelta, Timelike, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::Serialize;
use std::fmt;
use std::time::SystemTime;

/// When a deployed app runs a function by itself, with no arguments.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Every period after the deploy.
    Period(Period),
    /// At the times a cron expression names, in a time zone.
    Cron(CronSchedule),
}

/// A period (Modal's `Period(days=1)`): the sum of its parts, at least one second. Its
/// months and years are calendar months (the deploy's day of the month, clamped to the
/// month's last day); the rest is a fixed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// Years, as twelve months each.
    pub years: u32,
    /// Calendar months.
    pub months: u32,
    /// Weeks of seven days.
    pub weeks: u32,
    /// Days of 24 hours (UTC has no daylight saving).
    pub days: u32,
    /// Hours.
    pub hours: u32,
    /// Minutes.
    pub minutes: u32,
    /// Seconds, in milliseconds.
    pub millis: u64,
}

/// A cron schedule (Modal's `Cron("0 9 * * 1-5", timezone="Europe/Paris")`).
#[derive(Debug, Clone, Serialize)]
pub struct CronSchedule {
    /// The expression as written: five fields, or six with seconds first.
    pub expression: String,
    /// Its IANA time zone.
    pub timezone: String,
    /// Boxed: croner's parsed pattern is large, a period small.
    #[serde(skip)]
    cron: Box<Cron>,
    #[serde(skip)]
    zone: chrono_tz::Tz,
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.timezone == other.timezone
    }
}

/// Why a schedule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSchedule(pub String);

impl Period {
    /// The period with its parts, checked: at least one second, and small enough that its
    /// ticks stay within the calendar.
    pub fn new(self) -> Result<Period, InvalidSchedule> {
        let months = u64::from(self.years) * 12 + u64::from(self.months);
        if months > 12 * 1000 {
            return Err(InvalidSchedule("a period is at most 1000 years".into()));
        }
        let fixed = self.fixed_millis();
        if months == 0 && fixed < 1000 {
            return Err(InvalidSchedule("a period is at least one second".into()));
        }
        if fixed > 1000 * 86_400 * 366 * 1000 {
            return Err(InvalidSchedule("a period is at most 1000 years".into()));
        }
        Ok(self)
    }

    /// Its calendar months.
    fn calendar_months(&self) -> u32 {
        self.years * 12 + self.months
    }

    /// Its fixed part, in milliseconds (saturated: any part may be as large as its type).
    fn fixed_millis(&self) -> u64 {
        // At most (2^32 × 8 × 1440 + 2^32 × 61) × 60 000 < 2^63: only the milliseconds
        // added can overflow.
        let minutes = (u64::from(self.weeks) * 7 + u64::from(self.days)) * 1440
            + u64::from(self.hours) * 60
            + u64::from(self.minutes);
        (minutes * 60_000).saturating_add(self.millis)
    }

    /// The `count`th tick after `anchor` (`count` periods later); `None` past the calendar.
    fn tick(&self, anchor: DateTime<Utc>, count: u32) -> Option<DateTime<Utc>> {
        let months = self.calendar_months().checked_mul(count)?;
        let fixed = i64::try_from(self.fixed_millis().checked_mul(u64::from(count))?).ok()?;
        anchor
            .checked_add_months(Months::new(months))?
            .checked_add_signed(TimeDelta::try_milliseconds(fixed)?)
    }

    /// The first tick strictly after `after`, counting from `anchor`.
    fn next_after(&self, anchor: DateTime<Utc>, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // An estimate of how many periods fit (a month at its shortest, so never too many),
        // then forward to the first tick past `after`.
        let shortest = u64::from(self.calendar_months()) * 28 * 86_400_000 + self.fixed_millis();
        let elapsed = u64::try_from((after - anchor).num_milliseconds()).unwrap_or(0);
        let mut count = u32::try_from(elapsed / shortest.max(1))
            .unwrap_or(u32::MAX)
            .saturating_sub(1)
            .max(1);
        loop {
            let tick = self.tick(anchor, count)?;
            if tick > after {
                return Some(tick);
            }
            count = count.checked_add(1)?;
        }
    }
}

impl CronSchedule {
    /// Parses `expression` (five fields, or six with seconds first; `@daily` and the other
    /// nicknames too) in the IANA zone `timezone`.
    pub fn new(expression: &str, timezone: &str) -> Result<CronSchedule, InvalidSchedule> {
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(expression)
            .map_err(|error| {
                InvalidSchedule(format!("`{expression}` is not a cron expression: {error}"))
            })?;
        let zone = timezone.parse::<chrono_tz::Tz>().map_err(|_| {
            InvalidSchedule(format!(
                "`{timezone}` is not a time zone (write an IANA name such as `Europe/Paris`)"
            ))
        })?;
        Ok(CronSchedule {
            expression: expression.to_owned(),
            timezone: timezone.to_owned(),
            cron: Box::new(cron),
            zone,
        })
    }

    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // croner keeps the fraction of a second it is given: ticks fall on whole seconds.
        let after = after.with_nanosecond(0)?;
        let local = after.with_timezone(&self.zone);
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        Some(next.with_timezone(&Utc))
    }
}

impl Schedule {
    /// The first time after `after` it fires, for an app deployed at `deployed` (what a
    /// period counts from); `None` when there is none (a cron date that never comes, a time
    /// past the calendar).
    pub fn next_after(&self, deployed: SystemTime, after: SystemTime) -> Option<SystemTime> {
        let after = DateTime::<Utc>::from(after);
        let next = match self {
            Schedule::Period(period) => period.next_after(DateTime::from(deployed), after),
            Schedule::Cron(cron) => cron.next_after(after),
        };
        next.map(SystemTime::from)
    }
}

impl fmt::Display for Schedule {
    /// `every 1d 2h` or `cron 0 9 * * 1-5 (Europe/Paris)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron(cron) => write!(f, "cron {} ({})", cron.expression, cron.timezone),
            Schedule::Period(period) => {
                let parts = [
                    (period.years, "y"),
                    (period.months, "mo"),
                    (period.weeks, "w"),
                    (period.days, "d"),
                    (period.hours, "h"),
                    (period.minutes, "m"),
                ];
                write!(f, "every")?;
                for (value, unit) in parts.iter().filter(|(value, _)| *value > 0) {
                    write!(f, " {value}{unit}")?;
                }
                if period.millis > 0 {
                    write!(f, " {}s", period.millis as f64 / 1000.0)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    fn period(days: u32, months: u32, millis: u64) -> Schedule {
        let period = Period {
            years: 0,
            months,
            weeks: 0,
            days,
            hours: 0,
            minutes: 0,
            millis,
        };
        Schedule::Period(period.new().unwrap())
    }

    #[test]
    fn a_period_counts_from_the_deploy_and_skips_what_has_passed() {
        let every_5s = period(0, 0, 5000);
        let deployed = at("2026-03-01T10:00:00Z");
        assert_eq!(
            every_5s.next_after(deployed, deployed),
            Some(at("2026-03-01T10:00:05Z"))
        );
        // A host that was down: the next tick after now, none replayed.
        assert_eq!(
            every_5s.next_after(deployed, at("2026-03-01T11:00:02Z")),
            Some(at("2026-03-01T11:00:05Z"))
        );
        assert_eq!(
            every_5s.next_after(deployed, at("2026-03-01T11:00:05Z")),
            Some(at("2026-03-01T11:00:10Z"))
        );
    }

    #[test]
    fn days_keep_the_time_of_day_and_months_the_day_of_the_month() {
        let daily = period(1, 0, 0);
        let deployed = at("2026-03-28T09:30:00Z");
        assert_eq!(
            daily.next_after(deployed, at("2026-04-02T12:00:00Z")),
            Some(at("2026-04-03T09:30:00Z"))
        );
        let monthly = period(0, 1, 0);
        let deployed = at("2026-01-31T08:00:00Z");
        // February has no 31st: its last day; March has one again.
        assert_eq!(
            monthly.next_after(deployed, deployed),
            Some(at("2026-02-28T08:00:00Z"))
        );
        assert_eq!(
            monthly.next_after(deployed, at("2026-03-01T00:00:00Z")),
            Some(at("2026-03-31T08:00:00Z"))
        );
    }

    #[test]
    fn cron_follows_its_zone_across_daylight_saving() {
        let cron = Schedule::Cron(CronSchedule::new("0 9 * * 1-5", "Europe/Paris").unwrap());
        let deployed = at("2026-01-01T00:00:00Z");
        // Friday 27 March 2026, 09:00 in Paris is 08:00 UTC (winter time)...
        assert_eq!(
            cron.next_after(deployed, at("2026-03-27T07:00:00Z")),
            Some(at("2026-03-27T08:00:00Z"))
        );
        // ...then the weekend, and Monday 30 March (summer time) is 07:00 UTC.
        assert_eq!(
            cron.next_after(deployed, at("2026-03-27T08:00:00Z")),
            Some(at("2026-03-30T07:00:00Z"))
        );
        let seconds = Schedule::Cron(CronSchedule::new("*/2 * * * * *", "UTC").unwrap());
        assert_eq!(
            seconds.next_after(deployed, at("2026-03-27T07:00:01.403Z")),
            Some(at("2026-03-27T07:00:02Z"))
        );
    }

    #[test]
    fn bad_schedules_are_refused_with_the_reason() {
        let error = CronSchedule::new("0 9 * *", "UTC").unwrap_err();
        assert!(
            error.0.contains("`0 9 * *` is not a cron expression"),
            "{error}"
        );
        let error = CronSchedule::new("0 9 * * *", "Mars/Olympus").unwrap_err();
        assert!(
            error.0.contains("`Mars/Olympus` is not a time zone"),
            "{error}"
        );
        let short = Period {
            years: 0,
            months: 0,
            weeks: 0,
            days: 0,
            hours: 0,
            minutes: 0,
            millis: 999,
        };
        assert_eq!(
            short.new().unwrap_err().0,
            "a period is at least one second"
        );
        assert_eq!(period(1, 1, 1500).to_string(), "every 1mo 1d 1.5s");
    }

    use proptest::prelude::*;

    #[test]
    fn milliseconds_past_any_period_are_refused_not_wrapped() {
        let period = Period {
            years: 0,
            months: 0,
            weeks: 0,
            days: 0,
            hours: 0,
            minutes: 1,
            millis: u64::MAX,
        };
        assert!(period.new().is_err());
    }

    proptest! {
        /// Any period a component can describe (every part as large as its type) is
        /// checked or refused, never overflowed; one that passes ticks without a panic.
        #[test]
        fn any_period_is_checked_without_a_panic(
            parts in any::<(u32, u32, u32, u32, u32, u32, u64)>(),
            count in any::<u32>(),
        ) {
            let (years, months, weeks, days, hours, minutes, millis) = parts;
            let period = Period { years, months, weeks, days, hours, minutes, millis };
            // What the period is, counted where nothing overflows.
            let wide = |part: u32| u128::from(part);
            let minutes_in_all = (wide(weeks) * 7 + wide(days)) * 1440 + wide(hours) * 60 + wide(minutes);
            let fixed = minutes_in_all * 60_000 + u128::from(millis);
            let calendar = u128::from(years) * 12 + u128::from(months);
            if let Ok(period) = period.new() {
                prop_assert!(fixed <= 1000 * 86_400 * 366 * 1000 && calendar <= 12 * 1000);
                prop_assert!(fixed >= 1000 || calendar > 0);
                let _ = period.tick(Utc::now(), count);
            }
        }

        /// Any cron expression and time zone given are parsed or refused, never a panic.
        #[test]
        fn any_cron_expression_is_parsed_or_refused(
            expression in "[0-9*/,\\- A-Za-z?#LW]{0,40}",
            timezone in "[A-Za-z_/+-]{0,20}",
        ) {
            let _ = CronSchedule::new(&expression, &timezone);
        }
    }
}
