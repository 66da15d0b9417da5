//! A test app for the host's dicts and queues: the Rust twin of `tests/guests-py/storage`
//! (same functions, same results), so the same tests run against both SDKs.

use fnhost_guest::{
    Dict, Error, Queue, QueueOptions, StorageError, Volume, app, function, local_entrypoint,
};
use serde_json::{Value, json};
use std::time::Duration;

type JsonDict = Dict<Value, Value>;

// --- named dicts ---------------------------------------------------------------------------

#[function]
fn dict_put(
    name: String,
    key: Value,
    value: Value,
    skip_if_exists: Option<bool>,
) -> Result<bool, Error> {
    let dict = JsonDict::from_name(&name, true)?;
    if skip_if_exists.unwrap_or(false) {
        dict.put_if_absent(&key, &value)
    } else {
        dict.put(&key, &value)
    }
}

#[function]
fn dict_get(name: String, key: Value) -> Result<Option<Value>, Error> {
    JsonDict::from_name(&name, false)?.get(&key)
}

#[function]
async fn dict_put_aio(
    name: String,
    key: Value,
    value: Value,
    skip_if_exists: Option<bool>,
) -> Result<bool, Error> {
    let dict = JsonDict::from_name(&name, true)?;
    if skip_if_exists.unwrap_or(false) {
        dict.put_if_absent_aio(&key, &value).await
    } else {
        dict.put_aio(&key, &value).await
    }
}

#[function]
fn dict_summary(name: String) -> Result<Value, Error> {
    let dict = JsonDict::from_name(&name, false)?;
    let mut items = dict.items().collect::<Result<Vec<_>, Error>>()?;
    items.sort_by_key(|(key, _)| shown(key));
    let items: Vec<Value> = items
        .into_iter()
        .map(|(key, value)| json!([key, value]))
        .collect();
    Ok(json!({"len": dict.len()?, "items": items}))
}

/// A key as Python's `str` shows it (a string without quotes), to sort by.
fn shown(key: &Value) -> String {
    key.as_str().map_or_else(|| key.to_string(), str::to_owned)
}

#[function]
fn dict_write_json(name: String) -> Result<(), Error> {
    let dict = JsonDict::from_name(&name, true)?;
    dict.put(&json!("from-python"), &json!({"n": 1, "list": [1, 2]}))?;
    Ok(())
}

// --- every method of a dict ----------------------------------------------------------------

/// What `dict_exercise` and `dict_exercise_aio` return (as their Python twins do).
#[function]
fn dict_exercise() -> Result<Vec<Value>, Error> {
    let d = JsonDict::ephemeral()?;
    let mut seen = vec![json!(d.name()), json!(&d.id()[..3])];
    seen.push(json!(d.put(&json!("a"), &json!(1))?));
    seen.push(json!(d.put_if_absent(&json!("a"), &json!(2))?));
    seen.push(json!(d.get(&json!("a"))?));
    seen.push(d.get(&json!("missing"))?.unwrap_or(json!("fallback")));
    seen.push(json!(d.get(&json!("missing"))?));
    seen.push(json!(d.contains(&json!("a"))?));
    seen.push(json!(d.contains(&json!("missing"))?));
    d.put(&json!("b"), &json!([1, 2]))?;
    seen.push(json!(d.get(&json!("b"))?));
    seen.push(key_error(d.pop(&json!("missing"))?));
    d.pop(&json!("b"))?;
    seen.push(json!(d.contains(&json!("b"))?));
    seen.push(json!(d.pop(&json!("a"))?));
    seen.push(d.pop(&json!("a"))?.unwrap_or(json!("none")));
    seen.push(key_error(d.pop(&json!("a"))?));
    let (x, y, z) = (json!("x"), json!("y"), json!("z"));
    let (one, two, three) = (json!(1), json!(2), json!(3));
    d.update([(&x, &one), (&y, &two), (&z, &three)])?;
    seen.push(json!(d.len()?));
    seen.push(json!(d.keys().collect::<Result<Vec<_>, _>>()?));
    seen.push(json!(d.values().collect::<Result<Vec<_>, _>>()?));
    seen.push(json!(d.items().collect::<Result<Vec<_>, _>>()?));
    d.clear()?;
    seen.push(json!(d.len()?));
    Ok(seen)
}

