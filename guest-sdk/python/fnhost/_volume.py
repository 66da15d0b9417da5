"""Volumes (Modal's `modal.Volume`): directory trees the host keeps, mounted in a function's
containers and read and written with ordinary file calls.

```python
vol = fnhost.Volume.from_name("results", create_if_missing=True)

@app.function(volumes={"/data": vol})
def save(name: str, text: str) -> None:
    with open(f"/data/{name}", "w") as f:
        f.write(text)
    vol.commit()
```

`commit()` makes what was written durable, and raises `fnhost.exception.VolumeFullError` when
the volume holds more than its quota. `reload()` brings in what other containers committed: on one host every container
mounts the same directory, so a write is seen at once and there is nothing to fetch. Each has
its `.aio` twin.
"""

import dataclasses
import enum
import queue
from typing import Iterator, List, Mapping

from . import exception
from ._function import _Twin
from ._phase import storage, types
from ._storage import _Handle


class FileEntryType(enum.IntEnum):
    """What a path in a volume names (Modal's `FileEntryType`)."""

    FILE = 1
    DIRECTORY = 2
    SYMLINK = 3


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One entry of `Volume.listdir` (Modal's): `mtime` in seconds since the Unix epoch."""

    path: str
    type: FileEntryType
    mtime: int
    size: int


_TYPES = {
    storage.VolumeEntryKind.FILE: FileEntryType.FILE,
    storage.VolumeEntryKind.DIR: FileEntryType.DIRECTORY,
    storage.VolumeEntryKind.SYMLINK: FileEntryType.SYMLINK,
}


def _entries(found) -> List[FileEntry]:
    return [FileEntry(entry.path, _TYPES[entry.kind], entry.mtime, entry.size) for entry in found]


class Volume(_Handle):
    """A volume of the host: mount it with `volumes={"/path": vol}`."""

    _binding = storage.Volume

    def _twins(self) -> None:
        self.commit = _Twin(self._commit, self._commit_aio,
            "Makes what was written in it durable; `VolumeFullError` when it holds more than its quota.")
        self.reload = _Twin(
            lambda: self._call("reload"), lambda: self._call_aio("reload"),
            "Brings in what other containers committed.")
        self.listdir = _Twin(self._listdir, self._listdir_aio,
            "The entries of the directory `path` (every one below it with `recursive=True`).")
        self.read_file = _Twin(self._read_file, self._read_file_aio,
            "The bytes of the file `path`, as an iterator of chunks (one, at most 16 MiB).")
        self.remove_file = _Twin(
            lambda path, recursive=False: self._call("remove_file", path, recursive),
            lambda path, recursive=False: self._call_aio("remove_file", path, recursive),
            "Removes the file `path` (a directory and all it holds with `recursive=True`).")

    def _listdir(self, path: str, recursive: bool = False) -> List[FileEntry]:
        return _entries(self._call("listdir", path, recursive))

    async def _listdir_aio(self, path: str, recursive: bool = False) -> List[FileEntry]:
        return _entries(await self._call_aio("listdir", path, recursive))

    def _read_file(self, path: str) -> Iterator[bytes]:
        yield self._call("read_file", path)

    async def _read_file_aio(self, path: str):
        yield await self._call_aio("read_file", path)

    def _commit(self) -> None:
        try:
            self._call("commit")
        except queue.Full as full:
            raise exception.VolumeFullError(str(full)) from None

    async def _commit_aio(self) -> None:
        try:
            await self._call_aio("commit")
        except queue.Full as full:
            raise exception.VolumeFullError(str(full)) from None

    @classmethod
    def from_name(cls, name: str, *, create_if_missing: bool = False) -> "Volume":
        """The volume named `name`, opened at its first use; made empty when missing and
        `create_if_missing` (also when a function that mounts it starts)."""
        if not isinstance(name, str) or not name:
            raise TypeError("a volume's name is a non-empty string")
        volume = super().from_name(name, create_if_missing=create_if_missing)
        volume._create_if_missing = create_if_missing
        return volume

    @classmethod
    def from_id(cls, object_id: str):
        raise NotImplementedError("fnhost finds volumes by name: use `Volume.from_name`")

    @classmethod
    def ephemeral(cls):
        raise NotImplementedError("fnhost has no ephemeral volumes yet: use `Volume.from_name`")


def mounts(volumes: Mapping[str, Volume]) -> list:
    """The contract's `volume-mount`s of a function's `volumes=`, checked."""
    if not isinstance(volumes, Mapping):
        raise TypeError('`volumes` maps mount points to volumes: write `volumes={"/data": vol}`')
    found = []
    for path, volume in volumes.items():
        if not isinstance(path, str) or not path.startswith("/"):
            raise TypeError(f"a mount point is an absolute path such as `/data`, not {path!r}")
        if not isinstance(volume, Volume):
            raise TypeError(f"`volumes` holds fnhost.Volume values, not {type(volume).__name__}")
        found.append(types.VolumeMount(path=path, volume=volume._name, create_if_missing=volume._create_if_missing))
    return found
