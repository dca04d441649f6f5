//! Resumable blob upload with tus 1.0 semantics (creation and checksum extensions).
//!
//! Each PATCH body becomes one part in the blob store, recorded in metadata together with the new
//! offset, and only if the upload was still at the offset the request claimed. When the last byte
//! arrives the parts are assembled, hashed, compared with the SHA-256 declared at creation, and only
//! then stored at their content address. Nothing lives in the intake process, so any instance can
//! continue an upload another began.

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

    pub async fn upload_state(&self, device: &Device, upload_id: &str) -> Result<UploadState> {
        Ok(UploadState::from(&self.own_upload(device, upload_id).await?))
    }

    /// tus PATCH: appends `body` at `offset`, checking the chunk checksum when one is sent.
    pub async fn patch_upload(
        &self,
        device: &Device,
        upload_id: &str,
        offset: u64,
        checksum: Option<&str>,
        body: Bytes,
    ) -> Result<UploadState> {
        let upload = self.own_upload(device, upload_id).await?;
        if upload.completed || offset != upload.offset {
            return Err(IntakeError::conflict(
                "tus.offset_mismatch",
                format!("Upload-Offset {offset}, the server has {}", upload.offset),
            ));
        }
        let length = body.len() as u64;
        if offset + length > upload.length {
            return Err(IntakeError::bad_request(
                "tus.beyond_length",
                format!("{} bytes past Upload-Length", offset + length - upload.length),
            ));
        }
        if let Some(header) = checksum {
            check_chunk(header, &body)?;
        }
        if offset == 0 && length == upload.length && length > 0 {
            return self.store_whole(&upload, body).await;
        }
        if length > 0 {
            let part = UploadPart { offset, length, key: ids::part_key(upload_id, offset) };
            self.blobs.put_part(&part.key, body).await?;
            if !self.meta.append_part(upload_id, &part).await? {
                // Another request (perhaps on another instance) moved the upload first.
                self.blobs.delete_part(&part.key).await?;
                let now_at = self.meta.upload(upload_id).await?.map(|u| u.offset).unwrap_or(0);
                return Err(IntakeError::conflict(
                    "tus.offset_mismatch",
                    format!("Upload-Offset {offset}, the server has {now_at}"),
                ));
            }
        }
        let upload = Upload { offset: offset + length, ..upload };
        if upload.offset == upload.length {
            return self.finish(&upload).await;
        }
        Ok(UploadState::from(&upload))
    }

    /// The whole blob in one PATCH (a photo, usually): verified in memory and stored at its content
    /// address without parts. Two racing requests store the same verified bytes; only the first
    /// completes the upload, the other is told the offset moved.
    async fn store_whole(&self, upload: &Upload, body: Bytes) -> Result<UploadState> {
        let outcome = self.blobs.store(&upload.declared_sha256, body).await?;
        self.conclude(upload, outcome, "the uploaded bytes do not hash to the declared sha256").await
    }

    /// Assembles and verifies a complete upload. On a hash mismatch nothing is kept, the upload is
    /// forgotten, and the refusal says so.
    async fn finish(&self, upload: &Upload) -> Result<UploadState> {
        let parts = self.meta.upload_parts(&upload.upload_id).await?;
        let keys: Vec<String> = parts.iter().map(|p| p.key.clone()).collect();
        let outcome = self.blobs.commit(&upload.declared_sha256, &keys).await?;
        let result =
            self.conclude(upload, outcome, "the assembled upload does not hash to the declared sha256").await;
        for key in &keys {
            if let Err(e) = self.blobs.delete_part(key).await {
                tracing::warn!(error = %e, "an upload part could not be removed; it is unreferenced");
            }
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

/// The tus checksum extension: `Upload-Checksum: <algorithm> <base64 digest>` over this chunk.
fn check_chunk(header: &str, body: &[u8]) -> Result<()> {
    let (algorithm, expected) = tus::parse_checksum(header).ok_or_else(|| {
        IntakeError::bad_request("request.bad_header", "Upload-Checksum is not '<algorithm> <base64>'")
    })?;
    let algorithm = match algorithm.as_str() {
        "sha256" => &digest::SHA256,
        "sha1" => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        _ => return Err(IntakeError::bad_request("request.bad_header", "unsupported checksum algorithm")),
    };
    if digest::digest(algorithm, body).as_ref() != expected.as_slice() {
        return Err(IntakeError::checksum_mismatch("chunk checksum does not match its body"));
    }
    Ok(())
}