#[function]
async fn dict_exercise_aio() -> Result<Vec<Value>, Error> {
    let d = JsonDict::ephemeral()?;
    let mut seen = vec![json!(d.name()), json!(&d.id()[..3])];
    seen.push(json!(d.put_aio(&json!("a"), &json!(1)).await?));
    seen.push(json!(d.put_if_absent_aio(&json!("a"), &json!(2)).await?));
    seen.push(json!(d.get_aio(&json!("a")).await?));
    seen.push(
        d.get_aio(&json!("missing"))
            .await?
            .unwrap_or(json!("fallback")),
    );
    seen.push(json!(d.get_aio(&json!("missing")).await?));
    seen.push(json!(d.contains_aio(&json!("a")).await?));
    seen.push(json!(d.contains_aio(&json!("missing")).await?));
    d.put_aio(&json!("b"), &json!([1, 2])).await?;
    seen.push(json!(d.get_aio(&json!("b")).await?));
    seen.push(key_error(d.pop_aio(&json!("missing")).await?));
    d.pop_aio(&json!("b")).await?;
    seen.push(json!(d.contains_aio(&json!("b")).await?));
    seen.push(json!(d.pop_aio(&json!("a")).await?));
    seen.push(d.pop_aio(&json!("a")).await?.unwrap_or(json!("none")));
    seen.push(key_error(d.pop_aio(&json!("a")).await?));
    let (x, y, z) = (json!("x"), json!("y"), json!("z"));
    let (one, two, three) = (json!(1), json!(2), json!(3));
    d.update_aio([(&x, &one), (&y, &two), (&z, &three)]).await?;
    seen.push(json!(d.len_aio().await?));
    let items = d.items_aio().await?;
    seen.push(json!(items.iter().map(|(k, _)| k).collect::<Vec<_>>()));
    seen.push(json!(items.iter().map(|(_, v)| v).collect::<Vec<_>>()));
    seen.push(json!(items));
    d.clear_aio().await?;
    seen.push(json!(d.len_aio().await?));
    Ok(seen)
}

/// `"KeyError"` for an absent key, as Python's `pop` without a default raises.
fn key_error(popped: Option<Value>) -> Value {
    popped.map_or(json!("KeyError"), |value| value)
}

// --- ids across functions ------------------------------------------------------------------

#[function]
fn ephemeral_shared() -> Result<String, Error> {
    let d = JsonDict::ephemeral()?;
    d.put(&json!("k"), &json!(7))?;
    let value = read_by_id.remote((d.id(), json!("k")))?;
    Ok(value.map_or_else(|| "None".to_owned(), |value| value.to_string()))
}

#[function]
fn read_by_id(dict_id: String, key: Value) -> Result<Option<Value>, Error> {
    JsonDict::from_id(&dict_id)?.get(&key)
}

// --- queues --------------------------------------------------------------------------------

fn options(partition: Option<String>, timeout: Option<Duration>) -> QueueOptions {
    QueueOptions {
        partition,
        timeout,
        partition_ttl: None,
    }
}

#[function]
fn queue_put(name: String, items: Vec<Value>, partition: Option<String>) -> Result<usize, Error> {
    let queue = Queue::<Value>::from_name(&name, true)?;
    queue.put_many(&items, &options(partition, None))?;
    Ok(items.len())
}

#[function]
fn queue_drain(name: String, timeout: f64, partition: Option<String>) -> Result<Vec<Value>, Error> {
    let queue = Queue::<Value>::from_name(&name, true)?;
    let options = options(partition, Some(Duration::from_secs_f64(timeout)));
    let mut drained = Vec::new();
    while let Some(item) = queue.get(&options)? {
        drained.push(item);
    }
    Ok(drained)
}

#[function]
async fn queue_drain_aio(
    name: String,
    timeout: f64,
    partition: Option<String>,
) -> Result<Vec<Value>, Error> {
    let queue = Queue::<Value>::from_name(&name, true)?;
    let options = options(partition, Some(Duration::from_secs_f64(timeout)));
    let mut drained = Vec::new();
    while let Some(item) = queue.get_aio(&options).await? {
        drained.push(item);
    }
    Ok(drained)
}

/// What `queue_exercise` returns (as its Python twin does).
#[function]
fn queue_exercise() -> Result<Vec<Value>, Error> {
    let q = Queue::<Value>::ephemeral()?;
    let now = options(None, Some(Duration::ZERO));
    q.put(&json!(1))?;
    q.put_many(&[json!(2), json!(3), json!(4)], &QueueOptions::default())?;
    let mut seen = vec![json!(q.len(None)?)];
    q.put_many(
        &[json!("a"), json!("b")],
        &QueueOptions::default().partition("p1"),
    )?;
    seen.push(json!(q.len_total()?));
    seen.push(json!(q.get_many(2, &now)?));
    seen.push(json!(q.get(&now.clone().partition("empty"))?));
    seen.push(json!(
        q.iterate(None, Duration::ZERO)
            .collect::<Result<Vec<_>, _>>()?
    ));
    seen.push(json!(q.len(None)?));
    q.clear(Some("p1"))?;
    seen.push(json!(q.len(Some("p1"))?));
    seen.push(json!(q.len_total()?));
    q.clear_all()?;
    seen.push(json!(q.len_total()?));
    let timed_out = q.get(&options(None, Some(Duration::from_millis(50))))?;
    seen.push(json!(if timed_out.is_none() {
        "Empty"
    } else {
        "an item"
    }));
    match q.put_many(
        &[json!(1)],
        &QueueOptions::default().partition(&"p".repeat(65)),
    ) {
        Err(Error::Storage(StorageError::Invalid(_))) => seen.push(json!("InvalidError")),
        other => seen.push(json!(format!("{other:?}"))),
    }
    Ok(seen)
}

