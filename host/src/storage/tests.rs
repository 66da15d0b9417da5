//! The store's promises, on a real redb file and in memory.

use super::store::tables::{OBJECTS, ObjectMeta};
use super::*;
use std::time::Duration;

fn memory() -> Storage {
    Storage::in_memory(StorageSettings::default()).unwrap()
}

fn json(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

#[tokio::test]
async fn a_dict_keeps_entries_by_their_json_value() {
    let store = memory();
    let dict = store.dict("results", true).await.unwrap();
    assert!(
        dict.put(br#"{"a":1,"b":2}"#, json(7.into()), false)
            .await
            .unwrap()
    );
    assert_eq!(
        dict.get(br#"{"b": 2, "a": 1}"#).await.unwrap(),
        Some(json(7.into()))
    );
    assert!(
        !dict
            .put(br#"{"b":2,"a":1}"#, json(8.into()), true)
            .await
            .unwrap()
    );
    assert_eq!(dict.len().await.unwrap(), 1);
    dict.update(vec![
        (json("x".into()), json(1.into())),
        (json("y".into()), json(2.into())),
    ])
    .await
    .unwrap();
    assert_eq!(dict.len().await.unwrap(), 3);
    let first = dict.entries(None, 2).await.unwrap();
    let rest = dict.entries(Some(&first[1].0), 10).await.unwrap();
    assert_eq!(first.len() + rest.len(), 3);
    assert_eq!(dict.pop(br#""x""#).await.unwrap(), Some(json(1.into())));
    assert_eq!(dict.pop(br#""x""#).await.unwrap(), None);
    assert!(!dict.contains(br#""x""#).await.unwrap());
    dict.clear().await.unwrap();
    assert_eq!(dict.len().await.unwrap(), 0);
    assert!(dict.entries(None, 10).await.unwrap().is_empty());
    // Named objects are found by name, and only when made.
    assert_eq!(store.dict("results", false).await.unwrap().id(), dict.id());
    assert!(matches!(
        store.dict("other", false).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        store.dict("a/b", true).await,
        Err(StorageError::Invalid(_))
    ));
    assert!(matches!(
        dict.get(b"{").await,
        Err(StorageError::Invalid(_))
    ));
    let big = vec![b'1'; MAX_VALUE_BYTES + 1];
    assert!(matches!(
        dict.put(b"1", big, false).await,
        Err(StorageError::TooLarge(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_racing_puts_if_absent_exactly_one_writes() {
    let store = memory();
    let racers = (0..100).map(|who| {
        let store = store.clone();
        tokio::spawn(async move {
            let dict = store.dict("locks", true).await.unwrap();
            dict.put(br#""lock""#, json(who.into()), true)
                .await
                .unwrap()
        })
    });
    let won: Vec<bool> = futures::future::try_join_all(racers).await.unwrap();
    assert_eq!(won.iter().filter(|won| **won).count(), 1);
}

#[tokio::test]
async fn a_queue_is_first_in_first_out_per_partition() {
    let store = memory();
    let queue = store.ephemeral_queue().await.unwrap();
    let items = |values: &[i64]| values.iter().map(|v| json((*v).into())).collect::<Vec<_>>();
    queue.put(items(&[1, 2, 3]), None, 60, None).await.unwrap();
    queue.put(items(&[10]), Some("p"), 60, None).await.unwrap();
    assert_eq!(queue.len(None, false).await.unwrap(), 3);
    assert_eq!(queue.len(None, true).await.unwrap(), 4);
    let seen = queue.items(None, None, 10, Duration::ZERO).await.unwrap();
    assert_eq!(
        seen.iter()
            .map(|(_, item)| item.clone())
            .collect::<Vec<_>>(),
        items(&[1, 2, 3])
    );
    assert_eq!(
        queue.get(2, None, Some(Duration::ZERO)).await.unwrap(),
        items(&[1, 2])
    );
    assert_eq!(
        queue.get(5, Some("p"), Some(Duration::ZERO)).await.unwrap(),
        items(&[10])
    );
    assert!(
        queue
            .get(1, Some("p"), Some(Duration::ZERO))
            .await
            .unwrap()
            .is_empty()
    );
    queue.clear(None, true).await.unwrap();
    assert_eq!(queue.len(None, true).await.unwrap(), 0);
    assert!(matches!(
        queue.len(Some("p"), true).await,
        Err(StorageError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_full_partition_refuses_then_takes_once_there_is_room() {
    let store = memory();
    let queue = store.ephemeral_queue().await.unwrap();
    let full = vec![json(0.into()); MAX_PARTITION_ITEMS as usize];
    queue.put(full, None, 60, None).await.unwrap();
    let one = vec![json(1.into())];
    let refused = queue.put(one.clone(), None, 60, Some(Duration::ZERO)).await;
    assert!(matches!(refused, Err(StorageError::Full(_))), "{refused:?}");
    // A blocking put waits for room: a get makes it.
    let waiting = tokio::spawn({
        let queue = queue.clone();
        async move { queue.put(one, None, 60, None).await }
    });
    tokio::task::yield_now().await;
    assert_eq!(
        queue
            .get(1, None, Some(Duration::ZERO))
            .await
            .unwrap()
            .len(),
        1
    );
    waiting.await.unwrap().unwrap();
    assert_eq!(queue.len(None, false).await.unwrap(), MAX_PARTITION_ITEMS);
}

#[tokio::test]
async fn a_waiting_get_wakes_on_a_put() {
    let store = memory();
    let queue = store.queue("jobs", true).await.unwrap();
    let getter = tokio::spawn({
        let queue = queue.clone();
        async move { queue.get(1, None, None).await }
    });
    // Whenever the getter starts waiting, before or after this put, it gets the item.
    queue
        .put(vec![json("job".into())], None, 60, None)
        .await
        .unwrap();
    assert_eq!(getter.await.unwrap().unwrap(), vec![json("job".into())]);
    assert!(
        queue
            .get(1, None, Some(Duration::from_millis(1)))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn what_was_acknowledged_is_there_after_reopening_and_ephemerals_are_gone() {
    let dir = tempdir();
    let ephemeral_id = "di-0123456789abcdef0123456789abcdef";
    {
        // A process that died with an ephemeral dict alive left this row.
        let db = redb::Database::create(dir.join(STORE_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        let row = ObjectMeta {
            kind: ObjectKind::Dict,
            name: None,
            ephemeral: true,
        }
        .encode();
        txn.open_table(OBJECTS)
            .unwrap()
            .insert(ephemeral_id, row.as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    {
        let store = Storage::open(&dir, StorageSettings::default()).unwrap();
        let dict = store.dict("kept", true).await.unwrap();
        dict.put(b"1", json("one".into()), false).await.unwrap();
        let queue = store.queue("kept", true).await.unwrap();
        queue
            .put(vec![json(1.into())], Some("p"), 60, None)
            .await
            .unwrap();
        // A second process cannot open the store while this one has it.
        let second = Storage::open(&dir, StorageSettings::default());
        assert!(matches!(second, Err(StorageError::Unavailable(ref m)) if m.contains("in use")));
    }
    let store = Storage::open(&dir, StorageSettings::default()).unwrap();
    let dict = store.dict("kept", false).await.unwrap();
    assert_eq!(dict.get(b"1").await.unwrap(), Some(json("one".into())));
    let queue = store.queue("kept", false).await.unwrap();
    assert_eq!(
        queue
            .get(1, Some("p"), Some(Duration::ZERO))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        store.dict_from_id(ephemeral_id).await,
        Err(StorageError::NotFound(_))
    ));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join(STORE_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_ephemeral_object_goes_with_its_last_handle() {
    let store = memory();
    let dict = store.ephemeral_dict().await.unwrap();
    let id = dict.id().to_owned();
    let found = store.dict_from_id(&id).await.unwrap();
    dict.put(b"1", json(1.into()), false).await.unwrap();
    drop(dict);
    // The writer applies changes in order: once a later change is answered, the removal is in.
    found.put(b"2", json(2.into()), false).await.unwrap_err();
    assert!(matches!(
        store.dict_from_id(&id).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        store.dict_from_id("qu-1").await,
        Err(StorageError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_idle_entry_expires() {
    let settings = StorageSettings {
        dict_entry_ttl: Duration::from_millis(200),
        sweep_interval: Duration::from_millis(50),
        ..StorageSettings::default()
    };
    let store = Storage::in_memory(settings).unwrap();
    let dict = store.dict("short", true).await.unwrap();
    dict.put(b"1", json(1.into()), false).await.unwrap();
    assert!(dict.contains(b"1").await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dict.get(b"1").await.unwrap(), None);
    // The sweeper gives the space back: the count follows.
    let mut swept = false;
    for _ in 0..100 {
        if dict.len().await.unwrap() == 0 {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(swept, "the expired entry was never swept");
}

#[tokio::test]
async fn a_volume_directory_goes_with_its_volume_and_orphans_at_the_next_open() {
    let dir = tempdir();
    let orphan = dir
        .join("volumes")
        .join("vo-0123456789abcdef0123456789abcdef");
    let kept = {
        let store = Storage::open(&dir, StorageSettings::default()).unwrap();
        let kept = store.volume("kept", true).await.unwrap();
        kept.write("a/b.txt", b"kept".to_vec()).await.unwrap();
        let gone = store.volume("gone", true).await.unwrap();
        gone.write("x", b"x".to_vec()).await.unwrap();
        assert!(store.delete(ObjectKind::Volume, "gone").await.unwrap());
        assert!(!gone.dir().exists());
        assert!(store.volume("gone", false).await.is_err());
        // As if a crash came between a volume's row and its directory's removal.
        std::fs::create_dir_all(orphan.join("inner")).unwrap();
        kept.dir().to_owned()
    };
    let store = Storage::open(&dir, StorageSettings::default()).unwrap();
    assert!(!orphan.exists(), "the orphan directory was kept");
    let volume = store.volume("kept", false).await.unwrap();
    assert_eq!(volume.dir(), kept);
    assert_eq!(volume.read("a/b.txt").await.unwrap(), b"kept");
    drop(store);
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fnhost-store-test-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
