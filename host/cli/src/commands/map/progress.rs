//! `fnhost map`'s progress bar on stderr: results written, out of the total when it is
//! known, their rate and the time left.
//!
//! Invariant: drawn only when stderr is a terminal; otherwise every method does nothing, so
//! a piped or redirected stderr gets no escape codes.

use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use std::fmt::Write;
use std::io::IsTerminal;

/// The bar, or nothing.
pub(super) struct Progress(ProgressBar);

impl Progress {
    /// A bar out of `total` results (a spinner with a count when it is unknown), shown only
    /// when stderr is a terminal.
    pub(super) fn new(total: Option<u64>) -> Progress {
        if !Progress::shown() {
            return Progress(ProgressBar::hidden());
        }
        let (bar, template) = match total {
            Some(total) => (
                ProgressBar::new(total),
                "{wide_bar} {pos}/{len} {rate} ETA {eta}",
            ),
            None => (ProgressBar::new_spinner(), "{spinner} {pos} done, {rate}"),
        };
        // The templates are constant and valid; a failure would only lose the styling.
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.with_key("rate", rate));
        }
        Progress(bar)
    }

    /// Whether a bar is drawn: stderr is a terminal. Also tells whether a total is worth
    /// counting.
    pub(super) fn shown() -> bool {
        std::io::stderr().is_terminal()
    }

    /// One more result written.
    pub(super) fn inc(&self) {
        self.0.inc(1);
    }

    /// Removes the bar once everything is written (or the command failed).
    pub(super) fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Results per second, whole: `{rate}` in the templates.
fn rate(state: &ProgressState, out: &mut dyn Write) {
    // Writing to the bar's line buffer does not fail.
    let _ = write!(out, "{:.0}/s", state.per_sec());
}
