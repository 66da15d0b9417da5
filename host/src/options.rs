//! The function options: one table ([`OPTIONS`]) of every option's name, unit, default, range
//! and meaning, and the two shapes a set of options takes — [`FunctionConfig`] (every option
//! with its value) and [`FunctionOptions`] (some options set, the others left as they are).
//!
//! Everything that handles options goes through the table: resolving what a component declared
//! (defaults fill what the author did not write), checking ranges, overrides per run and per
//! call site, `--option NAME.OPTION=VALUE` parsing, `fnhost list`, and the README's option table
//! (a test compares them). Without it the options were restated in a dozen places, and the
//! defaults lived only in the Rust guest macro, where a guest in another language could not
//! find them. Adding an option means one row in [`options!`]'s invocation below, one field
//! in the contract's `function-config`, and its wire conversion in `load::component`.

use serde::Serialize;
use serde::ser::SerializeMap;
use std::time::Duration;

/// How an option's value is written, checked and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A whole number.
    Count,
    /// A duration in whole seconds, written `30s`, `2m`.
    Seconds,
    /// A duration in milliseconds, written `500ms`, `2s`.
    Milliseconds,
    /// Mebibytes, a whole number.
    Mebibytes,
    /// CPU cores, a number; 0 means no limit.
    Cores,
    /// A plain number.
    Factor,
}

impl Unit {
    /// What follows a value in messages and tables (` s`, ` MiB`, ...).
    fn suffix(self) -> &'static str {
        match self {
            Unit::Count | Unit::Factor => "",
            Unit::Seconds => " s",
            Unit::Milliseconds => " ms",
            Unit::Mebibytes => " MiB",
            Unit::Cores => " cores",
        }
    }

    /// A value of this unit from its text, as `--option` takes it.
    fn parse(self, option: &str, text: &str) -> Result<f64, String> {
        match self {
            Unit::Count | Unit::Mebibytes => text
                .parse::<u32>()
                .map(f64::from)
                .map_err(|_| format!("`{option}` takes a whole number, not `{text}`")),
            Unit::Seconds | Unit::Milliseconds => {
                let duration = humantime::parse_duration(text).map_err(|error| {
                    format!("`{option}` takes a duration like 2s or 500ms: {error}")
                })?;
                Ok(match self {
                    Unit::Seconds => duration.as_secs_f64(),
                    _ => duration.as_secs_f64() * 1000.0,
                })
            }
            Unit::Cores | Unit::Factor => text
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .ok_or_else(|| format!("`{option}` takes a number, not `{text}`")),
        }
    }

    /// A value of this unit as text, as `--option` takes it.
    fn render(self, value: f64) -> String {
        match self {
            Unit::Seconds => format!("{value}s"),
            Unit::Milliseconds => format!("{value}ms"),
            _ => format!("{value}"),
        }
    }
}

/// An option's default: a value, or the value of an option before it in the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    /// This value, in the option's unit.
    Value(f64),
    /// The value the option named has.
    SameAs(&'static str),
}

/// One row of the option table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionSpec {
    /// Its name, as `#[function(...)]`, `--option` and `fnhost list` spell it.
    pub name: &'static str,
    /// How its value is written.
    pub unit: Unit,
    /// Its value when the function does not declare it.
    pub default: DefaultValue,
    /// Its smallest value, in its unit (for `cpu`, besides 0: no limit).
    pub min: f64,
    /// Its largest value, in its unit.
    pub max: f64,
    /// The option it may not exceed, if any.
    pub at_most: Option<&'static str>,
    /// Whether a single call may override it (`timeout`, `retries`); the others shape
    /// containers.
    pub per_call: bool,
    /// What it means.
    pub doc: &'static str,
}

impl OptionSpec {
    /// The default as the README and `fnhost list` show it.
    pub fn default_text(&self) -> String {
        match self.default {
            DefaultValue::Value(value) if self.unit == Unit::Cores && value == 0.0 => {
                "0 (no limit)".to_owned()
            }
            DefaultValue::Value(value) => self.unit.render(value),
            DefaultValue::SameAs(option) => format!("`{option}`"),
        }
    }

