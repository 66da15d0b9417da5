//! How the load module reads a file that may be a special one: an app's component, a compile
//! cache entry.
//!
//! A file is opened only as a regular file, checked on the opened descriptor, without waiting
//! for a FIFO's writer, and (for a cache entry) without following a symbolic link; it is read
//! only up to a size limit. Without it, `/dev/zero` given as the app (or linked as a cache
//! entry) reads until memory runs out, and a FIFO blocks the load forever.
//!
//! A file is read into memory ([`read_capped`]), streamed through a small buffer
//! ([`stream_capped`], to digest it without keeping it) or mapped ([`Mapping`], for compiled
//! code, which wasmtime maps too).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::ptr::NonNull;

/// Whether [`open_regular`] follows a symbolic link at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// Open what the link points to (a component the user links to).
    Follow,
    /// A link is not a regular file (a cache entry: someone may have planted it).
    Refuse,
}

/// Why a file gave no contents.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    /// What the OS said.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A directory, device, FIFO, socket or (with [`Links::Refuse`]) symbolic link.
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    /// More bytes than the reader takes.
    #[error("{what} larger than {} MiB is refused", .limit >> 20)]
    TooLarge {
        /// What the file was to be, with its article ("a component").
        what: &'static str,
        /// The limit, in bytes.
        limit: u64,
    },
}

impl From<FileError> for io::Error {
    fn from(error: FileError) -> Self {
        match error {
            FileError::Io(error) => error,
            FileError::NotRegular(_) => io::Error::new(io::ErrorKind::InvalidInput, error),
            FileError::TooLarge { .. } => io::Error::new(io::ErrorKind::FileTooLarge, error),
        }
    }
}

/// Nothing when `file_type` is a regular file's; else what it is instead.
fn regular(file_type: std::fs::FileType) -> Result<(), FileError> {
    if file_type.is_file() {
        return Ok(());
    }
    let kind = if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    };
    Err(FileError::NotRegular(kind))
}

/// Opens the regular file at `path` for reading, with its metadata (from the open file, so
/// it describes what will be read).
///
/// Never opens a special file it saw beforehand, never waits for a FIFO's writer (it opens
/// non-blocking), and with [`Links::Refuse`] never follows a symbolic link (`O_NOFOLLOW`).
pub(crate) fn open_regular(path: &Path, links: Links) -> Result<(File, Metadata), FileError> {
    let seen = match links {
        Links::Follow => std::fs::metadata(path)?,
        Links::Refuse => std::fs::symlink_metadata(path)?,
    };
    regular(seen.file_type())?;
    // The path may have changed since: what the descriptor is decides.
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|error| match error.raw_os_error() {
            Some(libc::ELOOP) if links == Links::Refuse => FileError::NotRegular("a symbolic link"),
            _ => FileError::Io(error),
        })?;
    let metadata = file.metadata()?;
    regular(metadata.file_type())?;
    Ok((file, metadata))
}

/// The contents of `file` (opened by [`open_regular`], with its `metadata`), refused when
/// they exceed `limit` bytes: checked from the metadata first, and at most `limit + 1` bytes
/// are read, should the file grow meanwhile. `what` names the file in the error.
pub(crate) fn read_capped(
    file: &File,
    metadata: &Metadata,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>, FileError> {
    let too_large = FileError::TooLarge { what, limit };
    if metadata.len() > limit {
        return Err(too_large);
    }
    let mut contents = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut contents)?;
    if contents.len() as u64 > limit {
        return Err(too_large);
    }
    Ok(contents)
}

/// How much [`stream_capped`] reads at a time: large enough for few system calls and for a
/// digest's SIMD lanes, small enough to stay in the CPU's cache.
const STREAM_CHUNK: usize = 256 << 10;

