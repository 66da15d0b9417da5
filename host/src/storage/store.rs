//! The host's own store: the redb database, its writer and sweeper, and the objects in it by
//! name or id. `dict.rs`, `queue.rs` and `secrets.rs` add each kind's operations to [`Store`];
//! `../volume.rs` adds volumes. What a cluster keeps instead is behind `../remote.rs`.
//!
//! Names reach here checked by the handles (`backing.rs`).
//!
//! Invariant: a store is open in one process at a time (redb's lock on the file); a second
//! open is `unavailable`, naming the file, never a second writer.

mod database;
pub(crate) mod dict;
pub(crate) mod queue;
mod secrets;
mod sweep;
pub(crate) mod tables;
mod wake;
mod writer;

use crate::storage::error::StorageError;
use crate::storage::volume::dirs::VolumesRoot;
use database::Db;
use redb::{Database, DatabaseError, ReadTransaction, ReadableTable};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tables::{NAMES, OBJECTS, ObjectKind, ObjectMeta};
use wake::Wakers;
use writer::{Writer, WriterThread};

/// The file the store keeps in its state directory.
pub const STORE_FILE: &str = "store.redb";

/// How the host keeps its dicts and queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettings {
    /// A dict entry neither read nor written for this long is removed (Modal's: 7 days).
    pub dict_entry_ttl: Duration,
    /// How often expired entries, partitions and leftovers are removed (default a minute).
    /// Reads never return an expired entry, swept or not.
    pub sweep_interval: Duration,
    /// Bytes of redb's cache of the store's pages (default 64 MiB).
    pub cache_bytes: usize,
    /// The most bytes a volume's files may hold at a commit (default 10 GiB).
    pub volume_quota: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            dict_entry_ttl: Duration::from_secs(7 * 24 * 60 * 60),
            sweep_interval: Duration::from_secs(60),
            cache_bytes: 64 << 20,
            volume_quota: 10 << 30,
        }
    }
}

/// The store of a host's dicts and queues. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Store {
    inner: Arc<StoreInner>,
}

/// Its fields drop in this order: the sweeper stops, the writer's channel closes, then the
/// writer thread is waited for, and the file is closed.
struct StoreInner {
    db: Arc<Db>,
    /// Stops the sweeper when dropped (it holds a clone of the writer).
    _sweeper: sweep::Sweeper,
    writer: Writer,
    wakers: Arc<Wakers>,
    settings: StorageSettings,
    volumes: VolumesRoot,
    _writer_thread: WriterThread,
}

impl Store {
    /// The store in `dir` (`store.redb`, made with mode 0600 when missing; `dir` made 0700),
    /// for this process alone: a store another process has open is `unavailable`.
    pub(crate) fn open(dir: &Path, settings: StorageSettings) -> Result<Store, StorageError> {
        let path = dir.join(STORE_FILE);
        create_private_dir(dir)?;
        let db = Db::open(&path, settings.cache_bytes).map_err(|error| open_error(&path, error))?;
        make_private(&path)?;
        let db = Db::new(db, Some((path, settings.cache_bytes)));
        Store::start(db, settings, VolumesRoot::in_state_dir(dir))
    }