    /// The range as the README shows it.
    pub fn range_text(&self) -> String {
        let bound = |value: f64| match value {
            UNBOUNDED => "any".to_owned(),
            value => format!("{value}"),
        };
        let upper = match self.at_most {
            Some(option) => format!("`{option}`"),
            None => bound(self.max),
        };
        let zero = if self.unit == Unit::Cores {
            "0, or "
        } else {
            ""
        };
        format!("{zero}{} to {upper}{}", bound(self.min), self.unit.suffix())
    }

    /// Fails when `value` (in the option's unit) is out of the option's own range, or not in
    /// whole seconds where the option is.
    fn check(&self, value: f64) -> Result<(), String> {
        if self.unit == Unit::Seconds && value.fract() != 0.0 {
            let suffix = self.unit.suffix();
            return Err(format!("is {value}{suffix}; it must be whole seconds"));
        }
        self.check_range(value)
    }

    /// Fails when `value` (in the option's unit) is out of the option's own range.
    fn check_range(&self, value: f64) -> Result<(), String> {
        let suffix = self.unit.suffix();
        if self.unit == Unit::Cores && value == 0.0 {
            return Ok(());
        }
        if (self.min..=self.max).contains(&value) {
            return Ok(());
        }
        let zero = if self.unit == Unit::Cores {
            "0 (no limit) or "
        } else {
            ""
        };
        let min = self.min;
        Err(match self.max {
            UNBOUNDED => format!("is {value}{suffix}; it must be at least {min}{suffix}"),
            max => format!("is {value}{suffix}; it must be {zero}from {min} to {max}{suffix}"),
        })
    }
}

/// The table's bound for "as many as a u32 holds".
const UNBOUNDED: f64 = u32::MAX as f64;

/// Why a set of options was refused: the option, and what is wrong with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidOption {
    /// The option.
    pub option: &'static str,
    /// What is wrong, as a sentence's end: `is 0 MiB; it must be from 1 to 4096 MiB`.
    pub reason: String,
}

/// How an option's Rust value converts to and from its unit.
trait OptionValue: Copy {
    fn to_unit(self, unit: Unit) -> f64;
    fn from_unit(value: f64, unit: Unit) -> Self;
}

impl OptionValue for u32 {
    fn to_unit(self, _: Unit) -> f64 {
        f64::from(self)
    }

    fn from_unit(value: f64, _: Unit) -> Self {
        // Checked against the option's range before it is converted.
        value as u32
    }
}

impl OptionValue for f64 {
    fn to_unit(self, _: Unit) -> f64 {
        self
    }

    fn from_unit(value: f64, _: Unit) -> Self {
        value
    }
}

impl OptionValue for Duration {
    fn to_unit(self, unit: Unit) -> f64 {
        match unit {
            Unit::Milliseconds => self.as_secs_f64() * 1000.0,
            _ => self.as_secs_f64(),
        }
    }

    fn from_unit(value: f64, unit: Unit) -> Self {
        match unit {
            Unit::Milliseconds => Duration::from_secs_f64(value / 1000.0),
            _ => Duration::from_secs_f64(value),
        }
    }
}

