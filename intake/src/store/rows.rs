//! The rows both metadata stores hold.

use chrono::{DateTime, Utc};
use fieldseal_core::protocol::{pull::PullKind, receipt::ReceiptKind};
use serde::Serialize;

/// A one-time enrolment code (注册码), stored only as its hash.
#[derive(Debug, Clone)]
pub struct EnrolmentCode {
    pub code_hash: String,
    pub inspector_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An enrolled terminal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub device_id: String,
    pub inspector_id: String,
    pub key_id: String,
    /// The 65-byte SEC1 public key.
    #[serde(skip)]
    pub public_key: Vec<u8>,
    pub label: Option<String>,
    pub enrolled_at: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The certificate envelope issued at enrolment, as canonical JSON.
    #[serde(skip)]
    pub certificate: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolOutcome {
    Enrolled,
    CodeUnknown,
    CodeUsed,
    CodeExpired,
    KeyAlreadyEnrolled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeUse {
    Fresh,
    /// Never issued, or already used (a replay).
    Unknown,
    Expired,
}

/// A tus upload in progress or complete.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub upload_id: String,
    pub device_id: String,
    pub length: u64,
    pub offset: u64,
    /// The SHA-256 the device declared in `Upload-Metadata`.
    pub declared_sha256: String,
    pub evidence_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed: bool,
}

/// One PATCH body, stored under `key` in the blob store.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadPart {
    pub offset: u64,
    pub length: u64,
    pub key: String,
}

/// A blob at its content address.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobRow {
    pub sha256: String,
    pub size: u64,
    pub stored_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Stored,
    /// The parts hash to something else: nothing was kept.
    Mismatch,
}

/// A verified statement (evidence manifest, record, trail head) and the receipt issued for it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementRow {
    pub kind: ReceiptKind,
    pub object_id: String,
    pub statement_sha256: String,
    /// The blob named, for evidence.
    pub blob_sha256: Option<String>,
    pub device_id: String,
    pub inspection_id: Option<String>,
    /// The envelope as received, canonical JSON.
    pub envelope: String,
    /// The receipt envelope, canonical JSON.
    pub receipt: String,
    pub received_at: DateTime<Utc>,
}

/// An object in the pull feed. `audience` is an inspector id, or empty for everyone.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    pub kind: PullKind,
    pub id: String,
    pub version: String,
    pub audience: String,
    pub body: serde_json::Value,
}
