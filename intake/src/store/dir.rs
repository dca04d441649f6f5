//! Blobs in a directory (the default): `blobs/ab/<sha256>` content-addressed, `parts/<upload id>`
//! the upload in progress, written in place part after part and renamed to its content address
//! once complete (no second copy).
//!
//! # When bytes count as held (校验与落盘)
//!
//! A part is written without an fsync: syncing every chunk made intake wait on the disk once per
//! PATCH, and a PATCH answer is not a promise (the terminal releases nothing on it, only on a
//! receipt after the commit). What intake may report as held — a HEAD's `Upload-Offset` — must
//! be on disk, so:
//!
//! - [`Blobs::sync_upload`] (every HEAD) fsyncs the upload's file before the offset is answered,
//!   and records that it did in `parts/<upload id>.synced` (boot id and byte count, itself
//!   written to a temporary file, fsynced and renamed into place);
//! - [`Blobs::commit`] fsyncs the file, checks its SHA-256, renames it to its content address and
//!   fsyncs the directory before the upload is recorded complete and a receipt can name it;
//! - after a restart, what was written but never fsynced is trusted only if the operating system
//!   has not restarted since (the same Linux boot id: the kernel still holds every byte written
//!   in this boot, and the next fsync writes it out; a killed intake process loses nothing). After
//!   a power cut or reboot only the bytes recorded as synced count: the first HEAD rewinds the
//!   upload to the last part boundary within them and the terminal sends the rest again, and a
//!   PATCH that arrives first is refused with `tus.offset_mismatch` so that it asks (HEAD).
//!   Where there is no boot id (not Linux) every part is fsynced before it is kept, as before.
//! - every [`WRITEBACK_EVERY`] bytes an upload's file is fsynced in the background, not waited
//!   for, so the disk catches up while the next chunks arrive and the fsync a HEAD or the commit
//!   waits on finds little left. Such an fsync consumes the error it reports (a later one would
//!   not repeat it), so a failure is remembered: the upload's next part is refused, its commit
//!   fails, and its next HEAD counts only the bytes recorded as synced, as after a reboot.
//!
//! Two requests never write one upload at once: a part holds the upload's lock (in this process:
//! a blob directory is served by one intake process) from before the offset is checked until it is
//! recorded (or committed), and a write still in flight when its request is dropped keeps it too.
//! The whole-blob SHA-256 is carried along as the parts are written, so the commit need not read
//! the file again; a process that did not write every part (a restart) re-reads it.
//!
//! Paths are built only from intake-generated upload ids, part keys and lowercase-hex content
//! addresses, all checked here again, so no request can name a path outside the directory.

