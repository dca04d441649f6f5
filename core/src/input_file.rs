//! 外部输入文件 — opening a file someone else supplied (a template from an author, a photo on a
//! seized phone, a path typed at the CLI) without trusting what kind of file it is.
//!
//! Three refusals, all before a byte is read:
//! - the open never blocks: it is made with `O_NONBLOCK`, so a FIFO with no writer opens at once
//!   instead of hanging the caller forever;
//! - only a regular file is read, judged on the opened handle (not the path, which could be swapped
//!   between a check and the open): a FIFO, a socket or a device such as `/dev/zero` is refused;
//! - a size limit, where the caller has one, is checked against the handle's length and enforced
//!   again while reading, so a file that grows after the check still cannot exhaust memory.

use std::{
    fs::{File, OpenOptions},
    io::{self, Read},
    path::Path,
};

/// Opens `path` for reading if it is a regular file of at most `max_len` bytes (when given).
/// Returns the file and its length. A FIFO or device is `InvalidInput`; a file over the limit is
/// `FileTooLarge`; both name what was found.
pub fn open_regular(path: &Path, max_len: Option<u64>) -> io::Result<(File, u64)> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", describe_type(&meta)),
        ));
    }
    let len = meta.len();
    if let Some(max) = max_len
        && len > max
    {
        return Err(too_large(len, max));
    }
    Ok((file, len))
}

/// The whole content of a regular file of at most `max_len` bytes; see [`open_regular`].
pub fn read_bounded(path: &Path, max_len: u64) -> io::Result<Vec<u8>> {
    let (file, len) = open_regular(path, Some(max_len))?;
    let mut bytes = Vec::with_capacity(len as usize);
    // One byte past the limit tells a file that grew since it was measured.
    file.take(max_len.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_len {
        return Err(too_large(bytes.len() as u64, max_len));
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_bounded_text(path: &Path, max_len: u64) -> io::Result<String> {
    String::from_utf8(read_bounded(path, max_len)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8 text: {e}")))
}

fn too_large(len: u64, max: u64) -> io::Error {
    io::Error::new(io::ErrorKind::FileTooLarge, format!("{len} bytes or more, over the limit of {max} bytes"))
}

fn describe_type(meta: &std::fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_within_the_limit_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, "{}").unwrap();
        assert_eq!(read_bounded_text(&path, 2).unwrap(), "{}");
        assert_eq!(read_bounded(&path, 1).unwrap_err().kind(), io::ErrorKind::FileTooLarge);
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_before_anything_is_read() {
        // /dev/zero never ends: reading it "to the end" grew to gigabytes.
        let err = read_bounded(Path::new("/dev/zero"), u64::MAX).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("a device"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_is_refused_instead_of_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success(), "mkfifo failed");
        // A blocking open would wait here for a writer that never comes.
        let err = open_regular(&fifo, None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_regular(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
    }
}
