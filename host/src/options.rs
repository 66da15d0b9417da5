//! The function options: one table ([`OPTIONS`]) of every option's name, unit, default, range
//! and meaning, and the two shapes a set of options takes — [`FunctionConfig`] (every option
//! with its value) and [`FunctionOptions`] (some options set, the others left as they are).
//!
//! Everything that handles options goes through the table: resolving what a component declared
//! (defaults fill what the author did not write), checking ranges, overrides per run and per
//! call site, `--option NAME.OPTION=VALUE` parsing, `fnhost list`, and the option table of
//! docs/functions.md (a test compares them). Without it the options were restated in a dozen places, and the
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
    /// The default as docs/functions.md and `fnhost list` show it.
    pub fn default_text(&self) -> String {
        match self.default {
            DefaultValue::Value(value) if self.unit == Unit::Cores && value == 0.0 => {
                "0 (no limit)".to_owned()
            }
            DefaultValue::Value(value) => self.unit.render(value),
            DefaultValue::SameAs(option) => format!("`{option}`"),
        }
    }

    /// The range as docs/functions.md shows it.
    pub fn range_text(&self) -> String {
        let bound = |value: f64| format!("{value}");
        let suffix = self.unit.suffix();
        let min = bound(self.min);
        match (self.at_most, self.max) {
            (Some(option), _) => format!("{min} to `{option}`{suffix}"),
            (None, UNBOUNDED) => format!("{min} or more{suffix}"),
            (None, max) if self.unit == Unit::Cores => {
                format!("0 (no limit), or {min} to {}{suffix}", bound(max))
            }
            (None, max) => format!("{min} to {}{suffix}", bound(max)),
        }
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

/// `fnhost list --json` shows each option by its name, in its unit: whole values as integers
/// (`"timeout": 300`), others as numbers (`"cpu": 0.5`).
impl Serialize for FunctionConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(OPTIONS.len()))?;
        for spec in OPTIONS {
            let value = self.get(spec.name).unwrap_or_default();
            if value.fract() == 0.0 && (0.0..=UNBOUNDED).contains(&value) {
                map.serialize_entry(spec.name, &(value as u64))?;
            } else {
                map.serialize_entry(spec.name, &value)?;
            }
        }
        map.end()
    }
}

impl FunctionOptions {
    /// Whether these set a per-call option (`timeout`, `retries`).
    pub(crate) fn per_call_set(&self) -> bool {
        OPTIONS
            .iter()
            .any(|spec| spec.per_call && self.get(spec.name).is_some())
    }

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

/// The option table of docs/functions.md, generated from [`OPTIONS`] (a test keeps the page
/// in step).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults with `max_inputs`, `max_containers` and `timeout` (seconds) set.
    fn options(max_inputs: u32, max_containers: u32, timeout: f64) -> FunctionOptions {
        FunctionOptions {
            max_inputs: Some(max_inputs),
            max_containers: Some(max_containers),
            timeout: Some(Duration::from_secs_f64(timeout)),
            ..FunctionOptions::default()
        }
    }

