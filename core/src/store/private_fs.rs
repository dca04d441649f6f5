//! Owner-only files and directories for everything the store keeps on disk.
//!
//! The database, its `-wal`/`-shm` files and the vault hold ciphertext only, but their sizes,
//! times and structure still tell something, and another app or user on a rooted phone (or a
//! backup tool) must not read them at all: files are 0600 and directories 0700. SQLite creates
//! its journal files with the permissions of the database file, so creating the database file
//! owner-only first is enough for all three; an installation made before this rule is tightened
//! when it opens.

use std::{fs, io, path::Path};

/// Creates `dir` (and missing parents) owner-only, and takes group and other access from an
/// existing one.
pub(crate) fn private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    restrict(dir, 0o700)
}

/// Options that create a file owner-only (0600). Add `create_new`/`truncate` as the caller needs.
pub(crate) fn private_file_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Takes group and other access from an existing file; a missing one is not an error.
pub(crate) fn restrict_file(path: &Path) -> io::Result<()> {
    match restrict(path, 0o600) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Keeps the owner bits of `owner_bits` (a read-only directory stays read-only) and takes every
/// group and other bit away.
#[cfg(unix)]
fn restrict(path: &Path, owner_bits: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = fs::metadata(path)?.permissions().mode() & 0o7777;
    let wanted = current & owner_bits;
    if current != wanted {
        fs::set_permissions(path, fs::Permissions::from_mode(wanted))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _owner_bits: u32) -> io::Result<()> {
    Ok(())
}