/// Hands the contents of `file` to `each`, a piece at a time, as [`read_capped`] would read
/// them (the same checks and `limit`), without keeping them.
pub(crate) fn stream_capped(
    file: &File,
    metadata: &Metadata,
    limit: u64,
    what: &'static str,
    mut each: impl FnMut(&[u8]),
) -> Result<(), FileError> {
    let too_large = FileError::TooLarge { what, limit };
    if metadata.len() > limit {
        return Err(too_large);
    }
    let mut buffer = vec![0; STREAM_CHUNK];
    let mut seen: u64 = 0;
    loop {
        let read = match (&*file).read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error.into()),
        };
        seen += read as u64;
        if seen > limit {
            return Err(too_large);
        }
        each(&buffer[..read]);
    }
}

/// A regular file mapped into memory, read-only and private, for as long as this lives.
///
/// The mapping shows the file as it is on disk, not as it was when mapped: a write to the
/// file shows through, and reading past a truncation raises `SIGBUS`. Map only a file that
/// nobody changes in place (cache entries are replaced by a rename, never rewritten).
pub(crate) struct Mapping {
    start: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only memory owned by this value; sharing or moving it across
// threads is no different from a `Box<[u8]>`.
unsafe impl Send for Mapping {}
// SAFETY: as above: only `&[u8]` is handed out.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of `file` (at least one), with all their pages read in at
    /// once (`MAP_POPULATE`), as they are about to be read through.
    pub(crate) fn of(file: &File, len: usize) -> io::Result<Mapping> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an empty file cannot be mapped",
            ));
        }
        // SAFETY: a fresh mapping at an address the kernel picks, of an open descriptor; it
        // aliases no Rust memory. The result is checked before use.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = NonNull::new(start.cast()).ok_or_else(io::Error::last_os_error)?;
        Ok(Mapping { start, len })
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `start` is a live mapping of `len` readable bytes until `drop`, and nothing
        // in this process writes to it (it is read-only).
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `of`, unmapped once; no borrow of it outlives `self`.
        unsafe {
            libc::munmap(self.start.as_ptr().cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fnhost-file-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn special_files_are_refused_before_reading() {
        let error = open_regular(Path::new("/dev/zero"), Links::Follow).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let error = open_regular(Path::new("/"), Links::Follow).unwrap_err();
        assert!(error.to_string().contains("a directory"), "{error}");

        let dir = temp_dir("links");
        let link = dir.join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let error = open_regular(&link, Links::Refuse).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");

        let file = dir.join("file");
        std::fs::write(&file, [7; 10]).unwrap();
        let linked = dir.join("linked");
        std::os::unix::fs::symlink(&file, &linked).unwrap();
        let (opened, metadata) = open_regular(&linked, Links::Follow).unwrap();
        let error = read_capped(&opened, &metadata, 9, "a test file").unwrap_err();
        assert!(matches!(error, FileError::TooLarge { .. }), "{error}");
        let (opened, metadata) = open_regular(&linked, Links::Follow).unwrap();
        assert_eq!(
            read_capped(&opened, &metadata, 10, "a test file").unwrap(),
            [7; 10]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn streaming_and_mapping_see_what_reading_sees() {
        let dir = temp_dir("stream");
        let path = dir.join("file");
        let contents: Vec<u8> = (0..STREAM_CHUNK * 2 + 17).map(|i| i as u8).collect();
        std::fs::write(&path, &contents).unwrap();

        let (file, metadata) = open_regular(&path, Links::Refuse).unwrap();
        let mut streamed = Vec::new();
        stream_capped(&file, &metadata, 1 << 20, "a test file", |piece| {
            streamed.extend_from_slice(piece)
        })
        .unwrap();
        assert_eq!(streamed, contents);
        let mapping = Mapping::of(&file, contents.len()).unwrap();
        assert_eq!(mapping.bytes(), contents);

        let (file, metadata) = open_regular(&path, Links::Refuse).unwrap();
        let error = stream_capped(&file, &metadata, 100, "a test file", |_| ()).unwrap_err();
        assert!(matches!(error, FileError::TooLarge { .. }), "{error}");
        assert!(Mapping::of(&file, 0).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
