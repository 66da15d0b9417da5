//! The compile cache: a second load takes the compiled code from disk; a corrupt or truncated
//! entry is compiled again and replaced, never loaded.

use fnhost::{App, CompileCache};
use fnhost_tests::guest;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn entries(dir: &Path) -> Vec<PathBuf> {
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

async fn answer(cache: &CompileCache) -> u32 {
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