// --- secrets -------------------------------------------------------------------------------

/// The length of the variable `key` in this function's environment (it gets the secret
/// `fnhost-test-api`): tests check it without the value ever being printed.
#[function(secrets = ["fnhost-test-api"])]
fn secret_length(key: String) -> Option<usize> {
    std::env::var(key).ok().map(|value| value.len())
}

/// The same, in a function that names no secret.
#[function]
fn env_length(key: String) -> Option<usize> {
    std::env::var(key).ok().map(|value| value.len())
}

// --- volumes -------------------------------------------------------------------------------

fn io(error: std::io::Error) -> Error {
    Error::User(error.to_string())
}

/// Writes `text` as `/data/PATH` in the volume `files` (parents made), then commits.
#[function(volumes = [("/data", "files")])]
fn volume_write(path: String, text: String) -> Result<(), Error> {
    let file = std::path::Path::new("/data").join(&path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(&file, text).map_err(io)?;
    Volume::from_name("files", false)?.commit()
}

/// The text of `/data/PATH` in the volume `files`.
#[function(volumes = [("/data", "files")])]
fn volume_read(path: String) -> Result<String, Error> {
    std::fs::read_to_string(std::path::Path::new("/data").join(path)).map_err(io)
}

/// Whether the file at `path` (any path) can be read here: `read` or `refused`.
#[function(volumes = [("/data", "files")])]
fn volume_try(path: String) -> String {
    let outcome = match std::fs::read(path) {
        Ok(_) => "read",
        Err(_) => "refused",
    };
    outcome.to_owned()
}

/// Writes `size` zero bytes as `/data/big`, then commits: `committed`, or `full` past the
/// volume's quota (the file is removed again then).
#[function(volumes = [("/data", "files")])]
async fn volume_fill(size: u64) -> Result<String, Error> {
    let size = usize::try_from(size).map_err(|_| Error::User("too big".into()))?;
    std::fs::write("/data/big", vec![0u8; size]).map_err(io)?;
    let committed = Volume::from_name("files", false)?.commit_aio().await;
    match committed {
        Ok(()) => Ok("committed".to_owned()),
        Err(Error::Storage(StorageError::Full(_))) => {
            std::fs::remove_file("/data/big").map_err(io)?;
            Ok("full".to_owned())
        }
        Err(other) => Err(other),
    }
}

/// Without a mount: the volume's entries (recursively, as `[path, kind, size]`), then the
/// text of `notes/a.txt`, then, after removing `notes`, the entries left at its root.
#[function]
async fn volume_listing() -> Result<Value, Error> {
    let volume = Volume::from_name("files", false)?;
    let shown = |entries: Vec<fnhost_guest::VolumeEntry>| -> Vec<Value> {
        entries
            .into_iter()
            .map(|entry| {
                let kind = match entry.kind {
                    fnhost_guest::VolumeEntryKind::File => "file",
                    fnhost_guest::VolumeEntryKind::Dir => "dir",
                    fnhost_guest::VolumeEntryKind::Symlink => "symlink",
                };
                json!([entry.path, kind, entry.size])
            })
            .collect()
    };
    let all = shown(volume.listdir("/", true)?);
    let text = String::from_utf8(volume.read_file_aio("notes/a.txt").await?)
        .map_err(|error| Error::User(error.to_string()))?;
    volume.remove_file("notes", true)?;
    let left = shown(volume.listdir_aio("/", false).await?);
    Ok(json!([all, text, left]))
}

/// Whether `/data` exists in a function that mounts no volume.
#[function]
fn volume_unmounted() -> bool {
    std::path::Path::new("/data").exists()
}

// --- durability ----------------------------------------------------------------------------

/// Puts `n -> n` into the dict `durable`, and `n` into the queue `durable`, for n = 0, 1, ...
/// until it is killed, printing `acked N` once both returned: whatever it printed must be in
/// the store after a `kill -9`.
#[local_entrypoint]
fn fill() -> Result<(), Error> {
    let dict = Dict::<u64, u64>::from_name("durable", true)?;
    let queue = Queue::<u64>::from_name("durable", true)?;
    for n in 0u64.. {
        dict.put(&n, &n)?;
        queue.put(&n)?;
        println!("acked {n}");
    }
    Ok(())
}

app!(
    fill,
    volume_write,
    volume_read,
    volume_try,
    volume_fill,
    volume_unmounted,
    volume_listing,
    secret_length,
    env_length,
    dict_put,
    dict_get,
    dict_put_aio,
    dict_summary,
    dict_write_json,
    dict_exercise,
    dict_exercise_aio,
    ephemeral_shared,
    read_by_id,
    queue_put,
    queue_drain,
    queue_drain_aio,
    queue_exercise,
);