/// Defines [`FunctionConfig`], [`FunctionOptions`] and [`OPTIONS`] from one list of rows.
macro_rules! options {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $ty:ty, $unit:ident, default $default:expr, $min:expr, $max:expr,
            at_most $at_most:expr, per_call $per_call:expr;
    )+) => {
        /// Every option of a function, with its value (see [`OPTIONS`] for their meaning,
        /// defaults and ranges).
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct FunctionConfig {
            $($(#[doc = $doc])+ pub $field: $ty,)+
        }

        /// Some options of a function; `None` leaves an option as it is. Used for what a
        /// component declared and for overrides, per run and per call site.
        #[derive(Debug, Clone, Copy, PartialEq, Default)]
        pub struct FunctionOptions {
            $($(#[doc = $doc])+ pub $field: Option<$ty>,)+
        }

        /// The option table: every option of `#[function(...)]`, in the order they are
        /// checked and listed.
        pub const OPTIONS: &[OptionSpec] = &[$(OptionSpec {
            name: stringify!($field),
            unit: Unit::$unit,
            default: $default,
            min: $min,
            max: $max,
            at_most: $at_most,
            per_call: $per_call,
            doc: concat!($($doc),+),
        },)+];

        impl FunctionConfig {
            /// The value of `option`, in its unit.
            fn get(&self, option: &str) -> Option<f64> {
                match option {
                    $(stringify!($field) => Some(self.$field.to_unit(Unit::$unit)),)+
                    _ => None,
                }
            }

            /// Sets `option` from a value in its unit (checked already).
            fn put(&mut self, option: &str, value: f64) {
                match option {
                    $(stringify!($field) => {
                        self.$field = OptionValue::from_unit(value, Unit::$unit)
                    })+
                    _ => {}
                }
            }
        }

        impl FunctionOptions {
            /// The value of `option` if set, in its unit.
            fn get(&self, option: &str) -> Option<f64> {
                match option {
                    $(stringify!($field) => self.$field.map(|value| value.to_unit(Unit::$unit)),)+
                    _ => None,
                }
            }

            /// Sets `option` from a value in its unit.
            fn put(&mut self, option: &str, value: f64) {
                match option {
                    $(stringify!($field) => {
                        self.$field = Some(OptionValue::from_unit(value, Unit::$unit))
                    })+
                    _ => {}
                }
            }
        }
    };
}

options! {
    /// Inputs one container runs at once.
    max_inputs: u32, Count, default DefaultValue::Value(1.0), 1.0, UNBOUNDED,
        at_most None, per_call false;
    /// Inputs the autoscaler aims to give one container before it starts another.
    target_inputs: u32, Count, default DefaultValue::SameAs("max_inputs"), 1.0, UNBOUNDED,
        at_most Some("max_inputs"), per_call false;
    /// Containers the function may have at once.
    max_containers: u32, Count, default DefaultValue::Value(100.0), 1.0, UNBOUNDED,
        at_most None, per_call false;
    /// Containers kept running even when idle, started when the app loads.
    min_containers: u32, Count, default DefaultValue::Value(0.0), 0.0, UNBOUNDED,
        at_most Some("max_containers"), per_call false;
    /// Idle containers kept ready beyond the busy ones while the function has inputs running.
    buffer_containers: u32, Count, default DefaultValue::Value(0.0), 0.0, UNBOUNDED,
        at_most Some("max_containers"), per_call false;
    /// How long a container beyond `min_containers` may stay idle.
    scaledown_window: Duration, Seconds, default DefaultValue::Value(60.0), 2.0, 1200.0,
        at_most None, per_call false;
    /// How long one attempt may run.
    timeout: Duration, Seconds, default DefaultValue::Value(300.0), 1.0, 86_400.0,
        at_most None, per_call true;
    /// The most linear memory one container may grow to, in MiB; past it the guest traps.
    memory: u32, Mebibytes, default DefaultValue::Value(512.0), 1.0, 4096.0,
        at_most None, per_call false;
    /// The CPU one container may use, in cores; 0 for no limit.
    cpu: f64, Cores, default DefaultValue::Value(0.0), 0.05, 64.0,
        at_most None, per_call false;
    /// How many times a failed input runs again.
    retries: u32, Count, default DefaultValue::Value(0.0), 0.0, 10.0,
        at_most None, per_call true;
    /// The delay before the first retry.
    initial_delay: Duration, Milliseconds, default DefaultValue::Value(1000.0), 0.0, 60_000.0,
        at_most None, per_call false;
    /// What each next retry delay is multiplied by.
    backoff_coefficient: f64, Factor, default DefaultValue::Value(2.0), 1.0, 10.0,
        at_most None, per_call false;
    /// The longest delay between retries.
    max_delay: Duration, Milliseconds, default DefaultValue::Value(60_000.0), 1000.0, 60_000.0,
        at_most None, per_call false;
}

/// The row of `option`, if it is one.
pub fn option_spec(option: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|spec| spec.name == option)
}

/// The names of the options, in the table's order.
pub fn option_names() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().map(|spec| spec.name)
}

fn unknown(option: &str) -> String {
    format!(
        "unknown option `{option}`; the options are {}",
        option_names().collect::<Vec<_>>().join(", ")
    )
}

impl FunctionConfig {
    /// Every option: those `options` set, the defaults for the others; checked.
    pub fn resolve(options: &FunctionOptions) -> Result<FunctionConfig, InvalidOption> {
        let mut config = FunctionConfig::placeholder();
        for spec in OPTIONS {
            let value = match (options.get(spec.name), spec.default) {
                (Some(value), _) | (None, DefaultValue::Value(value)) => value,
                (None, DefaultValue::SameAs(other)) => config.get(other).unwrap_or_default(),
            };
            spec.check(value).map_err(|reason| InvalidOption {
                option: spec.name,
                reason,
            })?;
            config.put(spec.name, value);
        }
        config.check_relations()?;
        Ok(config)
    }

    /// This configuration with `overrides` replacing its options, checked.
    pub fn overridden(&self, overrides: &FunctionOptions) -> Result<FunctionConfig, InvalidOption> {
        let mut options = FunctionOptions::default();
        for spec in OPTIONS {
            let value = overrides.get(spec.name).or_else(|| self.get(spec.name));
            options.put(spec.name, value.unwrap_or_default());
        }
        FunctionConfig::resolve(&options)
    }

    /// A value of every field, overwritten by [`FunctionConfig::resolve`] row by row.
    fn placeholder() -> FunctionConfig {
        FunctionConfig {
            max_inputs: 0,
            target_inputs: 0,
            max_containers: 0,
            min_containers: 0,
            buffer_containers: 0,
            scaledown_window: Duration::ZERO,
            timeout: Duration::ZERO,
            memory: 0,
            cpu: 0.0,
            retries: 0,
            initial_delay: Duration::ZERO,
            backoff_coefficient: 0.0,
            max_delay: Duration::ZERO,
        }
    }

    /// Fails when an option exceeds the option it may not exceed.
    fn check_relations(&self) -> Result<(), InvalidOption> {
        for spec in OPTIONS {
            let Some(limit_name) = spec.at_most else {
                continue;
            };
            let (value, limit) = (self.get(spec.name), self.get(limit_name));
            if let (Some(value), Some(limit)) = (value, limit)
                && value > limit
            {
                return Err(InvalidOption {
                    option: spec.name,
                    reason: format!("is {value}; it must be at most {limit_name} ({limit})"),
                });
            }
        }
        Ok(())
    }

    /// The value of `option` as text, as `--option` takes it (`300s`, `0.5`).
    pub fn text(&self, option: &str) -> Option<String> {
        let spec = option_spec(option)?;
        let value = self.get(option)?;
        Some(match spec.unit {
            Unit::Cores if value == 0.0 => "none".to_owned(),
            unit => unit.render(value),
        })
    }

    /// The most linear memory one container may grow to, in bytes.
    pub fn memory_bytes(&self) -> usize {
        usize::try_from(u64::from(self.memory) << 20).unwrap_or(usize::MAX)
    }

    /// The CPU budget in thousandths of a core, or `None` for no limit.
    pub fn cpu_millicores(&self) -> Option<u32> {
        (self.cpu > 0.0).then(|| (self.cpu * 1000.0).round() as u32)
    }

    /// The delay before retry number `retry` (1 for the first): the initial delay, multiplied
    /// by the backoff coefficient for each retry before it, at most the longest delay.
    pub fn retry_delay(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let delay = self.initial_delay.as_secs_f64() * self.backoff_coefficient.powi(exponent);
        Duration::from_secs_f64(delay.min(self.max_delay.as_secs_f64()))
    }

    /// The policy of calls that override nothing.
    pub(crate) fn policy(&self) -> Policy {
        Policy {
            timeout: self.timeout,
            retries: self.retries,
        }
    }
}

/// `fnhost list --json` shows each option by its name, in its unit.
impl Serialize for FunctionConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(OPTIONS.len()))?;
        for spec in OPTIONS {
            map.serialize_entry(spec.name, &self.get(spec.name))?;
        }
        map.end()
    }
}

