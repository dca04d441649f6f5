//! Resumable blob upload with tus 1.0 semantics (creation and checksum extensions).
//!
//! Each PATCH body is streamed into one part in the blob store as it arrives (never held whole),
//! its checksum computed on the way, and recorded in metadata together with the new offset only if
//! it matched and the upload was still at the offset the request claimed. When the last byte
//! arrives the parts are assembled, hashed, compared with the SHA-256 declared at creation, and only
//! then stored at their content address. Nothing lives in the intake process but caches, so any
//! instance can continue an upload another began.
//!
//! A PATCH answer reports the bytes received; a HEAD reports only bytes the blob store holds
//! durably ([`crate::store::Blobs::sync_upload`]), rewinding the upload when the store lost some
//! before they were made durable (a power cut): the terminal resumes from HEAD, so it resends what
//! was lost and nothing else. See `store/dir.rs` for when the directory store syncs.

use bytes::Bytes;
use fieldseal_core::protocol::{statement::is_sha256_hex, tus};
use ring::digest;

use super::Intake;
use crate::{
    error::{IntakeError, Result},
    ids,
    store::{BlobRow, CommitOutcome, Device, Upload, UploadPart},
};

/// The state a HEAD or PATCH answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    pub upload_id: String,
    pub offset: u64,
    pub length: u64,
    /// Set once the blob is assembled and verified.
    pub blob_sha256: Option<String>,
}

impl From<&Upload> for UploadState {
    fn from(u: &Upload) -> Self {
        UploadState {
            upload_id: u.upload_id.clone(),
            offset: u.offset,
            length: u.length,
            blob_sha256: u.completed.then(|| u.declared_sha256.clone()),
        }
    }
}

impl Intake {
    /// tus creation: `Upload-Length` and `Upload-Metadata` (which must declare `sha256`).
    pub async fn create_upload(
        &self,
        device: &Device,
        length: u64,
        metadata: Option<&str>,
    ) -> Result<UploadState> {
        if length > self.policy.max_blob_size {
            return Err(IntakeError::refused(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "request.too_large",
                format!("Upload-Length {length} exceeds Tus-Max-Size {}", self.policy.max_blob_size),
            ));
        }
        let pairs = tus::parse_metadata(metadata.unwrap_or(""))
            .map_err(|reason| IntakeError::bad_request("tus.bad_metadata", reason))?;
        let value = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let declared = value(tus::METADATA_SHA256).ok_or_else(|| {
            IntakeError::bad_request("tus.bad_metadata", "Upload-Metadata must declare sha256")
        })?;
        if !is_sha256_hex(&declared) {
            return Err(IntakeError::bad_request(
                "tus.bad_metadata",
                "sha256 is not 64 lowercase hex characters",
            ));
        }
        let evidence_id =
            value(tus::METADATA_EVIDENCE_ID).filter(|v| !v.is_empty()).map(|v| v.chars().take(128).collect());
        let upload = Upload {
            upload_id: ids::random_hex(16),
            device_id: device.device_id.clone(),
            length,
            offset: 0,
            declared_sha256: declared,
            evidence_id,
            created_at: self.clock.now(),
            completed: false,
        };
        self.meta.insert_upload(&upload).await?;
        if length == 0 {
            return self.finish(&upload).await;
        }
        Ok(UploadState::from(&upload))
    }

    /// The upload, if it exists and belongs to this device. Another device's upload is "unknown":
    /// its existence is not revealed.
    async fn own_upload(&self, device: &Device, upload_id: &str) -> Result<Upload> {
        if !ids::is_hex_id(upload_id) {
            return Err(IntakeError::not_found("tus.unknown_upload", "not an upload id"));
        }
        match self.meta.upload(upload_id).await? {
            Some(u) if u.device_id == device.device_id => Ok(u),
            _ => Err(IntakeError::not_found("tus.unknown_upload", "no such upload")),
        }
    }

