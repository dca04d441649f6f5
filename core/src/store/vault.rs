//! The blob vault: encrypted files beside the database.
//!
//! Layout: `vault/blobs/<id>` holds committed blobs; `vault/tmp/<id>.part` holds blobs being written;
//! `vault/quarantine/<id>` holds committed blobs that no row names, set aside by startup recovery
//! instead of being deleted (still ciphertext, still owner-only; see `crate::evidence::sweep`).
//! A blob becomes visible only by an atomic rename after its bytes are fsynced, and the directory is
//! fsynced after the rename, so after a crash a blob is either whole in `blobs/` or absent. Stale
//! `.part` files are ciphertext that no record points to; they are removed when the vault opens.
//! The vault stores bytes only; what they mean (and their encryption) belongs to the caller.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
};

use super::{StoreError, private_fs};

#[derive(Debug)]
pub struct Vault {
    blobs: PathBuf,
    tmp: PathBuf,
    quarantine: PathBuf,
}

/// The blobs directory as of its last change (see [`Vault::blobs_listing_stamp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingStamp {
    pub device: u64,
    pub inode: u64,
    pub modified: std::time::SystemTime,
}

/// A blob being written. Dropping it without [`PendingBlob::commit`] deletes the partial file.
#[derive(Debug)]
pub struct PendingBlob {
    file: Option<File>,
    tmp_path: PathBuf,
    final_path: PathBuf,
    blobs_dir: PathBuf,
}

impl Vault {
    pub fn open(root: impl AsRef<Path>) -> Result<Self, StoreError> {
        let root = root.as_ref();
        let vault =
            Vault { blobs: root.join("blobs"), tmp: root.join("tmp"), quarantine: root.join("quarantine") };
        for dir in [root, &vault.blobs, &vault.tmp, &vault.quarantine] {
            private_fs::private_dir(dir).map_err(StoreError::vault_io(dir))?;
        }
        vault.remove_stale_parts()?;
        Ok(vault)
    }

    /// Starts writing blob `id`. Fails if a committed blob with that id exists: blobs are immutable.
    pub fn begin(&self, id: &str) -> Result<PendingBlob, StoreError> {
        check_id(id)?;
        let final_path = self.blobs.join(id);
        if final_path.exists() {
            return Err(StoreError::Corrupt {
                what: format!("vault blob {id}"),
                reason: "already exists".into(),
            });
        }
        let tmp_path = self.tmp.join(format!("{id}.part"));
        let file = private_fs::private_file_options()
            .create(true)
            .truncate(true)
            .open(&tmp_path)
            .map_err(StoreError::vault_io(&tmp_path))?;
        Ok(PendingBlob { file: Some(file), tmp_path, final_path, blobs_dir: self.blobs.clone() })
    }

    pub fn open_blob(&self, id: &str) -> Result<File, StoreError> {
        check_id(id)?;
        let path = self.blobs.join(id);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound { what: format!("vault blob {id}") },
            _ => StoreError::VaultIo { path, source: e },
        })
    }

    pub fn blob_path(&self, id: &str) -> Result<PathBuf, StoreError> {
        check_id(id)?;
        Ok(self.blobs.join(id))
    }

    pub fn contains(&self, id: &str) -> bool {
        check_id(id).is_ok() && self.blobs.join(id).is_file()
    }

    /// Removes a committed blob (after the server's receipt, or an orphan found on recovery).
    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        let path = self.blobs.join(id);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.blobs),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::VaultIo { path, source: e }),
        }
    }

    /// When the committed blobs' directory last changed, with its identity: adding, removing or
    /// renaming a blob in or out of it changes this. Recovery compares it with the one it recorded
    /// after its last sweep, to list the directory only when it changed.
    pub fn blobs_listing_stamp(&self) -> Result<ListingStamp, StoreError> {
        let meta = fs::metadata(&self.blobs).map_err(StoreError::vault_io(&self.blobs))?;
        let modified = meta.modified().map_err(StoreError::vault_io(&self.blobs))?;
        #[cfg(unix)]
        let (device, inode) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (device, inode) = (0, 0);
        Ok(ListingStamp { device, inode, modified })
    }

    /// Ids of all committed blobs, for recovery sweeps that compare them with the database.
    pub fn blob_ids(&self) -> Result<Vec<String>, StoreError> {
        list_ids(&self.blobs)
    }

    /// Moves committed blob `id` into the quarantine (an atomic rename inside the vault: the bytes
    /// are never rewritten, and the file keeps its owner-only mode). A blob already there stays.
    pub fn quarantine(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        let to = self.quarantine.join(id);
        if to.exists() {
            return Err(StoreError::Corrupt {
                what: format!("quarantined vault blob {id}"),
                reason: "already quarantined".into(),
            });
        }
        fs::rename(self.blobs.join(id), &to).map_err(StoreError::vault_io(&to))?;
        sync_dir(&self.quarantine)?;
        sync_dir(&self.blobs)
    }

    /// Puts a quarantined blob back among the committed ones (its row is back: a database restored
    /// to the right copy).
    pub fn release_from_quarantine(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        let to = self.blobs.join(id);
        if to.exists() {
            return Err(StoreError::Corrupt {
                what: format!("vault blob {id}"),
                reason: "already exists".into(),
            });
        }
        fs::rename(self.quarantine.join(id), &to).map_err(StoreError::vault_io(&to))?;
        sync_dir(&self.blobs)?;
        sync_dir(&self.quarantine)
    }

    /// Ids of the quarantined blobs.
    pub fn quarantined_ids(&self) -> Result<Vec<String>, StoreError> {
        list_ids(&self.quarantine)
    }

    /// Size and last modification of a quarantined blob (the modification time is when its bytes
    /// were committed: a rename does not change it).
    pub fn quarantined_metadata(&self, id: &str) -> Result<fs::Metadata, StoreError> {
        check_id(id)?;
        let path = self.quarantine.join(id);
        fs::metadata(&path).map_err(StoreError::vault_io(&path))
    }

    /// Deletes a quarantined blob. Only for one proven never committed, after its removal was
    /// recorded in the trail.
    pub fn remove_quarantined(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        let path = self.quarantine.join(id);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.quarantine),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::VaultIo { path, source: e }),
        }
    }

    fn remove_stale_parts(&self) -> Result<(), StoreError> {
        for entry in fs::read_dir(&self.tmp).map_err(StoreError::vault_io(&self.tmp))? {
            let path = entry.map_err(StoreError::vault_io(&self.tmp))?.path();
            if path.extension().is_some_and(|ext| ext == "part") {
                fs::remove_file(&path).map_err(StoreError::vault_io(&path))?;
            }
        }
        Ok(())
    }
}

