//! Volumes (Modal's `Volume`) from guests of both SDKs: a file written and committed in one
//! container is read in another and by the host; nothing outside a volume is reached, through
//! `..`, an absolute path or a symlink, by a guest or by the host's own file operations; a
//! commit past the quota fails and says so. Each test has a host (and a store) of its own.

use crate::storage::{TestHost, call, own_host_on};
use fnhost::{App, EntryKind, Host, StorageError, StorageSettings, Volume};
use serde_json::json;
use std::path::PathBuf;

in_both_sdks!(
    rust: "tests/guests/storage", python: "tests/guests-py/storage/app.py";
    a_committed_file_is_read_by_another_container_and_the_host,
    nothing_outside_a_volume_is_reached,
    a_commit_past_the_quota_fails_and_says_so,
    a_function_lists_reads_and_removes_without_a_mount,
);

on_a_cluster_too!(
    rust: "tests/guests/storage", python: "tests/guests-py/storage/app.py";
    a_committed_file_is_read_by_another_container_and_the_host,
    nothing_outside_a_volume_is_reached,
    a_commit_past_the_quota_fails_and_says_so,
    a_function_lists_reads_and_removes_without_a_mount,
);

/// The quota of these tests' volumes.
const QUOTA: u64 = 1 << 20;

async fn on_own_host(component: PathBuf) -> (TestHost, App) {
    let host = own_host_on(StorageSettings {
        volume_quota: QUOTA,
        ..StorageSettings::default()
    })
    .await;
    let app = host.app().load([component]).await.unwrap();
    (host, app)
}

async fn files(host: &Host) -> Volume {
    host.storage().unwrap().volume("files", true).await.unwrap()
}

async fn a_committed_file_is_read_by_another_container_and_the_host(component: PathBuf) {
    let (host, app) = on_own_host(component).await;
    call(&app, "volume_write", ("notes/a.txt", "hello")).await;
    assert_eq!(
        call(&app, "volume_read", "notes/a.txt").await,
        json!("hello")
    );
    let volume = files(&host).await;
    assert_eq!(volume.read("/notes/a.txt").await.unwrap(), b"hello");
    let listed = volume.list("notes").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].path.as_str(), listed[0].kind, listed[0].size),
        ("notes/a.txt", EntryKind::File, 5)
    );
    // What the host writes, a guest reads; a function that mounts nothing sees no volume.
    volume.write("from-host.txt", b"hi".to_vec()).await.unwrap();
    assert_eq!(
        call(&app, "volume_read", "from-host.txt").await,
        json!("hi")
    );
    assert_eq!(call(&app, "volume_unmounted", ()).await, json!(false));
    assert_eq!(
        host.storage()
            .unwrap()
            .names(fnhost::ObjectKind::Volume)
            .await
            .unwrap(),
        ["files"]
    );
}

async fn nothing_outside_a_volume_is_reached(component: PathBuf) {
    let (host, app) = on_own_host(component).await;
    call(&app, "volume_write", ("inside.txt", "in")).await;
    let volume = files(&host).await;
    // A symlink in the volume pointing out of it, as a guest or an operator might make.
    std::os::unix::fs::symlink("/etc", volume.dir().join("link")).unwrap();
    std::os::unix::fs::symlink("../..", volume.dir().join("up")).unwrap();
    let tries = [
        "/data/inside.txt",
        "/data/../../etc/passwd",
        "/etc/passwd",
        "/data/link/passwd",
        "/data/up/etc/passwd",
    ];
    let mut outcomes = Vec::new();
    for path in tries {
        outcomes.push(call(&app, "volume_try", path).await);
    }
    assert_eq!(
        outcomes,
        ["read", "refused", "refused", "refused", "refused"]
    );
    // The host's own operations refuse the same ways out.
    for path in [
        "link/passwd",
        "up/etc/passwd",
        "../store.redb",
        "/../../etc/passwd",
    ] {
        let refused = volume.read(path).await.unwrap_err();
        assert!(
            matches!(
                refused,
                StorageError::Invalid(_) | StorageError::NotFound(_)
            ),
            "{path}: {refused:?}"
        );
    }
    assert!(volume.write("../escaped", b"x".to_vec()).await.is_err());
    assert!(!volume.dir().parent().unwrap().join("escaped").exists());
    assert!(volume.write("link/escaped", b"x".to_vec()).await.is_err());
    assert!(!PathBuf::from("/etc/escaped").exists());
    assert_eq!(volume.read("inside.txt").await.unwrap(), b"in");
}

async fn a_commit_past_the_quota_fails_and_says_so(component: PathBuf) {
    let (host, app) = on_own_host(component).await;
    assert_eq!(
        call(&app, "volume_fill", QUOTA / 2).await,
        json!("committed")
    );
    assert_eq!(call(&app, "volume_fill", QUOTA * 2).await, json!("full"));
    let volume = files(&host).await;
    assert_eq!(volume.usage().await.unwrap(), 0);
    volume
        .write("half", vec![0; (QUOTA / 2) as usize])
        .await
        .unwrap();
    let refused = volume
        .write("more", vec![0; QUOTA as usize])
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, StorageError::Full(message) if message.contains("quota")),
        "{refused:?}"
    );
    // Rewriting a file counts only what it grows by.
    volume
        .write("half", vec![1; (QUOTA / 2) as usize])
        .await
        .unwrap();
    volume.commit().await.unwrap();
}

async fn a_function_lists_reads_and_removes_without_a_mount(component: PathBuf) {
    let (_host, app) = on_own_host(component).await;
    call(&app, "volume_write", ("notes/a.txt", "hello")).await;
    call(&app, "volume_write", ("top.txt", "top")).await;
    let listing = call(&app, "volume_listing", ()).await;
    let expected = json!([
        [
            ["notes", "dir", 0],
            ["top.txt", "file", 3],
            ["notes/a.txt", "file", 5]
        ],
        "hello",
        [["top.txt", "file", 3]]
    ]);
    assert_eq!(listing, expected);
}

/// A file committed to the cluster under a path that leads out (`../`) is refused when a host
/// brings the volume in: nothing lands outside its copy.
#[tokio::test(flavor = "multi_thread")]
async fn a_path_from_the_cluster_cannot_leave_the_copy() {
    crate::storage::on_nats(async {
        let host = own_host_on(StorageSettings::default()).await;
        let volume = files(&host).await;
        let url = crate::storage::nats_url();
        let client = async_nats::connect(url).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let bucket = format!("fnhost-volume-{}", volume.id().trim_start_matches("vo-"));
        let store = jetstream.get_object_store(bucket).await.unwrap();
        store
            .put("../outside.txt", &mut &b"escaped"[..])
            .await
            .unwrap();
        let refused = volume.reload().await.unwrap_err();
        assert!(matches!(refused, StorageError::Invalid(_)), "{refused}");
        let outside = volume.dir().parent().unwrap().join("outside.txt");
        assert!(!outside.exists(), "{} was written", outside.display());
    })
    .await;
}
