//! Every name the cluster uses on NATS: subjects, the stream, its consumer, the buckets.
//!
//! Invariant: hosts of one cluster agree on these names and on nothing else: a host that
//! joins later finds everything under them. App names are checked (`A-Z a-z 0-9 _ -`) before
//! they reach a subject, so no name adds a token or a wildcard; function names travel in
//! headers, never in subjects.

use fnhost::CallId;

/// The stream of spawned calls waiting for a host (work-queue retention: a call leaves it when
/// a host acks it, after its result is stored).
pub(crate) const SPAWN_STREAM: &str = "FNHOST_SPAWNS";
/// The subjects of [`SPAWN_STREAM`]: one per call, `fnhost.spawn.<app>.<call id>`, so that
/// each app's calls have a consumer of their own and a call still waiting is found by its id.
pub(crate) const SPAWN_SUBJECTS: &str = "fnhost.spawn.>";
/// The bucket of finished spawned calls' outcomes, keyed by call id.
pub(crate) const RESULTS: &str = "fnhost-results";
/// The bucket of deployed apps, keyed by app name (the value is the server's deployment
/// record, with its version).
pub(crate) const APPS: &str = "fnhost-apps";
/// The object store of components, named by SHA-256.
pub(crate) const COMPONENTS: &str = "fnhost-components";
/// The queue group of the hosts taking spilled calls.
pub(crate) const QUEUE_GROUP: &str = "fnhost-hosts";
/// Every host hears cancellations here: `fnhost.cancel.<call id>`.
pub(crate) const CANCEL_SUBJECTS: &str = "fnhost.cancel.*";

/// The subject a spawned call of `app` is stored under (checked app names only).
pub(crate) fn spawn_subject(app: &str, id: CallId) -> String {
    format!("fnhost.spawn.{app}.{id}")
}

/// The subject of the spawned call `id`, whatever its app (a filter, for lookups by id).
pub(crate) fn spawn_subject_of_any_app(id: CallId) -> String {
    format!("fnhost.spawn.*.{id}")
}

/// Every spawned call of `app`: what its workers' consumer delivers.
pub(crate) fn spawns_of(app: &str) -> String {
    format!("fnhost.spawn.{app}.*")
}

/// The durable pull consumer of `app`'s spawned calls, which every host that has the app
/// deployed takes them from (a host without it never sees them).
pub(crate) fn workers(app: &str) -> String {
    format!("fnhost-workers-{app}")
}

/// The subject the calls of `app` spill to (checked app names only).
pub(crate) fn call_subject(app: &str) -> String {
    format!("fnhost.call.{app}")
}

/// Every app's spill subject, which every host serves in [`QUEUE_GROUP`].
pub(crate) const CALL_SUBJECTS: &str = "fnhost.call.*";

/// Where the replies to the calls a host spills come: `fnhost.reply.<host>.<call id>`.
pub(crate) fn reply_subject(host: &str, id: CallId) -> String {
    format!("fnhost.reply.{host}.{id}")
}

/// Every reply to the calls `host` spills.
pub(crate) fn replies_of(host: &str) -> String {
    format!("fnhost.reply.{host}.*")
}

/// Checks a host's name: 1 to 64 of `A-Z a-z 0-9 _ -`, so that it is one subject token.
pub(crate) fn check_host_name(name: &str) -> Result<(), String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if !name.is_empty() && name.len() <= 64 && name.bytes().all(allowed) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a host name: 1 to 64 of A-Z a-z 0-9 _ -",
            name.escape_debug()
        ))
    }
}

/// The subject a call's cancellation is told on.
pub(crate) fn cancel_subject(id: CallId) -> String {
    format!("fnhost.cancel.{id}")
}

/// The bucket of the cluster's named dicts, queues and volumes: `<kind>.<name, base64url>` to the
/// object's id.
pub(crate) const STATE_NAMES: &str = "fnhost-state-names";
/// The bucket of secrets: `<name, base64url>` to the secret's stored values.
pub(crate) const SECRETS: &str = "fnhost-secrets";

/// Text made one subject token (or KV key, bucket or consumer name): base64url without
/// padding, whose alphabet (`A-Z a-z 0-9 - _`) is allowed in all four.
pub(crate) fn token(text: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// What [`token`] made `token` from.
pub(crate) fn untoken(token: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
}

/// The key of a named object in [`STATE_NAMES`].
pub(crate) fn state_name_key(kind: &str, name: &str) -> String {
    format!("{kind}.{}", token(name.as_bytes()))
}

/// The bucket of the dict whose id is `di-<hex>`: `fnhost-dict-<hex>`.
pub(crate) fn dict_bucket(id: &str) -> String {
    format!("fnhost-dict-{}", id.trim_start_matches("di-"))
}

/// The stream of the queue whose id is `qu-<hex>`: `fnhost-queue-<hex>`.
pub(crate) fn queue_stream(id: &str) -> String {
    format!("fnhost-queue-{}", id.trim_start_matches("qu-"))
}

/// The object store of the volume whose id is `vo-<hex>`: `fnhost-volume-<hex>`.
pub(crate) fn volume_bucket(id: &str) -> String {
    format!("fnhost-volume-{}", id.trim_start_matches("vo-"))
}

/// Every partition's subject of the queue `id`.
pub(crate) fn queue_subjects(id: &str) -> String {
    format!("fnhost.queue.{}.>", id.trim_start_matches("qu-"))
}

/// The subject of `partition` (`""`: the default one) of the queue `id`: `.d` for the default
/// partition, `.p<partition, base64url>` for the others.
pub(crate) fn partition_subject(id: &str, partition: &str) -> String {
    format!(
        "fnhost.queue.{}.{}",
        id.trim_start_matches("qu-"),
        partition_token(partition)
    )
}

/// The durable consumer every host takes `partition`'s items from.
pub(crate) fn partition_consumer(partition: &str) -> String {
    format!("take-{}", partition_token(partition))
}

fn partition_token(partition: &str) -> String {
    match partition {
        "" => "d".into(),
        named => format!("p{}", token(named.as_bytes())),
    }
}

/// Where a getter's acks of the queue `id`'s items go: heard by putters waiting for room.
pub(crate) fn queue_acks(id: &str) -> String {
    format!("$JS.ACK.{}.>", queue_stream(id))
}