    /// tus HEAD: the upload's offset, counting only bytes the blob store holds durably.
    pub async fn upload_state(&self, device: &Device, upload_id: &str) -> Result<UploadState> {
        let upload = self.own_upload(device, upload_id).await?;
        if upload.completed || upload.offset == 0 {
            return Ok(UploadState::from(&upload));
        }
        let held = self.blobs.sync_upload(upload_id, upload.offset).await?;
        if held >= upload.offset {
            return Ok(UploadState::from(&upload));
        }
        // Bytes past `held` were lost before they were made durable: back to the last part
        // boundary within what is held, so the terminal sends the rest again.
        let mut kept = 0;
        for part in self.meta.upload_parts(upload_id).await? {
            if part.offset != kept || part.offset + part.length > held {
                break;
            }
            kept = part.offset + part.length;
        }
        tracing::warn!(
            upload_id,
            recorded = upload.offset,
            held,
            resume_at = kept,
            "upload rewound to what was durable"
        );
        if self.meta.rewind_upload(upload_id, upload.offset, kept).await? {
            return Ok(UploadState { offset: kept, ..UploadState::from(&upload) });
        }
        // Another request moved it meanwhile: report where it is now.
        Ok(UploadState::from(&self.own_upload(device, upload_id).await?))
    }

    /// tus PATCH: appends `body` at `offset` as it arrives, checking the chunk checksum when one is
    /// sent. `declared` is the request's Content-Length, refused early when too large.
    pub async fn patch_upload<S, E>(
        &self,
        device: &Device,
        upload_id: &str,
        offset: u64,
        checksum: Option<&str>,
        declared: Option<u64>,
        mut body: S,
    ) -> Result<UploadState>
    where
        S: futures_util::Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let upload = self.own_upload(device, upload_id).await?;
        check_offset(&upload, offset)?;
        let checksum = checksum.map(ChunkChecksum::parse).transpose()?;
        let limit = self.policy.max_chunk_size as u64;
        let room = upload.length - offset;
        check_length(declared.unwrap_or(0), limit, room)?;
        let key = ids::part_key(upload_id, offset);
        let mut part = self.blobs.begin_part(upload_id, offset, &key).await?;
        // Checked again now that no other request can move it.
        let upload = self.own_upload(device, upload_id).await?;
        check_offset(&upload, offset)?;
        let mut hasher = checksum.as_ref().map(ChunkChecksum::hasher);
        let mut length = 0u64;
        let received: Result<()> = async {
            while let Some(frame) = futures_util::StreamExt::next(&mut body).await {
                let frame = frame.map_err(|e| {
                    IntakeError::bad_request("request.malformed", format!("body could not be read: {e}"))
                })?;
                length += frame.len() as u64;
                check_length(length, limit, room)?;
                if let Some(hasher) = hasher.as_mut() {
                    hasher.update(&frame);
                }
                part.write(frame).await?;
            }
            if let (Some(checksum), Some(hasher)) = (&checksum, hasher.take())
                && !hasher.matches(&checksum.expected)
            {
                return Err(IntakeError::checksum_mismatch("chunk checksum does not match its body"));
            }
            part.keep().await
        }
        .await;
        if let Err(e) = received {
            if let Err(cleanup) = part.abandon().await {
                tracing::warn!(error = %cleanup, "a refused part could not be removed");
            }
            return Err(e);
        }
        if length > 0 {
            let recorded = UploadPart { offset, length, key };
            if !self.meta.append_part(upload_id, &recorded).await? {
                // Another request (perhaps on another instance) moved the upload first.
                part.abandon().await?;
                let now_at = self.meta.upload(upload_id).await?.map(|u| u.offset).unwrap_or(0);
                return Err(IntakeError::conflict(
                    "tus.offset_mismatch",
                    format!("Upload-Offset {offset}, the server has {now_at}"),
                ));
            }
        }
        let upload = Upload { offset: offset + length, ..upload };
        if upload.offset == upload.length {
            // The part (and whatever it holds, such as a lock) lasts until the commit is done.
            let finished = self.finish(&upload).await;
            drop(part);
            return finished;
        }
        Ok(UploadState::from(&upload))
    }

    /// Assembles and verifies a complete upload. On a hash mismatch nothing is kept, the upload is
    /// forgotten, and the refusal says so.
    async fn finish(&self, upload: &Upload) -> Result<UploadState> {
        let parts = self.meta.upload_parts(&upload.upload_id).await?;
        let keys: Vec<String> = parts.iter().map(|p| p.key.clone()).collect();
        let outcome =
            self.blobs.commit(&upload.declared_sha256, &upload.upload_id, upload.length, &keys).await?;
        let result =
            self.conclude(upload, outcome, "the assembled upload does not hash to the declared sha256").await;
        if let Err(e) = self.blobs.discard_parts(&upload.upload_id, &keys).await {
            tracing::warn!(error = %e, "an upload's parts could not be removed; they are unreferenced");
        }
        result
    }

    /// Records a verified blob as the upload's result, or forgets an upload whose bytes hash to
    /// something else. Only the first of two racing requests completes the upload; the other is
    /// told the offset moved.
    async fn conclude(
        &self,
        upload: &Upload,
        outcome: CommitOutcome,
        mismatch: &'static str,
    ) -> Result<UploadState> {
        match outcome {
            CommitOutcome::Stored => {
                let blob = BlobRow {
                    sha256: upload.declared_sha256.clone(),
                    size: upload.length,
                    stored_at: self.clock.now(),
                };
                if !self.meta.complete_upload(&upload.upload_id, &blob).await? {
                    return Err(IntakeError::conflict(
                        "tus.offset_mismatch",
                        "the upload was completed by another request",
                    ));
                }
                Ok(UploadState {
                    offset: upload.length,
                    blob_sha256: Some(blob.sha256),
                    ..UploadState::from(upload)
                })
            }
            CommitOutcome::Mismatch => {
                self.meta.discard_upload(&upload.upload_id).await?;
                Err(IntakeError::unprocessable("upload.sha256_mismatch", mismatch))
            }
        }
    }
}

