//! Reading the state directory's files as untrusted input: only regular files, never through a
//! symbolic link, never more than a cap; and the directory itself, which must be this user's
//! alone.
//!
//! Invariant: a read of a state file ends: a FIFO planted in the directory is refused without
//! being waited on (the file is opened non-blocking and checked before any byte is read), a
//! device (`/dev/zero` linked in) is refused by type, and a file that grows past its cap is
//! cut and refused. Without it a hand-made or hostile state directory could hang the server's
//! start or fill its memory.

use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The bytes of the regular file at `path` (not a link, a FIFO, a device or a directory), at
/// most `cap` of them; `Ok(None)` when there is no file.
pub(crate) fn read_regular(path: &Path, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        // A link is refused; a FIFO opens at once, and is refused by type below.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) => {
            return Err(io::Error::other("it is a symbolic link"));
        }
        Err(error) => return Err(error),
    };
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::other(format!(
            "it is not a regular file ({})",
            kind(&metadata)
        )));
    }
    if metadata.len() > cap {
        return Err(io::Error::other(format!(
            "it holds {} bytes, more than the {cap} allowed",
            metadata.len()
        )));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::other(format!(
            "it grew past the {cap} bytes allowed"
        )));
    }
    Ok(Some(bytes))
}

/// What a file that is not a regular one is.
fn kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Why the directory at `dir` cannot hold a server's state, if it cannot: it must belong to
/// this user and not be writable by group or others (whoever can write it chooses the code the
/// server runs), as the compile cache's directory must.
pub(crate) fn unsafe_dir(dir: &Path) -> Option<String> {
    match std::fs::metadata(dir) {
        Err(error) => Some(error.to_string()),
        Ok(metadata) if !metadata.is_dir() => Some("it is not a directory".into()),
        Ok(metadata) => fnhost::untrusted(&metadata),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_regular_files_within_their_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("manifest.json");
        assert_eq!(read_regular(&file, 10).unwrap(), None);
        std::fs::write(&file, b"{}").unwrap();
        assert_eq!(read_regular(&file, 10).unwrap().unwrap(), b"{}");
        let refused = |path: &Path, says: &str| {
            let error = read_regular(path, 10).unwrap_err().to_string();
            assert!(error.contains(says), "{}: {error}", path.display());
        };
        std::fs::write(&file, [b'x'; 11]).unwrap();
        refused(&file, "more than the 10");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        refused(&fifo, "a FIFO");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        refused(&link, "symbolic link");
        refused(dir.path(), "a directory");
    }

    #[test]
    fn a_state_dir_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(unsafe_dir(dir.path()), None);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let problem = unsafe_dir(dir.path()).unwrap();
        assert!(problem.contains("writable by group or others"), "{problem}");
    }
}