use std::{
    collections::HashMap,
    fs::{self, File},
    io::{self, Read, Write},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use bytes::Bytes;
use fieldseal_core::protocol::statement::is_sha256_hex;
use ring::digest;

use super::*;
use crate::{
    error::IntakeError,
    ids::{is_hex_id, is_part_key},
};

/// Body bytes gathered before one write to the file (one blocking task each).
const WRITE_BATCH: usize = 1 << 20;
/// Bytes an upload may gather unsynced before intake starts writing them out in the background, so
/// the fsync a HEAD or the commit waits for finds little left to do.
const WRITEBACK_EVERY: u64 = 64 << 20;
/// How long a part waits for another request still writing the same upload (a cut connection's
/// handler that has not noticed yet) before refusing.
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// The running SHA-256 of the uploads this process wrote from their first byte: bytes hashed so
/// far and the digest state, by upload id.
type RunningHashes = Arc<Mutex<HashMap<String, (u64, digest::Context)>>>;

/// The lock of each upload being written, by upload id.
type UploadLocks = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// Held by a part and by each of its writes in flight.
type Writing = Arc<tokio::sync::OwnedMutexGuard<()>>;

/// An upload's background writeback: bytes written since the last one started; whether one failed
/// (an fsync consumes the error it reports, so a later fsync would not say so); and the turn a
/// background fsync and an fsync that a promise rests on take one after the other.
#[derive(Default)]
struct Writeback {
    unsynced: u64,
    failed: bool,
    turn: Arc<Mutex<()>>,
}

type Writebacks = Arc<Mutex<HashMap<String, Writeback>>>;

/// Whether a background writeback of the upload failed; `clear` when the caller deals with it.
fn writeback_failed(writebacks: &Writebacks, upload_id: &str, clear: bool) -> bool {
    let mut all = writebacks.lock().unwrap_or_else(|p| p.into_inner());
    all.get_mut(upload_id).is_some_and(|w| {
        let failed = w.failed;
        w.failed = failed && !clear;
        failed
    })
}

pub struct DirBlobs {
    root: PathBuf,
    /// This boot of the operating system, when it can be told (Linux).
    boot: Option<String>,
    running: RunningHashes,
    locks: UploadLocks,
    writebacks: Writebacks,
}

fn io_error(what: &str, e: io::Error) -> IntakeError {
    IntakeError::storage(format!("blob directory, {what}: {e}"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn ask_again(detail: &'static str) -> IntakeError {
    IntakeError::conflict("tus.offset_mismatch", detail)
}

fn boot_id() -> Option<String> {
    let id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')).then(|| id.to_owned())
}

/// What `parts/<upload id>.synced` records: the first `synced` bytes were fsynced, and bytes
/// written later were written during boot `boot`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Synced {
    boot: Option<String>,
    synced: u64,
}

impl Synced {
    fn read(path: &Path) -> io::Result<Option<Synced>> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut words = text.split_whitespace();
        let parsed = match (words.next(), words.next(), words.next()) {
            (Some("v1"), Some(boot), Some(synced)) => synced
                .parse()
                .ok()
                .map(|synced| Synced { boot: (boot != "-").then(|| boot.to_owned()), synced }),
            _ => None,
        };
        // An unreadable record vouches for nothing: the upload is asked for again from 0.
        Ok(Some(parsed.unwrap_or(Synced { boot: None, synced: 0 })))
    }

    /// Written beside, fsynced, renamed over and the directory fsynced: never half a record.
    fn write(&self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension("synced-tmp");
        let mut file = File::create(&tmp)?;
        writeln!(file, "v1 {} {}", self.boot.as_deref().unwrap_or("-"), self.synced)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(path.parent().unwrap_or(path))
    }
}

impl DirBlobs {
    pub fn open(root: &Path) -> Result<Self> {
        Self::open_in_boot(root, boot_id())
    }

    /// [`DirBlobs::open`] as if the operating system's boot were `boot` (tests: a reboot).
    pub(crate) fn open_in_boot(root: &Path, boot: Option<String>) -> Result<Self> {
        for sub in ["blobs", "parts"] {
            fs::create_dir_all(root.join(sub)).map_err(|e| io_error("create", e))?;
        }
        Ok(DirBlobs {
            root: root.to_owned(),
            boot,
            running: RunningHashes::default(),
            locks: UploadLocks::default(),
            writebacks: Writebacks::default(),
        })
    }

    /// The upload's file and its sync record.
    fn upload_paths(&self, upload_id: &str) -> Result<(PathBuf, PathBuf)> {
        if !is_hex_id(upload_id) {
            return Err(IntakeError::internal(format!("refusing upload id {upload_id:?}")));
        }
        let parts = self.root.join("parts");
        Ok((parts.join(upload_id), parts.join(format!("{upload_id}.synced"))))
    }

    /// A part file of the layout before parts were written in place (removed with its upload).
    fn legacy_part_path(&self, key: &str) -> Result<PathBuf> {
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

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl DirBlobs {
    /// Takes the upload's lock, waiting a little for a request that is finishing.
    async fn lock(&self, upload_id: &str) -> Result<Writing> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(upload_id.to_owned())
            .or_default()
            .clone();
        match tokio::time::timeout(LOCK_WAIT, lock.lock_owned()).await {
            Ok(guard) => Ok(Arc::new(guard)),
            Err(_) => Err(ask_again("another request is still writing this upload; ask the offset again")),
        }
    }

    /// Forgets a finished upload's lock and running hash.
    fn forget(&self, upload_id: &str) {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(upload_id);
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).remove(upload_id);
        self.writebacks.lock().unwrap_or_else(|p| p.into_inner()).remove(upload_id);
    }

    /// The upload's writeback turn, taken around every fsync of it.
    fn writeback_turn(&self, upload_id: &str) -> Arc<Mutex<()>> {
        let mut all = self.writebacks.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(upload_id.to_owned()).or_default().turn.clone()
    }
}

#[async_trait]
impl Blobs for DirBlobs {
    async fn ping(&self) -> Result<()> {
        let root = self.root.clone();
        blocking(move || fs::metadata(root.join("blobs")).map(|_| ()).map_err(|e| io_error("stat", e))).await
    }

    async fn begin_part(&self, upload_id: &str, offset: u64, _key: &str) -> Result<Box<dyn PartWriter + '_>> {
        let (path, record) = self.upload_paths(upload_id)?;
        let writing = self.lock(upload_id).await?;
        if writeback_failed(&self.writebacks, upload_id, false) {
            return Err(ask_again("some of this upload did not reach the disk; ask the offset again"));
        }
        let boot = self.boot.clone();
        let file = blocking(move || {
            // Only the first part creates the file: a later one whose file is gone has nothing to
            // continue, and HEAD will say so.
            let file = match File::options().read(true).write(true).create(offset == 0).open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(ask_again(
                        "intake no longer holds this upload's bytes; ask the offset again",
                    ));
                }
                Err(e) => return Err(io_error("open upload", e)),
            };
            let known = Synced::read(&record).map_err(|e| io_error("read sync record", e))?;
            let this_boot = boot.is_some() && known.as_ref().is_some_and(|k| k.boot == boot);
            if !this_boot {
                // Written in another boot (or never recorded): only synced bytes can be built on.
                if known.map_or(0, |k| k.synced) < offset {
                    return Err(ask_again(
                        "intake restarted before these bytes were made durable; ask the offset again",
                    ));
                }
                if boot.is_some() {
                    Synced { boot, synced: offset }
                        .write(&record)
                        .map_err(|e| io_error("write sync record", e))?;
                }
            }
            Ok(file)
        })
        .await?;
        // Carry the running hash on only from exactly where it stopped.
        let hash = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(upload_id)
            .filter(|(at, _)| *at == offset)
            .map(|(_, ctx)| ctx.clone())
            .or_else(|| (offset == 0).then(|| digest::Context::new(&digest::SHA256)));
        Ok(Box::new(DirPart {
            blobs: self,
            upload_id: upload_id.to_owned(),
            file: Arc::new(file),
            writing,
            offset,
            written: 0,
            batch: Vec::new(),
            batch_len: 0,
            spare: Vec::new(),
            pending: None,
            hash,
            kept: false,
        }))
    }

    async fn sync_upload(&self, upload_id: &str, offset: u64) -> Result<u64> {
        if offset == 0 {
            return Ok(0);
        }
        let (path, record) = self.upload_paths(upload_id)?;
        let boot = self.boot.clone();
        let (turn, writebacks, id) =
            (self.writeback_turn(upload_id), self.writebacks.clone(), upload_id.to_owned());
        blocking(move || {
            let _turn = turn.lock().unwrap_or_else(|p| p.into_inner());
            // After a failed writeback only what was recorded as synced is held, as after a reboot.
            let lost = writeback_failed(&writebacks, &id, true);
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(io_error("open upload", e)),
            };
            let len = file.metadata().map_err(|e| io_error("stat upload", e))?.len();
            let known = Synced::read(&record).map_err(|e| io_error("read sync record", e))?;
            let synced = known.as_ref().map_or(0, |k| k.synced);
            let this_boot = boot.is_some() && known.as_ref().is_some_and(|k| k.boot == boot);
            if !this_boot || lost {
                return Ok(synced.min(offset).min(len));
            }
            file.sync_all().map_err(|e| io_error("sync upload", e))?;
            let held = offset.min(len);
            if held > synced {
                Synced { boot, synced: held }.write(&record).map_err(|e| io_error("write sync record", e))?;
            }
            Ok(held)
        })
        .await
    }

    async fn discard_parts(&self, upload_id: &str, parts: &[String]) -> Result<()> {
        let (path, record) = self.upload_paths(upload_id)?;
        let legacy = parts.iter().map(|k| self.legacy_part_path(k)).collect::<Result<Vec<_>>>()?;
        self.forget(upload_id);
        blocking(move || {
            for path in legacy.iter().chain([&path, &record]) {
                remove_if_present(path).map_err(|e| io_error("delete part", e))?;
            }
            Ok(())
        })
        .await
    }

    async fn commit(
        &self,
        expected: &str,
        upload_id: &str,
        length: u64,
        _parts: &[String],
    ) -> Result<CommitOutcome> {
        let target = self.blob_path(expected)?;
        let (path, record) = self.upload_paths(upload_id)?;
        let carried = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(upload_id)
            .filter(|(at, _)| *at == length)
            .map(|(_, ctx)| ctx);
        let expected = expected.to_owned();
        let (turn, writebacks, id) =
            (self.writeback_turn(upload_id), self.writebacks.clone(), upload_id.to_owned());
        blocking(move || {
            let _turn = turn.lock().unwrap_or_else(|p| p.into_inner());
            if writeback_failed(&writebacks, &id, false) {
                // The next HEAD rewinds the upload to what is on disk.
                return Err(IntakeError::storage(
                    "blob directory: some of the upload did not reach the disk",
                ));
            }
            if length == 0 {
                // Nothing was ever written: the empty blob is made here.
                File::create(&path).map_err(|e| io_error("create blob", e))?;
            }
            let mut file =
                File::options().read(true).write(true).open(&path).map_err(|e| io_error("open upload", e))?;
            let len = file.metadata().map_err(|e| io_error("stat upload", e))?.len();
            if len < length {
                // Recorded parts the file no longer holds: a storage fault, not the terminal's.
                // The next HEAD rewinds the upload to what is there.
                return Err(IntakeError::storage(format!(
                    "blob directory: upload holds {len} of its {length} recorded bytes"
                )));
            }
            // Bytes past the length are leftovers of a cut request, never part of the blob.
            if len > length {
                file.set_len(length).map_err(|e| io_error("trim upload", e))?;
            }
            let actual = match carried {
                Some(ctx) => crate::ids::hex(ctx.finish().as_ref()),
                None => hash_file(&mut file).map_err(|e| io_error("read upload", e))?,
            };
            if actual != expected {
                remove_if_present(&path)
                    .and_then(|()| remove_if_present(&record))
                    .map_err(|e| io_error("delete", e))?;
                return Ok(CommitOutcome::Mismatch);
            }
            file.sync_all().map_err(|e| io_error("sync blob", e))?;
            drop(file);
            let dir = target.parent().unwrap_or(&target).to_owned();
            fs::create_dir_all(&dir).map_err(|e| io_error("create", e))?;
            // Renaming over an existing blob of the same content is harmless: same bytes, same name.
            fs::rename(&path, &target).map_err(|e| io_error("rename blob", e))?;
            sync_dir(&dir).map_err(|e| io_error("sync", e))?;
            remove_if_present(&record).map_err(|e| io_error("delete sync record", e))?;
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
            let size = file.metadata().map_err(|e| io_error("stat blob", e))?.len();
            let sha = hash_file(&mut file).map_err(|e| io_error("read blob", e))?;
            Ok(Some((sha, size)))
        })
        .await
    }
}

