//! Files that are not regular ones. A device or FIFO given as the app fails the load at once,
//! saying so, and a component over the size limit is refused unread; a symbolic link to a
//! component is fine. A symbolic link or FIFO planted as a compile cache entry is never read
//! nor waited on: the load compiles, and the entry is a regular file again.

use crate::cache::{answer, entries, fresh_dir};
use fnhost::{App, CompileCache, LoadError};
use fnhost_tests::guest;
use std::error::Error as _;
use std::path::Path;
use std::time::Duration;

/// `load`'s outcome; fails the test, rather than hanging it, when the load waits on a file.
async fn within_a_minute<T>(load: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), load)
        .await
        .expect("the load neither waits on a file nor reads one without end")
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// The error with its causes, as the `fnhost` command prints it.
fn with_causes(error: &LoadError) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text = format!("{text}: {error}");
        cause = error.source();
    }
    text
}

/// Why loading `path` as the app fails.
async fn load_error(path: &Path) -> String {
    let loaded = within_a_minute(App::load_with([path], &CompileCache::disabled())).await;
    with_causes(&loaded.err().expect("the load fails"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_as_the_app_is_refused_unread() {
    let error = load_error(Path::new("/dev/zero")).await;
    assert!(
        error.starts_with("cannot read /dev/zero")
            && error.contains("a character device, not a regular file"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_as_the_app_is_refused_without_waiting() {
    let dir = fresh_dir("fifo-app");
    std::fs::create_dir(&dir).unwrap();
    let fifo = dir.join("app.wasm");
    mkfifo(&fifo);
    let error = load_error(&fifo).await;
    assert!(error.contains("a FIFO, not a regular file"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_over_the_size_limit_is_refused_unread() {
    let dir = fresh_dir("huge-app");
    std::fs::create_dir(&dir).unwrap();
    let huge = dir.join("app.wasm");
    // Sparse: 257 MiB long, nothing written.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(257 << 20)
        .unwrap();
    let error = load_error(&huge).await;
    assert!(
        error.contains("a component larger than 256 MiB is refused"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_symbolic_link_to_a_component_loads() {
    let dir = fresh_dir("linked-app");
    std::fs::create_dir(&dir).unwrap();
    let link = dir.join("app.wasm");
    std::os::unix::fs::symlink(guest("examples/hello"), &link).unwrap();
    let app = App::load_with([&link], &CompileCache::disabled())
        .await
        .unwrap();
    let answer: u32 = app
        .function("async_function")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    assert_eq!(answer, 420);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Loads hello through a fresh cache, replaces its entry with what `plant` makes at the
/// entry's path, loads again: the load works, and the entry is a regular file again.
async fn planted_entry_is_replaced(test: &str, plant: impl FnOnce(&Path)) {
    let dir = fresh_dir(test);
    let cache = CompileCache::in_dir(&dir);
    assert_eq!(answer(&cache).await, 420);
    let [entry] = entries(&dir).try_into().expect("one entry per component");
    std::fs::remove_file(&entry).unwrap();
    plant(&entry);
    assert_eq!(within_a_minute(answer(&cache)).await, 420);
    let replaced = std::fs::symlink_metadata(&entry).unwrap();
    assert!(replaced.file_type().is_file(), "{replaced:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cache_entry_linked_to_dev_zero_is_replaced_unread() {
    planted_entry_is_replaced("zero-entry", |entry| {
        std::os::unix::fs::symlink("/dev/zero", entry).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_as_a_cache_entry_is_replaced_without_waiting() {
    planted_entry_is_replaced("fifo-entry", mkfifo).await;
}
