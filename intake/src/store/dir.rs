//! Blobs in a directory (the default): `blobs/ab/<sha256>` content-addressed, `parts/<key>` for
//! uploads in progress, `tmp/` for assembly. Every file is fsynced, and its directory after a rename,
//! before anything is acknowledged, so an acknowledged blob survives a power cut.
//!
//! Paths are built only from intake-generated part keys and lowercase-hex content addresses, both
//! checked here again, so no request can name a path outside the directory.

use std::{
    fs::{self, File},
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use async_trait::async_trait;
use bytes::Bytes;
use fieldseal_core::protocol::statement::is_sha256_hex;
use ring::digest;

use super::*;
use crate::{error::IntakeError, ids::is_part_key};

pub struct DirBlobs {
    root: PathBuf,
}

fn io_error(what: &str, e: io::Error) -> IntakeError {
    IntakeError::storage(format!("blob directory, {what}: {e}"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl DirBlobs {
    pub fn open(root: &Path) -> Result<Self> {
        for sub in ["blobs", "parts", "tmp"] {
            fs::create_dir_all(root.join(sub)).map_err(|e| io_error("create", e))?;
        }
        Ok(DirBlobs { root: root.to_owned() })
    }

    fn part_path(&self, key: &str) -> Result<PathBuf> {
        if !is_part_key(key) {
            return Err(IntakeError::internal(format!("refusing part key {key:?}")));
        }
        Ok(self.root.join("parts").join(key))
    }

    fn blob_path(&self, sha256: &str) -> Result<PathBuf> {
        if !is_sha256_hex(sha256) {
            return Err(IntakeError::internal(
                "refusing a content address that is not lowercase hex SHA-256",
            ));
        }
        Ok(self.root.join("blobs").join(&sha256[..2]).join(sha256))
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(IntakeError::internal)?
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[async_trait]
impl Blobs for DirBlobs {
    async fn ping(&self) -> Result<()> {
        let root = self.root.clone();
        blocking(move || fs::metadata(root.join("blobs")).map(|_| ()).map_err(|e| io_error("stat", e))).await
    }

    async fn put_part(&self, key: &str, bytes: Bytes) -> Result<()> {
        let path = self.part_path(key)?;
        blocking(move || {
            write_synced(&path, &bytes).map_err(|e| io_error("write part", e))?;
            sync_dir(path.parent().unwrap_or(&path)).map_err(|e| io_error("sync", e))
        })
        .await
    }

    async fn delete_part(&self, key: &str) -> Result<()> {
        let path = self.part_path(key)?;
        blocking(move || match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("delete part", e)),
        })
        .await
    }

    async fn commit(&self, expected: &str, parts: &[String]) -> Result<CommitOutcome> {
        let target = self.blob_path(expected)?;
        let parts = parts.iter().map(|k| self.part_path(k)).collect::<Result<Vec<_>>>()?;
        let tmp_dir = self.root.join("tmp");
        let expected = expected.to_owned();
        blocking(move || {
            let mut tmp = tempfile_in(&tmp_dir)?;
            let mut hasher = digest::Context::new(&digest::SHA256);
            let mut buffer = vec![0u8; 256 * 1024];
            for part in &parts {
                let mut file = File::open(part).map_err(|e| io_error("read part", e))?;
                loop {
                    let n = file.read(&mut buffer).map_err(|e| io_error("read part", e))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buffer[..n]);
                    tmp.1.write_all(&buffer[..n]).map_err(|e| io_error("write blob", e))?;
                }
            }
            let actual = crate::ids::hex(hasher.finish().as_ref());
            if actual != expected {
                let _ = fs::remove_file(&tmp.0);
                return Ok(CommitOutcome::Mismatch);
            }
            tmp.1.sync_all().map_err(|e| io_error("sync blob", e))?;
            let dir = target.parent().unwrap_or(&target).to_owned();
            fs::create_dir_all(&dir).map_err(|e| io_error("create", e))?;
            // Renaming over an existing blob of the same content is harmless: same bytes, same name.
            fs::rename(&tmp.0, &target).map_err(|e| io_error("rename blob", e))?;
            sync_dir(&dir).map_err(|e| io_error("sync", e))?;
            Ok(CommitOutcome::Stored)
        })
        .await
    }

    async fn store(&self, expected: &str, bytes: Bytes) -> Result<CommitOutcome> {
        if crate::ids::sha256_hex(&bytes) != expected {
            return Ok(CommitOutcome::Mismatch);
        }
        let target = self.blob_path(expected)?;
        let tmp_dir = self.root.join("tmp");
        blocking(move || {
            let (tmp_path, mut tmp) = tempfile_in(&tmp_dir)?;
            tmp.write_all(&bytes).and_then(|()| tmp.sync_all()).map_err(|e| io_error("write blob", e))?;
            let dir = target.parent().unwrap_or(&target).to_owned();
            fs::create_dir_all(&dir).map_err(|e| io_error("create", e))?;
            fs::rename(&tmp_path, &target).map_err(|e| io_error("rename blob", e))?;
            sync_dir(&dir).map_err(|e| io_error("sync", e))?;
            Ok(CommitOutcome::Stored)
        })
        .await
    }

    async fn rehash(&self, sha256: &str) -> Result<Option<(String, u64)>> {
        let path = self.blob_path(sha256)?;
        blocking(move || {
            let mut file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_error("open blob", e)),
            };
            let mut hasher = digest::Context::new(&digest::SHA256);
            let mut buffer = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            loop {
                let n = file.read(&mut buffer).map_err(|e| io_error("read blob", e))?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                hasher.update(&buffer[..n]);
            }
            Ok(Some((crate::ids::hex(hasher.finish().as_ref()), size)))
        })
        .await
    }
}

/// A new file in `dir` with a random name.
fn tempfile_in(dir: &Path) -> Result<(PathBuf, File)> {
    let path = dir.join(format!("{}.tmp", crate::ids::random_hex(16)));
    let file =
        File::options().write(true).create_new(true).open(&path).map_err(|e| io_error("create tmp", e))?;
    Ok((path, file))
}
