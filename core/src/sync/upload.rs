//! 断点续传 — a vault blob sent to intake by tus 1.0, decrypted segment by segment as it goes
//! (never the whole file in memory), each chunk with its CRC-32 (checksum extension: a transfer
//! check; intake verifies the whole blob's SHA-256 before it stores it).
//!
//! Reading is pipelined with sending: a blocking task decrypts and checksums the next chunk while the
//! current one is on the wire, so the upload holds at most two chunks and the network does not
//! wait on the decryption. The chunk travels as shared bytes: a retry after a token renewal sends
//! the same buffer again, no copy.
//!
//! Where to resume is always asked of the server (HEAD), never taken from local state alone: a
//! chunk the server did not commit is sent again, one it did is not. The upload's URL is kept on
//! the outbox row as soon as it exists, so a killed app resumes the same upload; the offset on the
//! row is progress for the status screen only, written at most every [`PROGRESS_EVERY`].

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use super::{IntakeClient, SyncError};
use crate::{
    Result,
    crypto::{CryptoError, stream::StreamDecryptor},
    outbox,
    store::Store,
};

/// How often the outbox row's progress offset is written while an upload runs (and at its end).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// The blob to send: where it is in the vault and what intake must end up holding.
#[derive(Debug, Clone)]
pub struct BlobUpload<'a> {
    pub outbox_id: i64,
    pub blob_id: &'a str,
    pub evidence_id: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    /// The upload an earlier attempt created, if any.
    pub upload_url: Option<&'a str>,
}

/// How an upload went: where it started (the server's offset) and what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadOutcome {
    pub resumed_from: u64,
    pub bytes_sent: u64,
}

