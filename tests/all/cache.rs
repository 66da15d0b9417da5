//! The compile cache: a second load takes the compiled code from disk; a corrupt or truncated
//! entry, or another component's, is compiled again and replaced, never loaded; a directory or
//! entry others can write is never read.

use fnhost::{App, CompileCache};
use fnhost_tests::guest;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A cache directory of its own for `test`, not there yet.
pub(crate) fn fresh_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fnhost-cache-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The cache's entries in `dir`.
pub(crate) fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect()
}

/// The entry's inode: a rewrite renames a new file into place, so it changes.
fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

/// The permission bits of `path` itself.
fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `examples/hello` loaded through `cache`: its `async_function`'s answer.
pub(crate) async fn answer(cache: &CompileCache) -> u32 {
    let app = App::load_with([guest("examples/hello")], cache)
        .await
        .unwrap();
    app.function("async_function")
        .unwrap()
        .remote(())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn loads_reuse_sound_entries_and_replace_broken_ones() {
    let dir = std::env::temp_dir().join(format!("fnhost-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cache = CompileCache::in_dir(&dir);

    assert_eq!(answer(&cache).await, 420);
    let [entry] = entries(&dir).try_into().expect("one entry per component");
    let written = inode(&entry);

    assert_eq!(answer(&cache).await, 420);
    assert_eq!(
        inode(&entry),
        written,
        "a sound entry is loaded, not rewritten"
    );

    let mut contents = std::fs::read(&entry).unwrap();
    let middle = contents.len() / 2;
    contents[middle] ^= 0xff;
    std::fs::write(&entry, &contents).unwrap();
    let corrupted = inode(&entry);
    assert_eq!(answer(&cache).await, 420);
    assert_ne!(inode(&entry), corrupted, "a corrupt entry is replaced");

    std::fs::write(&entry, b"short").unwrap();
    let truncated = inode(&entry);
    assert_eq!(answer(&cache).await, 420);
    assert_ne!(inode(&entry), truncated, "a truncated entry is replaced");
    let rebuilt = inode(&entry);
    assert_eq!(answer(&cache).await, 420);
    assert_eq!(inode(&entry), rebuilt, "the replacement is sound");
    assert_eq!(entries(&dir).len(), 1);

    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_cache_writes_nothing() {
    assert_eq!(CompileCache::disabled().dir(), None);
    assert_eq!(answer(&CompileCache::disabled()).await, 420);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_copied_over_another_components_is_not_loaded() {
    let dir = fresh_dir("swap");
    let cache = CompileCache::in_dir(&dir);
    assert_eq!(answer(&cache).await, 420);
    let [hello] = entries(&dir).try_into().expect("one entry per component");
    let calls = App::load_with([guest("tests/guests/calls")], &cache)
        .await
        .unwrap();
    let calls_functions = calls.functions().len();
    let calls_entry = entries(&dir)
        .into_iter()
        .find(|entry| *entry != hello)
        .expect("an entry for tests/guests/calls");

    // A valid entry, of another component, under hello's name.
    std::fs::copy(&calls_entry, &hello).unwrap();
    let swapped = inode(&hello);
    let app = App::load_with([guest("examples/hello")], &cache)
        .await
        .unwrap();
    assert!(
        app.function("async_function").is_ok(),
        "hello's functions, not those of tests/guests/calls"
    );
    assert_ne!(app.functions().len(), calls_functions);
    assert_eq!(answer(&cache).await, 420);
    assert_ne!(
        inode(&hello),
        swapped,
        "the other component's entry is replaced"
    );
    assert_eq!(entries(&dir).len(), 2);

    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_cache_is_private_to_its_user() {
    let dir = fresh_dir("modes");
    assert_eq!(answer(&CompileCache::in_dir(&dir)).await, 420);
    assert_eq!(mode(&dir), 0o700, "the directory");
    let [entry] = entries(&dir).try_into().expect("one entry per component");
    assert_eq!(mode(&entry), 0o600, "the entry");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_others_can_write_is_neither_read_nor_written() {
    let dir = fresh_dir("shared");
    let cache = CompileCache::in_dir(&dir);
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o777);
    assert_eq!(answer(&cache).await, 420, "compiled in memory");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written"
    );

    // An entry that a cache in use would replace, since it is corrupt.
    chmod(&dir, 0o700);
    assert_eq!(answer(&cache).await, 420);
    let [entry] = entries(&dir).try_into().expect("one entry per component");
    let mut contents = std::fs::read(&entry).unwrap();
    let middle = contents.len() / 2;
    contents[middle] ^= 0xff;
    std::fs::write(&entry, &contents).unwrap();
    let planted = inode(&entry);
    chmod(&dir, 0o777);
    assert_eq!(answer(&cache).await, 420, "compiled in memory");
    assert_eq!(inode(&entry), planted, "the entry is left alone");
    assert_eq!(std::fs::read(&entry).unwrap(), contents);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "nothing written"
    );

    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_others_can_write_is_replaced_unread() {
    let dir = fresh_dir("entry-mode");
    let cache = CompileCache::in_dir(&dir);
    assert_eq!(answer(&cache).await, 420);
    let [entry] = entries(&dir).try_into().expect("one entry per component");
    chmod(&entry, 0o666);
    let planted = inode(&entry);
    assert_eq!(answer(&cache).await, 420);
    assert_ne!(inode(&entry), planted, "the entry is replaced");
    assert_eq!(mode(&entry), 0o600);
    std::fs::remove_dir_all(&dir).unwrap();
}
