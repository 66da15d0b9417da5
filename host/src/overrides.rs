//! Overrides of the options functions declare: per run, from the host API
//! ([`AppBuilder::options`](crate::AppBuilder::options)) or the command line
//! (`--option NAME.OPTION=VALUE`); per call site, from
//! [`Function::with_options`](crate::Function::with_options) (`fnhost call --timeout`,
//! `--retries`) and from guests (timeout and retries).
//!
//! Overrides replace what `#[function(...)]` declared before the options are checked, so an
//! override out of range fails the load with the same message a declaration would.

use crate::function::FunctionConfig;
use std::time::Duration;

/// Options overriding those a function declared; `None` keeps the declared one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FunctionOptions {
    /// Inputs one container runs at once.
    pub max_inputs: Option<u32>,
    /// Inputs the autoscaler aims to give one container.
    pub target_inputs: Option<u32>,
    /// Containers the function may have at once.
    pub max_containers: Option<u32>,
    /// Containers kept running even when idle.
    pub min_containers: Option<u32>,
    /// Idle containers kept ready beyond the busy ones while inputs run.
    pub buffer_containers: Option<u32>,
    /// How long a container beyond `min_containers` may stay idle (whole seconds).
    pub scaledown_window: Option<Duration>,
    /// How long one attempt may run (whole seconds).
    pub timeout: Option<Duration>,
    /// The most linear memory one container may grow to, in MiB.
    pub memory_mib: Option<u32>,
    /// The CPU one container may use, in cores; 0 for no limit.
    pub cpu: Option<f64>,
    /// How many times a failed input runs again.
    pub retries: Option<u32>,
    /// The delay before the first retry.
    pub initial_delay: Option<Duration>,
    /// What each next retry delay is multiplied by.
    pub backoff_coefficient: Option<f32>,
    /// The longest delay between retries.
    pub max_delay: Option<Duration>,
}

/// The options `--option` knows, as `fnhost list` and the README name them.
pub const OPTION_NAMES: [&str; 13] = [
    "max_inputs",
    "target_inputs",
    "max_containers",
    "min_containers",
    "buffer_containers",
    "scaledown_window",
    "timeout",
    "memory",
    "cpu",
    "retries",
    "initial_delay",
    "backoff_coefficient",
    "max_delay",
];

impl FunctionOptions {
    /// Whether these set an option that shapes containers (anything but `timeout` and
    /// `retries`, which govern single calls).
    pub(crate) fn shapes_pool(&self) -> bool {
        let per_call = FunctionOptions {
            timeout: self.timeout,
            retries: self.retries,
            ..FunctionOptions::default()
        };
        *self != per_call
    }

    /// These options with those `later` sets replacing them.
    pub fn merged_with(self, later: FunctionOptions) -> FunctionOptions {
        FunctionOptions {
            max_inputs: later.max_inputs.or(self.max_inputs),
            target_inputs: later.target_inputs.or(self.target_inputs),
            max_containers: later.max_containers.or(self.max_containers),
            min_containers: later.min_containers.or(self.min_containers),
            buffer_containers: later.buffer_containers.or(self.buffer_containers),
            scaledown_window: later.scaledown_window.or(self.scaledown_window),
            timeout: later.timeout.or(self.timeout),
            memory_mib: later.memory_mib.or(self.memory_mib),
            cpu: later.cpu.or(self.cpu),
            retries: later.retries.or(self.retries),
            initial_delay: later.initial_delay.or(self.initial_delay),
            backoff_coefficient: later.backoff_coefficient.or(self.backoff_coefficient),
            max_delay: later.max_delay.or(self.max_delay),
        }
    }

    /// Sets `option` from its text: a count, a duration for the times (`2s`, `500ms`, `1m`),
    /// MiB for `memory`, cores for `cpu` (`0.5`).
    pub fn set(&mut self, option: &str, value: &str) -> Result<(), String> {
        let count = || {
            value
                .parse::<u32>()
                .map_err(|_| format!("`{option}` takes a whole number, not `{value}`"))
        };
        let duration = || {
            humantime::parse_duration(value)
                .map_err(|error| format!("`{option}` takes a duration like 2s or 500ms: {error}"))
        };
        let number = || {
            value
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .ok_or_else(|| format!("`{option}` takes a number, not `{value}`"))
        };
        match option {
            "max_inputs" => self.max_inputs = Some(count()?),
            "target_inputs" => self.target_inputs = Some(count()?),
            "max_containers" => self.max_containers = Some(count()?),
            "min_containers" => self.min_containers = Some(count()?),
            "buffer_containers" => self.buffer_containers = Some(count()?),
            "scaledown_window" => self.scaledown_window = Some(duration()?),
            "timeout" => self.timeout = Some(duration()?),
            "memory" => self.memory_mib = Some(count()?),
            "cpu" => self.cpu = Some(number()?),
            "retries" => self.retries = Some(count()?),
            "initial_delay" => self.initial_delay = Some(duration()?),
            "backoff_coefficient" => self.backoff_coefficient = Some(number()? as f32),
            "max_delay" => self.max_delay = Some(duration()?),
            _ => {
                return Err(format!(
                    "unknown option `{option}`; the options are {}",
                    OPTION_NAMES.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// `config` with these overrides applied; fails naming the option whose value cannot be
    /// expressed (a timeout of 1.5 s, a negative CPU budget).
    pub(crate) fn apply(
        &self,
        mut config: FunctionConfig,
    ) -> Result<FunctionConfig, (&'static str, String)> {
        let whole_seconds = |option: &'static str, duration: Duration| {
            if duration.subsec_nanos() != 0 {
                return Err((option, format!("is {duration:?}; it must be whole seconds")));
            }
            Ok(u32::try_from(duration.as_secs()).unwrap_or(u32::MAX))
        };
        let millis = |duration: Duration| u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
        let counts = [
            (self.max_inputs, &mut config.max_inputs),
            (self.target_inputs, &mut config.target_inputs),
            (self.max_containers, &mut config.max_containers),
            (self.min_containers, &mut config.min_containers),
            (self.buffer_containers, &mut config.buffer_containers),
            (self.memory_mib, &mut config.memory_mib),
            (self.retries, &mut config.retries),
            (self.initial_delay.map(millis), &mut config.retry_delay_ms),
            (self.max_delay.map(millis), &mut config.max_retry_delay_ms),
        ];
        for (value, field) in counts {
            if let Some(value) = value {
                *field = value;
            }
        }
        if let Some(window) = self.scaledown_window {
            config.scaledown_window_secs = whole_seconds("scaledown_window", window)?;
        }
        if let Some(timeout) = self.timeout {
            config.timeout_secs = whole_seconds("timeout", timeout)?;
        }
        if let Some(cores) = self.cpu {
            let millicores = cores * 1000.0;
            if !(0.0..=f64::from(u32::MAX)).contains(&millicores) {
                return Err(("cpu", format!("is {cores} cores; it must be from 0 to 64")));
            }
            config.cpu_millicores = millicores.round() as u32;
        }
        if let Some(coefficient) = self.backoff_coefficient {
            config.backoff_coefficient = coefficient;
        }
        Ok(config)
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
