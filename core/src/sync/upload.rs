//! 断点续传 — a vault blob sent to intake by tus 1.0, decrypted segment by segment as it goes (one
//! chunk in memory, never the whole file), each chunk with its SHA-256 (checksum extension).
//!
//! Where to resume is always asked of the server (HEAD), never taken from local state alone: a
//! chunk the server did not commit is sent again, one it did is not. The upload's URL is kept on
//! the outbox row as soon as it exists, so a killed app resumes the same upload.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{IntakeClient, SyncError};
use crate::{Result, crypto::stream::StreamDecryptor, outbox, store::Store};

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
    let file = store.vault().open_blob(blob.blob_id)?;
    let mut plaintext = StreamDecryptor::open(&store.keys().stream, file)?;
    if plaintext.plaintext_len() != blob.size {
        return Err(crate::evidence::EvidenceError::verification("content length").into());
    }
    let chunk_size = client.options().chunk_size.max(1);
    // Each offset conflict is answered by asking the server again; a server that keeps moving
    // the offset is not followed forever.
    let mut conflicts = 0;
    while offset < blob.size {
        let chunk = plaintext.read_range(offset, chunk_size)?;
        let len = chunk.len() as u64;
        on_wire.fetch_add(len, Ordering::Relaxed);
        match client.patch_chunk(&url, offset, chunk).await {
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
        store.write(|tx, _| outbox::set_offset(tx, blob.outbox_id, offset as i64))?;
        progress(offset, blob.size);
    }
    Ok(UploadOutcome { resumed_from: outcome_start, bytes_sent: sent })
}