    fn invalid(options: FunctionOptions) -> Option<&'static str> {
        FunctionConfig::resolve(&options)
            .err()
            .map(|invalid| invalid.option)
    }

    #[test]
    fn undeclared_options_take_the_tables_defaults() {
        let config = FunctionConfig::resolve(&FunctionOptions::default()).unwrap();
        assert_eq!(
            (
                config.max_inputs,
                config.target_inputs,
                config.max_containers
            ),
            (1, 1, 100)
        );
        assert_eq!(config.timeout, Duration::from_secs(300));
        assert_eq!(config.memory, 512);
        assert_eq!(config.cpu_millicores(), None);
        assert_eq!(config.max_delay, Duration::from_secs(60));
        // `target_inputs` defaults to `max_inputs`.
        let wide = FunctionConfig::resolve(&options(8, 1, 300.0)).unwrap();
        assert_eq!(wide.target_inputs, 8);
        for spec in OPTIONS {
            assert!(config.text(spec.name).is_some(), "{}", spec.name);
        }
    }

    #[test]
    fn options_out_of_range_are_named() {
        assert_eq!(invalid(options(1, 1, 300.0)), None);
        assert_eq!(invalid(options(0, 1, 300.0)), Some("max_inputs"));
        assert_eq!(invalid(options(1, 0, 300.0)), Some("max_containers"));
        assert_eq!(invalid(options(1, 1, 0.0)), Some("timeout"));
        assert_eq!(invalid(options(1, 1, 86_401.0)), Some("timeout"));
        assert_eq!(invalid(options(1, 1, 1.5)), Some("timeout"));
        assert_eq!(invalid(options(1, 1, 86_400.0)), None);
        let scaling = |min_containers, scaledown_window: u64| FunctionOptions {
            min_containers: Some(min_containers),
            scaledown_window: Some(Duration::from_secs(scaledown_window)),
            ..options(1, 2, 300.0)
        };
        assert_eq!(invalid(scaling(3, 60)), Some("min_containers"));
        assert_eq!(invalid(scaling(2, 1)), Some("scaledown_window"));
        assert_eq!(invalid(scaling(2, 1201)), Some("scaledown_window"));
        assert_eq!(invalid(scaling(2, 1200)), None);
        let memory = |memory| FunctionOptions {
            memory: Some(memory),
            ..options(1, 1, 300.0)
        };
        assert_eq!(invalid(memory(0)), Some("memory"));
        assert_eq!(invalid(memory(4097)), Some("memory"));
        assert_eq!(invalid(memory(4096)), None);
        let error = FunctionConfig::resolve(&memory(0)).unwrap_err();
        assert_eq!(error.reason, "is 0 MiB; it must be from 1 to 4096 MiB");
        let retries = |retries, initial_delay: u64| FunctionOptions {
            retries: Some(retries),
            initial_delay: Some(Duration::from_millis(initial_delay)),
            ..options(1, 1, 300.0)
        };
        assert_eq!(invalid(retries(11, 0)), Some("retries"));
        assert_eq!(invalid(retries(1, 60_001)), Some("initial_delay"));
        assert_eq!(invalid(retries(10, 60_000)), None);
        let scaling = |target_inputs, buffer_containers, cpu| FunctionOptions {
            target_inputs: Some(target_inputs),
            buffer_containers: Some(buffer_containers),
            cpu: Some(cpu),
            ..options(4, 2, 300.0)
        };
        assert_eq!(invalid(scaling(4, 2, 0.0)), None);
        assert_eq!(invalid(scaling(5, 2, 0.0)), Some("target_inputs"));
        assert_eq!(invalid(scaling(0, 2, 0.0)), Some("target_inputs"));
        assert_eq!(invalid(scaling(4, 3, 0.0)), Some("buffer_containers"));
        assert_eq!(invalid(scaling(4, 2, 0.049)), Some("cpu"));
        assert_eq!(invalid(scaling(4, 2, 0.05)), None);
        assert_eq!(invalid(scaling(4, 2, 64.001)), Some("cpu"));
        let backoff = |backoff_coefficient, max_delay: u64| FunctionOptions {
            backoff_coefficient: Some(backoff_coefficient),
            max_delay: Some(Duration::from_millis(max_delay)),
            ..options(1, 1, 300.0)
        };
        assert_eq!(invalid(backoff(0.5, 1000)), Some("backoff_coefficient"));
        assert_eq!(invalid(backoff(10.5, 1000)), Some("backoff_coefficient"));
        assert_eq!(invalid(backoff(2.0, 999)), Some("max_delay"));
    }

    #[test]
    fn overrides_replace_declared_options_and_are_checked_the_same_way() {
        let declared = FunctionConfig::resolve(&options(1, 1, 300.0)).unwrap();
        let mut overrides = FunctionOptions::default();
        overrides.set("timeout", "5s").unwrap();
        overrides.set("cpu", "0.5").unwrap();
        overrides.set("max_containers", "7").unwrap();
        let applied = declared.overridden(&overrides).unwrap();
        assert_eq!(
            (
                applied.timeout,
                applied.cpu_millicores(),
                applied.max_containers
            ),
            (Duration::from_secs(5), Some(500), 7)
        );
        assert!(overrides.set("timeout", "soon").is_err());
        assert!(
            overrides
                .set("colour", "blue")
                .unwrap_err()
                .contains("unknown option")
        );
        overrides.set("timeout", "1500ms").unwrap();
        assert_eq!(
            declared.overridden(&overrides).unwrap_err().option,
            "timeout"
        );
        // Later overrides win, option by option.
        let mut later = FunctionOptions::default();
        later.set("max_containers", "9").unwrap();
        let merged = overrides.merged_with(later);
        assert_eq!((merged.max_containers, merged.cpu), (Some(9), Some(0.5)));
        assert!(merged.shapes_pool());
        let per_call = FunctionOptions {
            timeout: Some(Duration::from_secs(1)),
            retries: Some(2),
            ..FunctionOptions::default()
        };
        assert!(!per_call.shapes_pool());
    }

    #[test]
    fn a_single_calls_timeout_may_be_any_duration_in_range() {
        let policy = FunctionConfig::resolve(&FunctionOptions::default())
            .unwrap()
            .policy();
        let call = |timeout: Duration| {
            CallOptions {
                timeout: Some(timeout),
                retries: None,
            }
            .apply(policy)
        };
        assert_eq!(
            call(Duration::from_millis(1500)).unwrap().timeout,
            Duration::from_millis(1500)
        );
        assert_eq!(
            call(Duration::from_millis(500)).unwrap_err().option,
            "timeout"
        );
    }

    #[test]
    fn retry_delays_grow_by_the_coefficient_up_to_the_longest_delay() {
        let policy = |backoff_coefficient, max_delay: u64| {
            FunctionConfig::resolve(&FunctionOptions {
                retries: Some(10),
                initial_delay: Some(Duration::from_secs(1)),
                backoff_coefficient: Some(backoff_coefficient),
                max_delay: Some(Duration::from_millis(max_delay)),
                ..FunctionOptions::default()
            })
            .unwrap()
        };
        let delays = |config: FunctionConfig| -> Vec<u64> {
            (1..=8)
                .map(|retry| config.retry_delay(retry).as_secs())
                .collect()
        };
        assert_eq!(delays(policy(2.0, 60_000)), [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(delays(policy(3.0, 10_000)), [1, 3, 9, 10, 10, 10, 10, 10]);
        assert_eq!(delays(policy(1.0, 10_000)), [1; 8]);
    }

    #[test]
    fn the_functions_page_shows_the_option_table() {
        let page = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/functions.md");
        let page = std::fs::read_to_string(page).expect("docs/functions.md");
        assert!(
            page.contains(&markdown_table()),
            "docs/functions.md's option table is not the one options.rs generates; replace it \
             with:\n{}",
            markdown_table()
        );
    }
}