fn check_offset(upload: &Upload, offset: u64) -> Result<()> {
    if upload.completed || offset != upload.offset {
        return Err(IntakeError::conflict(
            "tus.offset_mismatch",
            format!("Upload-Offset {offset}, the server has {}", upload.offset),
        ));
    }
    Ok(())
}

/// A chunk of `length` bytes against intake's chunk limit and the room left in the upload.
fn check_length(length: u64, limit: u64, room: u64) -> Result<()> {
    if length > limit {
        return Err(IntakeError::refused(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_large",
            format!("body over {limit} bytes"),
        ));
    }
    if length > room {
        return Err(IntakeError::bad_request(
            "tus.beyond_length",
            format!("{} bytes past Upload-Length", length - room),
        ));
    }
    Ok(())
}

/// The tus checksum extension: `Upload-Checksum: <algorithm> <base64 digest>` over this chunk.
struct ChunkChecksum {
    algorithm: ChunkAlgorithm,
    expected: Vec<u8>,
}

#[derive(Clone, Copy)]
enum ChunkAlgorithm {
    Crc32,
    Digest(&'static digest::Algorithm),
}

/// A chunk checksum being computed as the body arrives.
enum ChunkHasher {
    Crc32(crc32fast::Hasher),
    Digest(Box<digest::Context>),
}

impl ChunkChecksum {
    fn parse(header: &str) -> Result<Self> {
        let (algorithm, expected) = tus::parse_checksum(header).ok_or_else(|| {
            IntakeError::bad_request("request.bad_header", "Upload-Checksum is not '<algorithm> <base64>'")
        })?;
        let algorithm = match algorithm.as_str() {
            "crc32" => ChunkAlgorithm::Crc32,
            "sha256" => ChunkAlgorithm::Digest(&digest::SHA256),
            "sha1" => ChunkAlgorithm::Digest(&digest::SHA1_FOR_LEGACY_USE_ONLY),
            _ => {
                return Err(IntakeError::bad_request("request.bad_header", "unsupported checksum algorithm"));
            }
        };
        Ok(ChunkChecksum { algorithm, expected })
    }