impl FunctionOptions {
    /// Whether these set an option that shapes containers (anything but the per-call ones,
    /// `timeout` and `retries`).
    pub(crate) fn shapes_pool(&self) -> bool {
        OPTIONS
            .iter()
            .any(|spec| !spec.per_call && self.get(spec.name).is_some())
    }

    /// These options with those `later` sets replacing them.
    pub fn merged_with(self, later: FunctionOptions) -> FunctionOptions {
        let mut merged = self;
        for spec in OPTIONS {
            if let Some(value) = later.get(spec.name) {
                merged.put(spec.name, value);
            }
        }
        merged
    }

    /// Sets `option` from its text, as `--option` takes it: a count, a duration for the times
    /// (`2s`, `500ms`, `1m`), MiB for `memory`, cores for `cpu` (`0.5`).
    pub fn set(&mut self, option: &str, text: &str) -> Result<(), String> {
        let spec = option_spec(option).ok_or_else(|| unknown(option))?;
        let value = spec.unit.parse(option, text)?;
        if value < 0.0 {
            return Err(format!("`{option}` cannot be negative"));
        }
        self.put(option, value);
        Ok(())
    }
}

/// What governs one call: how long each attempt may run and how many retries it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
}

/// Overrides of a single call: its timeout and retries (the options marked `per_call`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CallOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) retries: Option<u32>,
}