fn hash_file(file: &mut File) -> io::Result<String> {
    let mut hasher = digest::Context::new(&digest::SHA256);
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(crate::ids::hex(hasher.finish().as_ref()))
}

/// One part written in place at its offset. The body's frames are gathered (not copied) into
/// batches written on blocking threads, one in flight while the next gathers; the running hash
/// follows them.
struct DirPart<'a> {
    blobs: &'a DirBlobs,
    upload_id: String,
    file: Arc<File>,
    /// The upload's lock, shared with the write in flight: it lasts until that write is done too.
    writing: Writing,
    offset: u64,
    written: u64,
    /// Frames as hyper handed them over, and their total length.
    batch: Vec<Bytes>,
    batch_len: usize,
    /// The list back from the last write, for the next batch.
    spare: Vec<Bytes>,
    pending: Option<tokio::task::JoinHandle<Result<Written>>>,
    hash: Option<digest::Context>,
    kept: bool,
}

/// What a batch write hands back: the running hash moved past it, and its list for reuse.
type Written = (Option<digest::Context>, Vec<Bytes>);

impl DirPart<'_> {
    /// Starts writing the upload's unsynced bytes to disk once enough have gathered, without
    /// waiting: the disk catches up while the next chunks arrive.
    fn write_back_if_due(&self) {
        let turn = {
            let mut all = self.blobs.writebacks.lock().unwrap_or_else(|p| p.into_inner());
            let writeback = all.entry(self.upload_id.clone()).or_default();
            writeback.unsynced += self.written;
            if writeback.unsynced < WRITEBACK_EVERY {
                return;
            }
            writeback.unsynced = 0;
            writeback.turn.clone()
        };
        let (file, writebacks, id) =
            (self.file.clone(), self.blobs.writebacks.clone(), self.upload_id.clone());
        tokio::task::spawn_blocking(move || {
            let _turn = turn.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = file.sync_data() {
                tracing::warn!(upload_id = %id, error = %e, "background writeback of an upload failed");
                let mut all = writebacks.lock().unwrap_or_else(|p| p.into_inner());
                all.entry(id).or_default().failed = true;
            }
        });
    }

    async fn settle(&mut self) -> Result<()> {
        if let Some(pending) = self.pending.take() {
            let (hash, mut frames) = pending.await.map_err(IntakeError::internal)??;
            frames.clear();
            self.hash = hash;
            self.spare = frames;
        }
        Ok(())
    }

    /// Sends the gathered batch to the file, after the one before it landed.
    async fn flush(&mut self) -> Result<()> {
        self.settle().await?;
        if self.batch.is_empty() {
            return Ok(());
        }
        let frames = std::mem::replace(&mut self.batch, std::mem::take(&mut self.spare));
        let mut at = self.offset + self.written;
        let first = self.written == 0;
        self.written += std::mem::take(&mut self.batch_len) as u64;
        let (file, offset, mut hash) = (self.file.clone(), self.offset, self.hash.take());
        let writing = self.writing.clone();
        self.pending = Some(tokio::task::spawn_blocking(move || {
            let _writing = writing;
            if first {
                // Whatever lies past the offset was never recorded: a cut request's leftovers.
                file.set_len(offset).map_err(|e| io_error("trim upload", e))?;
            }
            for frame in &frames {
                file.write_all_at(frame, at).map_err(|e| io_error("write part", e))?;
                at += frame.len() as u64;
                if let Some(hash) = hash.as_mut() {
                    hash.update(frame);
                }
            }
            Ok((hash, frames))
        }));
        Ok(())
    }
}