    /// A store in memory: its objects end with the process.
    pub(crate) fn in_memory(settings: StorageSettings) -> Result<Store, StorageError> {
        let db = redb::Builder::new()
            .set_cache_size(settings.cache_bytes)
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|error| StorageError::Unavailable(error.to_string()))?;
        Store::start(Db::new(db, None), settings, VolumesRoot::temporary()?)
    }

    fn start(
        db: Db,
        settings: StorageSettings,
        volumes: VolumesRoot,
    ) -> Result<Store, StorageError> {
        let db = Arc::new(db);
        let opened: Arc<Database> = db.database()?;
        sweep::prepare(&opened)?;
        volumes.remove_orphans(&opened)?;
        drop(opened);
        let wakers = Arc::new(Wakers::default());
        let (writer, writer_thread) = Writer::start(Arc::clone(&db), Arc::clone(&wakers))?;
        let sweeper = sweep::Sweeper::start(
            &db,
            &writer,
            settings.sweep_interval,
            settings.dict_entry_ttl,
        )?;
        Ok(Store {
            inner: Arc::new(StoreInner {
                db,
                _sweeper: sweeper,
                writer,
                wakers,
                settings,
                volumes,
                _writer_thread: writer_thread,
            }),
        })
    }

    /// The names of the named objects of `kind`, in order.
    pub(crate) fn names(&self, kind: ObjectKind) -> Result<Vec<String>, StorageError> {
        let txn = self.read()?;
        let names = txn.open_table(NAMES)?;
        let mut found = Vec::new();
        for row in names.range((kind.word(), "")..)? {
            let (key, _) = row?;
            let (row_kind, name) = key.value();
            if row_kind != kind.word() {
                break;
            }
            found.push(name.to_owned());
        }
        Ok(found)
    }

    /// Removes the object of `kind` named `name` and everything it holds (a volume's files
    /// too); whether it existed.
    pub(crate) async fn delete(&self, kind: ObjectKind, name: &str) -> Result<bool, StorageError> {
        let name = name.to_owned();
        let removed = self
            .inner
            .writer
            .write(move |txn, changes| {
                let id = txn
                    .open_table(NAMES)?
                    .get((kind.word(), name.as_str()))?
                    .map(|id| id.value().to_owned());
                let Some(id) = id else { return Ok(Ok(None)) };
                tables::remove_object(txn, &id)?;
                changes.push(wake::Change::Queue(id.clone()));
                Ok(Ok(Some(id)))
            })
            .await?;
        if let (ObjectKind::Volume, Some(id)) = (kind, &removed) {
            self.volumes_root().remove(id);
        }
        Ok(removed.is_some())
    }

    /// The object of `kind` named `name`; made when missing if `create`, else `not-found`.
    pub(crate) async fn named(
        &self,
        kind: ObjectKind,
        name: &str,
        create: bool,
    ) -> Result<Object, StorageError> {
        if let Some(id) = self.id_of(kind, name)? {
            return Ok(self.object(id, Some(name.to_owned()), false));
        }
        if !create {
            return Err(StorageError::NotFound(format!(
                "no {} named `{name}` (create it with create_if_missing)",
                kind.word()
            )));
        }
        let (owned, id) = (name.to_owned(), new_id(kind));
        let id = self
            .inner
            .writer
            .write(move |txn, _| {
                let mut names = txn.open_table(NAMES)?;
                // Another open may have made it since this one looked.
                if let Some(made) = names.get((kind.word(), owned.as_str()))? {
                    return Ok(Ok(made.value().to_owned()));
                }
                names.insert((kind.word(), owned.as_str()), id.as_str())?;
                let meta = ObjectMeta {
                    kind,
                    name: Some(owned.clone()),
                    ephemeral: false,
                };
                txn.open_table(OBJECTS)?
                    .insert(id.as_str(), meta.encode().as_slice())?;
                Ok(Ok(id))
            })
            .await?;
        Ok(self.object(id, Some(name.to_owned()), false))
    }

    /// A new object of `kind` with no name, removed when its last handle is dropped.
    pub(crate) async fn ephemeral(&self, kind: ObjectKind) -> Result<Object, StorageError> {
        let id = new_id(kind);
        let row = ObjectMeta {
            kind,
            name: None,
            ephemeral: true,
        }
        .encode();
        let made = id.clone();
        self.inner
            .writer
            .write(move |txn, _| {
                txn.open_table(OBJECTS)?
                    .insert(made.as_str(), row.as_slice())?;
                Ok(Ok(()))
            })
            .await?;
        Ok(self.object(id, None, true))
    }

    /// The object of `kind` whose id is `id`.
    pub(crate) fn by_id(&self, kind: ObjectKind, id: &str) -> Result<Object, StorageError> {
        let not_found = || {
            let shown: String = id.chars().take(64).collect();
            StorageError::NotFound(format!("no {} has the id `{shown}`", kind.word()))
        };
        if !id.starts_with(kind.prefix()) {
            return Err(not_found());
        }
        let txn = self.read()?;
        let objects = txn.open_table(OBJECTS)?;
        let row = objects.get(id)?.ok_or_else(not_found)?;
        let meta = ObjectMeta::decode(row.value())?;
        if meta.kind != kind {
            return Err(not_found());
        }
        Ok(self.object(id.to_owned(), meta.name, false))
    }

    fn id_of(&self, kind: ObjectKind, name: &str) -> Result<Option<String>, StorageError> {
        let txn = self.read()?;
        let names = txn.open_table(NAMES)?;
        Ok(names
            .get((kind.word(), name))?
            .map(|id| id.value().to_owned()))
    }

    fn object(&self, id: String, name: Option<String>, owned: bool) -> Object {
        let owner = owned.then(|| {
            Arc::new(EphemeralOwner {
                store: self.clone(),
                id: id.clone(),
            })
        });
        Object {
            store: self.clone(),
            id: id.into(),
            name: name.map(Into::into),
            _owner: owner,
        }
    }

    /// A read transaction: a consistent view of what has committed.
    pub(crate) fn read(&self) -> Result<ReadTransaction, StorageError> {
        self.inner.db.begin_read()
    }

    pub(crate) fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    pub(crate) fn wakers(&self) -> &Wakers {
        &self.inner.wakers
    }

    pub(crate) fn settings(&self) -> &StorageSettings {
        &self.inner.settings
    }

    /// Where the volumes' directories are.
    pub(crate) fn volumes_root(&self) -> &VolumesRoot {
        &self.inner.volumes
    }
}

/// What a dict or queue handle holds: the store and which object.
#[derive(Clone)]
pub(crate) struct Object {
    pub(crate) store: Store,
    pub(crate) id: Arc<str>,
    pub(crate) name: Option<Arc<str>>,
    /// For an ephemeral object, shared by the handles of its maker: removes it when the last
    /// goes.
    _owner: Option<Arc<EphemeralOwner>>,
}

/// Removes an ephemeral object when dropped.
struct EphemeralOwner {
    store: Store,
    id: String,
}

impl Drop for EphemeralOwner {
    fn drop(&mut self) {
        let id = std::mem::take(&mut self.id);
        self.store.writer().write_detached(move |txn, changes| {
            tables::remove_object(txn, &id)?;
            changes.push(wake::Change::Queue(id));
            Ok(Ok(()))
        });
    }
}

/// A fresh object id: the kind's prefix and 32 random hexadecimal digits.
fn new_id(kind: ObjectKind) -> String {
    format!("{}{:032x}", kind.prefix(), rand::random::<u128>())
}

fn open_error(path: &Path, error: DatabaseError) -> StorageError {
    match error {
        DatabaseError::DatabaseAlreadyOpen => StorageError::Unavailable(format!(
            "the store {} is in use by another fnhost process; give this one another state \
             directory",
            path.display()
        )),
        other => {
            StorageError::Unavailable(format!("cannot open the store {}: {other}", path.display()))
        }
    }
}

/// Makes `dir` with mode 0700 (and its parents) when missing.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), StorageError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|error| {
            StorageError::Unavailable(format!(
                "cannot make the directory {}: {error}",
                dir.display()
            ))
        })
}

fn make_private(path: &Path) -> Result<(), StorageError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|error| {
        StorageError::Unavailable(format!("cannot make {} private: {error}", path.display()))
    })
}