impl CallOptions {
    /// The per-call part of `options`.
    pub(crate) fn from_options(options: &FunctionOptions) -> CallOptions {
        CallOptions {
            timeout: options.timeout,
            retries: options.retries,
        }
    }

    /// `policy` with these overriding it; fails naming an override out of its range.
    pub(crate) fn apply(&self, mut policy: Policy) -> Result<Policy, InvalidOption> {
        let check = |option: &'static str, value: f64| {
            let spec = option_spec(option).expect("per-call options are in the table");
            spec.check_range(value)
                .map_err(|reason| InvalidOption { option, reason })
        };
        if let Some(timeout) = self.timeout {
            // A single call's timeout may be any duration in range, not only whole seconds.
            check("timeout", timeout.as_secs_f64())?;
            policy.timeout = timeout;
        }
        if let Some(retries) = self.retries {
            check("retries", f64::from(retries))?;
            policy.retries = retries;
        }
        Ok(policy)
    }
}

/// Parses `NAME.OPTION=VALUE`, as `--option` takes it: the function's name, the option, and
/// its value's text.
pub fn parse_override(text: &str) -> Result<(String, String, String), String> {
    let (target, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected FUNCTION.OPTION=VALUE"))?;
    let (function, option) = target
        .rsplit_once('.')
        .ok_or_else(|| format!("`{text}`: expected FUNCTION.OPTION=VALUE"))?;
    Ok((function.to_owned(), option.to_owned(), value.to_owned()))
}

/// The README's option table, generated from [`OPTIONS`] (a test keeps the README in step).
pub fn markdown_table() -> String {
    let mut table = String::from("| option | unit | default | range | meaning |\n");
    table.push_str("| --- | --- | --- | --- | --- |\n");
    for spec in OPTIONS {
        let unit = match spec.unit {
            Unit::Count => "count",
            Unit::Seconds => "seconds",
            Unit::Milliseconds => "milliseconds",
            Unit::Mebibytes => "MiB",
            Unit::Cores => "cores",
            Unit::Factor => "factor",
        };
        table.push_str(&format!(
            "| `{}` | {unit} | {} | {} | {} |\n",
            spec.name,
            spec.default_text(),
            spec.range_text(),
            spec.doc.trim()
        ));
    }
    table
}