#[async_trait]
impl PartWriter for DirPart<'_> {
    async fn write(&mut self, bytes: Bytes) -> Result<()> {
        self.batch_len += bytes.len();
        self.batch.push(bytes);
        if self.batch_len >= WRITE_BATCH { self.flush().await } else { Ok(()) }
    }

    async fn keep(&mut self) -> Result<()> {
        self.flush().await?;
        self.settle().await?;
        let end = self.offset + self.written;
        if self.blobs.boot.is_none() && self.written > 0 {
            // No boot id to tell a process restart from a power cut: durable before it is kept.
            let (file, record) = (self.file.clone(), self.blobs.upload_paths(&self.upload_id)?.1);
            blocking(move || {
                file.sync_all().map_err(|e| io_error("sync part", e))?;
                Synced { boot: None, synced: end }
                    .write(&record)
                    .map_err(|e| io_error("write sync record", e))
            })
            .await?;
        }
        if self.blobs.boot.is_some() {
            self.write_back_if_due();
        }
        let mut running = self.blobs.running.lock().unwrap_or_else(|p| p.into_inner());
        match self.hash.clone() {
            Some(hash) => running.insert(self.upload_id.clone(), (end, hash)),
            None => running.remove(&self.upload_id),
        };
        self.kept = true;
        Ok(())
    }

    async fn abandon(&mut self) -> Result<()> {
        self.batch.clear();
        self.batch_len = 0;
        let _ = self.settle().await;
        if self.kept {
            // `keep` moved the running hash past bytes now forgotten: the commit re-reads instead.
            self.blobs.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.upload_id);
        }
        if self.written > 0 {
            let (file, offset) = (self.file.clone(), self.offset);
            blocking(move || file.set_len(offset).map_err(|e| io_error("trim upload", e))).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPLOAD: &str = "0123456789abcdef0123456789abcdef";

    fn blobs(root: &Path, boot: Option<&str>) -> DirBlobs {
        DirBlobs::open_in_boot(root, boot.map(str::to_owned)).unwrap()
    }

    /// Writes `bytes` as the part at `offset` and keeps it, in two writes.
    async fn part(blobs: &DirBlobs, offset: u64, bytes: &[u8]) {
        let mut part = blobs.begin_part(UPLOAD, offset, "k").await.unwrap();
        let (a, b) = bytes.split_at(bytes.len() / 2);
        part.write(Bytes::copy_from_slice(a)).await.unwrap();
        part.write(Bytes::copy_from_slice(b)).await.unwrap();
        part.keep().await.unwrap();
    }

    #[tokio::test]
    async fn bytes_written_in_this_boot_are_held_after_intake_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let first = blobs(dir.path(), Some("boot-1"));
        part(&first, 0, &[1; 100]).await;
        part(&first, 100, &[2; 100]).await;
        drop(first);
        // A new process, the same boot: the kernel still holds every byte; HEAD makes them durable.
        let again = blobs(dir.path(), Some("boot-1"));
        assert_eq!(again.sync_upload(UPLOAD, 200).await.unwrap(), 200);
        part(&again, 200, &[3; 10]).await;
        assert_eq!(fs::read(dir.path().join("parts").join(UPLOAD)).unwrap().len(), 210);
    }

    #[tokio::test]
    async fn after_a_reboot_only_bytes_made_durable_count_and_a_part_past_them_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let before = blobs(dir.path(), Some("boot-1"));
        part(&before, 0, &[1; 100]).await;
        assert_eq!(before.sync_upload(UPLOAD, 100).await.unwrap(), 100, "a HEAD syncs");
        part(&before, 100, &[2; 100]).await; // received, never synced
        drop(before);

        let rebooted = blobs(dir.path(), Some("boot-2"));
        assert_eq!(rebooted.sync_upload(UPLOAD, 200).await.unwrap(), 100, "only the synced bytes");
        let Err(refused) = rebooted.begin_part(UPLOAD, 200, "k").await else {
            panic!("a part past the durable bytes was begun");
        };
        assert_eq!(refused.code(), "tus.offset_mismatch");
        // From the durable end it goes on, and bytes written in this boot count again.
        part(&rebooted, 100, &[4; 100]).await;
        assert_eq!(rebooted.sync_upload(UPLOAD, 200).await.unwrap(), 200);
        let stored = fs::read(dir.path().join("parts").join(UPLOAD)).unwrap();
        assert_eq!(&stored[100..], &[4; 100][..]);
    }

    #[tokio::test]
    async fn after_a_failed_background_writeback_only_bytes_made_durable_count() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = blobs(dir.path(), Some("boot-1"));
        part(&blobs, 0, &[1; 100]).await;
        assert_eq!(blobs.sync_upload(UPLOAD, 100).await.unwrap(), 100);
        part(&blobs, 100, &[2; 100]).await;
        // As the background fsync does when the disk refuses a write (its error is then consumed).
        blobs.writebacks.lock().unwrap().entry(UPLOAD.to_owned()).or_default().failed = true;
        let Err(refused) = blobs.begin_part(UPLOAD, 200, "k").await else {
            panic!("a part was begun on bytes that did not reach the disk");
        };
        assert_eq!(refused.code(), "tus.offset_mismatch");
        assert!(blobs.commit(&crate::ids::sha256_hex(&[0; 200]), UPLOAD, 200, &[]).await.is_err());
        assert_eq!(blobs.sync_upload(UPLOAD, 200).await.unwrap(), 100, "only the synced bytes");
        // Dealt with: from the durable end the upload goes on.
        part(&blobs, 100, &[3; 100]).await;
        assert_eq!(blobs.sync_upload(UPLOAD, 200).await.unwrap(), 200);
    }

    #[tokio::test]
    async fn without_a_boot_id_every_kept_part_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let first = blobs(dir.path(), None);
        part(&first, 0, &[1; 100]).await;
        drop(first);
        let again = blobs(dir.path(), None);
        assert_eq!(again.sync_upload(UPLOAD, 100).await.unwrap(), 100);
        part(&again, 100, &[2; 50]).await;
    }

    #[tokio::test]
    async fn a_part_abandoned_leaves_the_upload_where_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = blobs(dir.path(), Some("boot-1"));
        part(&blobs, 0, &[1; 100]).await;
        let mut cut = blobs.begin_part(UPLOAD, 100, "k").await.unwrap();
        cut.write(Bytes::from_static(&[9; 70])).await.unwrap();
        cut.keep().await.unwrap();
        cut.abandon().await.unwrap();
        drop(cut);
        assert_eq!(fs::metadata(dir.path().join("parts").join(UPLOAD)).unwrap().len(), 100);
        // The running hash was moved past the abandoned bytes: the commit re-reads the file.
        part(&blobs, 100, &[2; 100]).await;
        let mut whole = vec![1; 100];
        whole.extend([2; 100]);
        let sha = crate::ids::sha256_hex(&whole);
        assert_eq!(blobs.commit(&sha, UPLOAD, 200, &[]).await.unwrap(), CommitOutcome::Stored);
        assert_eq!(blobs.rehash(&sha).await.unwrap(), Some((sha.clone(), 200)));
    }

    #[tokio::test]
    async fn the_commit_checks_the_whole_blob_with_or_without_the_running_hash() {
        let dir = tempfile::tempdir().unwrap();
        let staged = dir.path().join("parts").join(UPLOAD);
        let mut whole = vec![5; 300];
        whole[150] = 6;
        let sha = crate::ids::sha256_hex(&whole);

        // The process that wrote every part carries the hash; the blob is renamed, not copied.
        let writer = blobs(dir.path(), Some("boot-1"));
        part(&writer, 0, &whole[..150]).await;
        part(&writer, 150, &whole[150..]).await;
        assert_eq!(writer.commit(&sha, UPLOAD, 300, &[]).await.unwrap(), CommitOutcome::Stored);
        assert_eq!(writer.rehash(&sha).await.unwrap(), Some((sha.clone(), 300)));
        assert!(!staged.exists());

        // A restarted process re-reads the file, and a wrong declared hash keeps nothing.
        part(&writer, 0, &whole[..150]).await;
        part(&writer, 150, &whole[150..]).await;
        let restarted = blobs(dir.path(), Some("boot-1"));
        let wrong = crate::ids::sha256_hex(b"something else");
        assert_eq!(restarted.commit(&wrong, UPLOAD, 300, &[]).await.unwrap(), CommitOutcome::Mismatch);
        assert!(!staged.exists(), "a mismatch keeps nothing");
        assert_eq!(restarted.rehash(&wrong).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_second_writer_waits_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Arc::new(blobs(dir.path(), Some("boot-1")));
        let first = blobs.begin_part(UPLOAD, 0, "k").await.unwrap();
        let second = tokio::spawn({
            let blobs = blobs.clone();
            async move { blobs.begin_part(UPLOAD, 0, "k").await.map(drop) }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!second.is_finished(), "the second writer got in while the first held the upload");
        drop(first);
        second.await.unwrap().unwrap();
    }
}
