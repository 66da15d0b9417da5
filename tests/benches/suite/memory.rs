//! Memory: resident memory per idle container.

use crate::Report;
use fnhost::{App, CompileCache};
use std::path::Path;

/// Resident memory per idle container: the RSS growth over `count` started containers. It
/// includes the guest's own touched linear memory, which the note states.
pub(crate) async fn idle_memory(
    report: &mut Report,
    bench: &Path,
    cache: &CompileCache,
    count: usize,
) {
    let app = App::load_with([bench], cache).await.unwrap();
    let function = app.function("noop_blocking").unwrap();
    function.warm_up(1).await.unwrap();
    let before = resident_kib();
    function.warm_up(count + 1).await.unwrap();
    let after = resident_kib();
    report.row(
        "idle_container_rss_kib",
        "resident memory per idle container",
        (after - before) as f64 / count as f64,
        "KiB",
        "host + guest pages touched; target <= 64 KiB beyond guest memory",
    );
}

pub(crate) fn resident_kib() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux");
    let pages: i64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}