/// Sends `blob` until intake holds all of it. `progress` gets (bytes intake holds, total);
/// `on_wire` counts every chunk byte put on the network, including chunks cut off and sent again.
pub async fn upload_blob(
    store: &Store,
    client: &IntakeClient,
    blob: &BlobUpload<'_>,
    on_wire: &AtomicU64,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<UploadOutcome> {
    let known = match blob.upload_url {
        Some(url) => client.upload_offset(url).await?.map(|offset| (url.to_owned(), offset)),
        None => None,
    };
    let (url, mut offset) = match known {
        Some(found) => found,
        None => {
            let url = client.create_upload(blob.size, blob.sha256, blob.evidence_id).await?;
            store.write(|tx, _| {
                outbox::set_upload(tx, blob.outbox_id, Some(&url))?;
                outbox::set_offset(tx, blob.outbox_id, 0)
            })?;
            (url, 0)
        }
    };
    let outcome_start = offset;
    let mut sent = 0u64;
    progress(offset, blob.size);
    if offset >= blob.size {
        return Ok(UploadOutcome { resumed_from: outcome_start, bytes_sent: 0 });
    }
    let stream_key = &store.keys().stream;
    let plaintext = StreamDecryptor::open(stream_key, store.vault().open_blob(blob.blob_id)?)?;
    if plaintext.plaintext_len() != blob.size {
        return Err(crate::evidence::EvidenceError::verification("content length").into());
    }
    let chunk_size = client.options().chunk_size.max(1);
    let mut ahead = ReadAhead::start(plaintext, offset, chunk_size);
    let mut recorded = (offset, Instant::now());
    let mut send = async || -> Result<()> {
        // Each offset conflict is answered by asking the server again; a server that keeps
        // moving the offset is not followed forever.
        let mut conflicts = 0;
        while offset < blob.size {
            let chunk = match ahead.next(offset).await? {
                Some(chunk) => chunk,
                None => {
                    // The server moved the offset elsewhere: read from there instead.
                    let reopened = StreamDecryptor::open(stream_key, store.vault().open_blob(blob.blob_id)?)?;
                    ahead = ReadAhead::start(reopened, offset, chunk_size);
                    continue;
                }
            };
            let len = chunk.bytes.len() as u64;
            on_wire.fetch_add(len, Ordering::Relaxed);
            let patched = client.patch_chunk(&url, offset, chunk.bytes.clone(), chunk.crc32).await;
            ahead.recycle(chunk.bytes);
            match patched {
                Ok(next) => {
                    sent += len;
                    if next <= offset || next > blob.size {
                        return Err(SyncError::BadResponse {
                            during: "upload chunk",
                            reason: format!("offset went from {offset} to {next}"),
                        }
                        .into());
                    }
                    offset = next;
                }
                Err(SyncError::Server { code, .. }) if code == "tus.offset_mismatch" && conflicts < 3 => {
                    conflicts += 1;
                    offset = client.upload_offset(&url).await?.ok_or(SyncError::BadResponse {
                        during: "ask upload offset",
                        reason: "the upload vanished while being written".into(),
                    })?;
                }
                Err(e) => return Err(e.into()),
            }
            if recorded.1.elapsed() >= PROGRESS_EVERY {
                store.write(|tx, _| outbox::set_offset(tx, blob.outbox_id, offset as i64))?;
                recorded = (offset, Instant::now());
            }
            progress(offset, blob.size);
        }
        Ok(())
    };
    let result = send().await;
    // Where it got to, for the status screen, however it ended (resuming still asks the server).
    let saved = if recorded.0 != offset {
        store.write(|tx, _| outbox::set_offset(tx, blob.outbox_id, offset as i64))
    } else {
        Ok(())
    };
    // The upload's own error comes first: the progress row is only for display.
    result.and(saved).map(|()| UploadOutcome { resumed_from: outcome_start, bytes_sent: sent })
}

/// One chunk read ahead: its plaintext and its CRC-32 (the tus chunk checksum).
struct Chunk {
    offset: u64,
    bytes: Bytes,
    crc32: u32,
}

/// Chunks decrypted and checksummed on a blocking task, one ahead of the one being sent. The
/// buffers go round (the task fills one while the other is sent), so an upload allocates two
/// chunks once. Dropping it (the upload cancelled or cut) stops the task at its next chunk.
struct ReadAhead {
    chunks: mpsc::Receiver<Result<Chunk>>,
    spent: std::sync::mpsc::Sender<BytesMut>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ReadAhead {
    fn start(mut plaintext: StreamDecryptor<File>, from: u64, chunk_size: usize) -> Self {
        // Capacity one, and a chunk is read only once its slot is free: one chunk waits while
        // another is sent, never more.
        let (slots, chunks) = mpsc::channel(1);
        let (spent, returned) = std::sync::mpsc::channel::<BytesMut>();
        let runtime = tokio::runtime::Handle::current();
        let task = tokio::task::spawn_blocking(move || {
            let size = plaintext.plaintext_len();
            let mut at = from;
            if let Err(e) = plaintext.seek(SeekFrom::Start(from)) {
                let _ = slots.blocking_send(Err(vault_read(e)));
                return;
            }
            while at < size {
                let Ok(slot) = runtime.block_on(slots.reserve()) else {
                    return; // The upload stopped listening.
                };
                let len = (size - at).min(chunk_size as u64) as usize;
                let mut buffer = returned.try_recv().unwrap_or_default();
                // A returned buffer already has a chunk's length: no zeroing but for the first.
                buffer.resize(len, 0);
                match plaintext.read_exact(&mut buffer) {
                    Ok(()) => {
                        let crc32 = crc32fast::hash(&buffer);
                        slot.send(Ok(Chunk { offset: at, bytes: buffer.freeze(), crc32 }));
                        at += len as u64;
                    }
                    Err(e) => {
                        slot.send(Err(vault_read(e)));
                        return;
                    }
                }
            }
        });
        ReadAhead { chunks, spent, task: Some(task) }
    }

    /// The chunk at `offset`, or `None` when the chunks read ahead start elsewhere.
    async fn next(&mut self, offset: u64) -> Result<Option<Chunk>> {
        match self.chunks.recv().await {
            Some(Ok(chunk)) if chunk.offset == offset && !chunk.bytes.is_empty() => Ok(Some(chunk)),
            Some(Ok(_)) => Ok(None),
            Some(Err(e)) => Err(e),
            // It read to the end (and the server's offset went back) or it failed: say which.
            None => match self.task.take() {
                Some(task) => task.await.map(|()| None).map_err(|e| {
                    SyncError::BadResponse {
                        during: "read the blob from the vault",
                        reason: format!("the reading task stopped: {e}"),
                    }
                    .into()
                }),
                None => Ok(None),
            },
        }
    }

    /// Hands a sent chunk's buffer back for the next read, when nothing else holds it any more.
    fn recycle(&self, bytes: Bytes) {
        if let Ok(buffer) = bytes.try_into_mut() {
            let _ = self.spent.send(buffer);
        }
    }
}

/// The vault's typed error back out of the `io::Error` the decryptor's `Read` carries it in.
fn vault_read(e: std::io::Error) -> crate::Error {
    if !e.get_ref().is_some_and(|inner| inner.is::<CryptoError>()) {
        return CryptoError::io("vault file", e).into();
    }
    match e.into_inner().map(|inner| inner.downcast::<CryptoError>()) {
        Some(Ok(crypto)) => (*crypto).into(),
        // Checked just above; kept total rather than panicking.
        _ => CryptoError::malformed("vault file", "unreadable segment").into(),
    }
}