impl PendingBlob {
    /// A read handle on the bytes written so far, so a caller can read them back while
    /// [`PendingBlob::commit`] runs (the handle stays valid across the rename).
    pub fn reader(&self) -> Result<File, StoreError> {
        File::open(&self.tmp_path).map_err(StoreError::vault_io(&self.tmp_path))
    }

    /// Makes the blob durable and visible: fsync the file, rename it into place, fsync the directory.
    pub fn commit(mut self) -> Result<PathBuf, StoreError> {
        let file = self.file.take().ok_or_else(|| StoreError::Corrupt {
            what: "pending vault blob".into(),
            reason: "committed twice".into(),
        })?;
        file.sync_all().map_err(StoreError::vault_io(&self.tmp_path))?;
        drop(file);
        fs::rename(&self.tmp_path, &self.final_path).map_err(StoreError::vault_io(&self.final_path))?;
        sync_dir(&self.blobs_dir)?;
        Ok(self.final_path.clone())
    }
}

impl Write for PendingBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("vault blob already committed")),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.write_all(buf),
            None => Err(io::Error::other("vault blob already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Best effort: a leftover .part is removed on the next open anyway.
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

fn list_ids(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir).map_err(StoreError::vault_io(dir))? {
        let entry = entry.map_err(StoreError::vault_io(dir))?;
        if let Some(name) = entry.file_name().to_str() {
            ids.push(name.to_owned());
        }
    }
    ids.sort();
    Ok(ids)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(StoreError::vault_io(dir))?;
    Ok(())
}

/// Ids become file names: only a conservative alphabet, so no id can escape the vault directory.
fn check_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Corrupt { what: "vault blob id".into(), reason: "not a safe file name".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_invisible_until_committed_and_immutable_after() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = Vault::open(tmp.path()).unwrap();
        let mut blob = vault.begin("ev1").unwrap();
        blob.write_all(b"ciphertext").unwrap();
        assert!(!vault.contains("ev1"));
        blob.commit().unwrap();
        assert!(vault.contains("ev1"));
        assert!(vault.begin("ev1").is_err());
        assert_eq!(vault.blob_ids().unwrap(), vec!["ev1".to_string()]);
    }

    #[test]
    fn an_abandoned_blob_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = Vault::open(tmp.path()).unwrap();
        let mut blob = vault.begin("ev2").unwrap();
        blob.write_all(b"partial").unwrap();
        drop(blob);
        assert!(!vault.contains("ev2"));
        assert_eq!(fs::read_dir(tmp.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn stale_parts_from_a_crash_are_swept_on_open() {
        let tmp = tempfile::tempdir().unwrap();
        drop(Vault::open(tmp.path()).unwrap());
        fs::write(tmp.path().join("tmp").join("ev3.part"), b"x").unwrap();
        Vault::open(tmp.path()).unwrap();
        assert_eq!(fs::read_dir(tmp.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn a_quarantined_blob_keeps_its_bytes_and_mode_and_can_come_back() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = Vault::open(tmp.path()).unwrap();
        let mut blob = vault.begin("ev4").unwrap();
        blob.write_all(b"ciphertext").unwrap();
        blob.commit().unwrap();
        vault.quarantine("ev4").unwrap();
        assert!(!vault.contains("ev4"));
        assert_eq!(vault.quarantined_ids().unwrap(), vec!["ev4".to_string()]);
        assert_eq!(fs::read(tmp.path().join("quarantine/ev4")).unwrap(), b"ciphertext");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &str| fs::metadata(tmp.path().join(p)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode("quarantine"), 0o700);
            assert_eq!(mode("quarantine/ev4"), 0o600);
        }
        vault.release_from_quarantine("ev4").unwrap();
        assert!(vault.contains("ev4"));
        assert!(vault.quarantined_ids().unwrap().is_empty());
    }

    #[test]
    fn ids_that_could_escape_the_vault_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = Vault::open(tmp.path()).unwrap();
        for id in ["../x", "a/b", "", ".hidden", "-x"] {
            assert!(vault.begin(id).is_err(), "{id:?}");
        }
    }
}