    fn hasher(&self) -> ChunkHasher {
        match self.algorithm {
            ChunkAlgorithm::Crc32 => ChunkHasher::Crc32(crc32fast::Hasher::new()),
            ChunkAlgorithm::Digest(algorithm) => {
                ChunkHasher::Digest(Box::new(digest::Context::new(algorithm)))
            }
        }
    }
}

impl ChunkHasher {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            ChunkHasher::Crc32(h) => h.update(bytes),
            ChunkHasher::Digest(h) => h.update(bytes),
        }
    }

    fn matches(self, expected: &[u8]) -> bool {
        match self {
            ChunkHasher::Crc32(h) => h.finalize().to_be_bytes() == expected,
            ChunkHasher::Digest(h) => h.finish().as_ref() == expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{convert::Infallible, sync::Arc};

    use chrono::{Duration, Utc};

    use super::*;
    use crate::{
        clock::SystemClock,
        keys::ServerKey,
        store::{EnrolmentCode, Metadata, dir::DirBlobs, sqlite::SqliteMetadata},
    };

    /// Intake over one data directory, as if running in operating-system boot `boot`.
    fn intake_in_boot(dir: &std::path::Path, meta: &Arc<SqliteMetadata>, boot: &str) -> Intake {
        let blobs = DirBlobs::open_in_boot(dir, Some(boot.to_owned())).unwrap();
        let key = ServerKey::load_or_create(&dir.join("server-key.p8")).unwrap();
        Intake::new(meta.clone(), Arc::new(blobs), key, Arc::new(SystemClock))
    }

    async fn device(meta: &SqliteMetadata) -> Device {
        let now = Utc::now();
        let code = EnrolmentCode {
            code_hash: "code".into(),
            inspector_id: "insp-001".into(),
            created_at: now,
            expires_at: now + Duration::hours(1),
        };
        meta.insert_enrolment_code(&code).await.unwrap();
        let device = Device {
            device_id: ids::random_hex(16),
            inspector_id: "insp-001".into(),
            key_id: "key".into(),
            public_key: vec![4; 65],
            label: None,
            enrolled_at: now,
            not_after: now + Duration::days(30),
            revoked_at: None,
            certificate: "{}".into(),
        };
        meta.enrol("code", now, &device).await.unwrap();
        device
    }

    async fn patch(
        intake: &Intake,
        device: &Device,
        id: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Result<UploadState> {
        let body = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::copy_from_slice(bytes))]);
        let crc = tus::encode_checksum("crc32", &crc32fast::hash(bytes).to_be_bytes());
        intake.patch_upload(device, id, offset, Some(&crc), Some(bytes.len() as u64), body).await
    }

    #[tokio::test]
    async fn after_a_reboot_head_reports_only_durable_bytes_and_the_upload_completes_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Arc::new(SqliteMetadata::open(&dir.path().join("intake.db")).unwrap());
        let device = device(&meta).await;
        let blob: Vec<u8> = (0..300u32).map(|i| (i % 251) as u8).collect();
        let declared = tus::encode_metadata(&[(tus::METADATA_SHA256, &ids::sha256_hex(&blob))]);

        let before = intake_in_boot(dir.path(), &meta, "boot-1");
        let id = before.create_upload(&device, 300, Some(&declared)).await.unwrap().upload_id;
        patch(&before, &device, &id, 0, &blob[..100]).await.unwrap();
        assert_eq!(before.upload_state(&device, &id).await.unwrap().offset, 100, "HEAD made 100 durable");
        assert_eq!(patch(&before, &device, &id, 100, &blob[100..200]).await.unwrap().offset, 200);
        drop(before);

        // The machine restarted: the part received after the HEAD was never made durable.
        let after = intake_in_boot(dir.path(), &meta, "boot-2");
        let refused = patch(&after, &device, &id, 200, &blob[200..]).await.expect_err("not built on");
        assert_eq!(refused.code(), "tus.offset_mismatch");
        assert_eq!(
            after.upload_state(&device, &id).await.unwrap().offset,
            100,
            "rewound to the durable part"
        );
        assert_eq!(meta.upload_parts(&id).await.unwrap().len(), 1);
        patch(&after, &device, &id, 100, &blob[100..200]).await.unwrap();
        let done = patch(&after, &device, &id, 200, &blob[200..]).await.unwrap();
        assert_eq!(done.blob_sha256.as_deref(), Some(ids::sha256_hex(&blob).as_str()));
    }

    #[tokio::test]
    async fn a_chunk_with_a_wrong_crc32_is_refused_and_the_offset_stays() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Arc::new(SqliteMetadata::open(&dir.path().join("intake.db")).unwrap());
        let device = device(&meta).await;
        let intake = intake_in_boot(dir.path(), &meta, "boot-1");
        let declared = tus::encode_metadata(&[(tus::METADATA_SHA256, &ids::sha256_hex(&[7; 64]))]);
        let id = intake.create_upload(&device, 64, Some(&declared)).await.unwrap().upload_id;
        let body = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(&[7; 32]))]);
        let wrong = tus::encode_checksum("crc32", &crc32fast::hash(&[8; 32]).to_be_bytes());
        let refused =
            intake.patch_upload(&device, &id, 0, Some(&wrong), None, body).await.expect_err("refused");
        assert_eq!(refused.status().as_u16(), tus::STATUS_CHECKSUM_MISMATCH);
        assert_eq!(intake.upload_state(&device, &id).await.unwrap().offset, 0);
        patch(&intake, &device, &id, 0, &[7; 32]).await.unwrap();
    }
}
