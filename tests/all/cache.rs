//! The compile cache: a second load takes the compiled code from disk; a corrupt or truncated
//! entry, or another component's, or code without its header (missing, planted, another
//! compile's) is compiled again and replaced, never loaded; a directory or entry file others
//! can write is never read.

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

/// The cache's entries in `dir`: their code files, each with its header beside it.
pub(crate) fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect()
}

/// The header of the entry whose code is at `entry`.
fn header(entry: &Path) -> PathBuf {
    entry.with_extension("header")
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

    // A valid entry, of another component, under hello's name: its code with its header,
    // then its code beside hello's header.
    for with_header in [true, false] {
        std::fs::copy(&calls_entry, &hello).unwrap();
        if with_header {
            std::fs::copy(header(&calls_entry), header(&hello)).unwrap();
        }
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
    }

    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_cache_is_private_to_its_user() {
    let dir = fresh_dir("modes");
    assert_eq!(answer(&CompileCache::in_dir(&dir)).await, 420);
    assert_eq!(mode(&dir), 0o700, "the directory");
    let [entry] = entries(&dir).try_into().expect("one entry per component");
    assert_eq!(mode(&entry), 0o600, "the entry");
    assert_eq!(mode(&header(&entry)), 0o600, "its header");
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
        2,
        "nothing written beside the entry's code and header"
    );

    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_others_can_write_is_replaced_unread() {
    let dir = fresh_dir("entry-mode");
    let cache = CompileCache::in_dir(&dir);
    assert_eq!(answer(&cache).await, 420);
    let [entry] = entries(&dir).try_into().expect("one entry per component");
    for file in [entry.clone(), header(&entry)] {
        chmod(&file, 0o666);
        let planted = inode(&file);
        assert_eq!(answer(&cache).await, 420);
        assert_ne!(inode(&file), planted, "{} is replaced", file.display());
        assert_eq!(mode(&file), 0o600);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn code_without_its_header_is_replaced_not_loaded() {
    let dir = fresh_dir("headers");
    let cache = CompileCache::in_dir(&dir);
    assert_eq!(answer(&cache).await, 420);
    let [entry] = entries(&dir).try_into().expect("one entry per component");
    let header = header(&entry);
    let sound = std::fs::read(&header).unwrap();

    // No header: a writer stopped between its code and its header.
    std::fs::remove_file(&header).unwrap();
    let code = inode(&entry);
    assert_eq!(answer(&cache).await, 420);
    assert_ne!(inode(&entry), code, "the code is compiled again");
    assert_eq!(std::fs::read(&header).unwrap().len(), sound.len());

    // A header whose code is another compile's: its digest differs in one bit.
    let mut other = sound.clone();
    let last_digest_byte = sound.len() - 9;
    other[last_digest_byte] ^= 1;
    std::fs::write(&header, &other).unwrap();
    let code = inode(&entry);
    assert_eq!(answer(&cache).await, 420);
    assert_ne!(inode(&entry), code, "the code is compiled again");

    // A header that is a link to the sound one, a link to /dev/zero, or a FIFO.
    let sound_copy = dir.join("sound-header");
    std::fs::write(&sound_copy, std::fs::read(&header).unwrap()).unwrap();
    let plants: [&dyn Fn(&Path); 3] = [
        &|header| std::os::unix::fs::symlink(&sound_copy, header).unwrap(),
        &|header| std::os::unix::fs::symlink("/dev/zero", header).unwrap(),
        &|header| {
            let made = std::process::Command::new("mkfifo").arg(header).status();
            assert!(made.unwrap().success(), "mkfifo {}", header.display());
        },
    ];
    for plant in plants {
        std::fs::remove_file(&header).unwrap();
        plant(&header);
        let code = inode(&entry);
        let loaded = tokio::time::timeout(std::time::Duration::from_secs(60), answer(&cache));
        assert_eq!(loaded.await.expect("the load does not wait"), 420);
        assert_ne!(inode(&entry), code, "the code is compiled again");
        let replaced = std::fs::symlink_metadata(&header).unwrap();
        assert!(replaced.file_type().is_file(), "{replaced:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
