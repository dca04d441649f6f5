//! 私有文件 — owner-only files that appear whole or not at all.
//!
//! Every file the core writes outside SQLite and the blob vault goes through [`OwnerOnlyFile`]: the
//! key-file vault's wrapping key, the software signer's wrapped key and decrypted viewing copies.
//! Bytes go to a temporary file in the destination's directory, created with mode 0600 (never
//! readable by another user, even for a moment); [`OwnerOnlyFile::commit`] fsyncs it, moves it into
//! place and fsyncs the directory. A crash at any point leaves either no file at the destination
//! or the complete one, plus at most a `.name.<random>.tmp` that nothing reads. Disposable copies
//! ([`OwnerOnlyFile::commit_disposable`]) skip the two fsyncs.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
};

use ring::rand::{SecureRandom, SystemRandom};

/// What [`OwnerOnlyFile::commit`] does when the destination already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Fail with `AlreadyExists` and keep the file that is there (keys: never change an identity).
    Keep,
    /// Replace it atomically (a re-decrypted thumbnail).
    Replace,
}

/// A file being written; invisible at its destination until committed, removed if dropped.
#[derive(Debug)]
pub struct OwnerOnlyFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl OwnerOnlyFile {
    /// Starts writing a file that will become `dest`.
    pub fn create(dest: &Path) -> io::Result<Self> {
        let dir = parent_dir(dest);
        let name = dest.file_name().ok_or_else(|| io::Error::other("destination has no file name"))?;
        let mut suffix = [0u8; 8];
        SystemRandom::new().fill(&mut suffix).map_err(|_| io::Error::other("random generator failed"))?;
        let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(format!(".{}.{suffix}.tmp", name.to_string_lossy()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&tmp)?;
        Ok(Self { file: Some(file), tmp, dest: dest.to_owned() })
    }

    /// Makes the file durable and visible at its destination.
    pub fn commit(self, existing: Existing) -> io::Result<()> {
        self.place(existing, true)
    }

    /// Makes a disposable file visible at its destination, whole, without making it durable: for
    /// decrypted viewing copies, which recovery deletes at the next start anyway and which are
    /// decrypted again when missing. Still owner-only and still whole-or-absent at its name for
    /// every reader; only a power cut may lose it (or leave it short: a thumbnail is reused only
    /// while it hashes to its signed value), which costs a decryption, never data.
    pub fn commit_disposable(self, existing: Existing) -> io::Result<()> {
        self.place(existing, false)
    }

    fn place(mut self, existing: Existing, durable: bool) -> io::Result<()> {
        let file = self.file.take().ok_or_else(|| io::Error::other("already committed"))?;
        #[cfg(test)]
        if tests::CRASH_BEFORE_COMMIT.with(|c| c.get()) {
            // What a power cut leaves: the bytes in the temporary file, nothing moved into place.
            std::mem::forget(self);
            return Err(io::Error::other("simulated crash before commit"));
        }
        if durable {
            file.sync_all()?;
        }
        drop(file);
        match existing {
            // Unlike rename, a hard link never replaces an existing file.
            Existing::Keep => fs::hard_link(&self.tmp, &self.dest)?,
            Existing::Replace => fs::rename(&self.tmp, &self.dest)?,
        }
        // The destination is in place; the temporary name (if linked) goes in Drop.
        if durable { sync_dir(parent_dir(&self.dest)) } else { Ok(()) }
    }
}

impl Write for OwnerOnlyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().ok_or_else(|| io::Error::other("already committed"))?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for OwnerOnlyFile {
    fn drop(&mut self) {
        // After a rename the temporary name is gone; after a hard link or a failure it is removed.
        let _ = fs::remove_file(&self.tmp);
    }
}

/// Writes `contents` to a new owner-only file at `path`; `AlreadyExists` if one is there.
pub fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OwnerOnlyFile::create(path)?;
    file.write_all(contents)?;
    file.commit(Existing::Keep)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The rename or link is durable only once the directory entry is.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// Makes the next commits on this thread stop as a crash would, before anything is in place.
        pub(crate) static CRASH_BEFORE_COMMIT: Cell<bool> = const { Cell::new(false) };
    }

    pub(crate) fn crashing<T>(f: impl FnOnce() -> T) -> T {
        CRASH_BEFORE_COMMIT.with(|c| c.set(true));
        let out = f();
        CRASH_BEFORE_COMMIT.with(|c| c.set(false));
        out
    }

    #[test]
    fn a_new_file_is_owner_only_complete_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_new(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let err = write_new(&path, b"second").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
    }

    #[test]
    fn replace_swaps_the_whole_file_and_a_dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thumb.jpg");
        fs::write(&path, b"old").unwrap();
        let mut f = OwnerOnlyFile::create(&path).unwrap();
        f.write_all(b"new bytes").unwrap();
        f.commit(Existing::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new bytes");

        let mut abandoned = OwnerOnlyFile::create(&dir.path().join("view.jpg")).unwrap();
        abandoned.write_all(b"half").unwrap();
        drop(abandoned);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_crash_before_commit_leaves_nothing_at_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        assert!(crashing(|| write_new(&path, b"0123456789")).is_err());
        assert!(!path.exists(), "a crashed write must not leave a short file in place");
        write_new(&path, b"0123456789").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"0123456789");
    }
}
