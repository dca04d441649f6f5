//! Storage behind two traits, so one machine and a cluster run the same service code.
//!
//! - [`Metadata`]: devices, codes, challenges, tokens, uploads in progress, statements and their
//!   receipts, the pull feed. [`sqlite`] (the default, no setup) and [`postgres`].
//! - [`Blobs`]: upload parts and the content-addressed blobs they are assembled into. [`dir`] (a
//!   directory: parts written in place, fsynced before an offset is reported durable) and [`s3`]
//!   (any S3-compatible object store).
//!
//! Everything an upload in progress needs lives in these two stores, never in an intake process:
//! with PostgreSQL and S3 any instance can continue an upload another began.

pub mod dir;
pub mod postgres;
mod rows;
pub mod s3;
pub mod sqlite;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use fieldseal_core::protocol::pull::{PullItem, PullKind};

pub use rows::*;

use crate::error::Result;

/// Devices, enrolment, authentication state, uploads, statements and the pull feed.
#[async_trait]
pub trait Metadata: Send + Sync + 'static {
    /// Cheap round trip for `/readyz`.
    async fn ping(&self) -> Result<()>;

    async fn insert_enrolment_code(&self, code: &EnrolmentCode) -> Result<()>;
    /// The inspector a code was issued for, whatever its state.
    async fn code_inspector(&self, code_hash: &str) -> Result<Option<String>>;
    /// Consumes the code and creates the device, atomically.
    async fn enrol(&self, code_hash: &str, now: DateTime<Utc>, device: &Device) -> Result<EnrolOutcome>;
    async fn device(&self, device_id: &str) -> Result<Option<Device>>;
    async fn devices(&self) -> Result<Vec<Device>>;
    /// Marks the device revoked, drops its tokens and publishes a revocation in the pull feed.
    /// False when there is no such device.
    async fn revoke_device(&self, device_id: &str, now: DateTime<Utc>) -> Result<bool>;

    async fn insert_challenge(&self, challenge: &str, purpose: &str, expires_at: DateTime<Utc>)
    -> Result<()>;
    /// Uses a challenge once. Tells apart unknown (or already used) and expired.
    async fn consume_challenge(
        &self,
        challenge: &str,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<ChallengeUse>;
    async fn insert_token(&self, token_hash: &str, device_id: &str, expires_at: DateTime<Utc>) -> Result<()>;
    /// The device a live token belongs to.
    async fn token_device(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Device>>;

    async fn insert_upload(&self, upload: &Upload) -> Result<()>;
    async fn upload(&self, upload_id: &str) -> Result<Option<Upload>>;
    /// Records a part at `offset` and moves the upload to `offset + part.length`, only if the upload
    /// is still at `offset`. False when another request moved it first.
    async fn append_part(&self, upload_id: &str, part: &UploadPart) -> Result<bool>;
    async fn upload_parts(&self, upload_id: &str) -> Result<Vec<UploadPart>>;
    /// Moves an upload back to `to` (a part boundary), forgetting its parts from there, only if it
    /// is still at `from` and not complete: bytes the blob store lost before they were made durable
    /// are asked for again. False when another request moved the upload first.
    async fn rewind_upload(&self, upload_id: &str, from: u64, to: u64) -> Result<bool>;
    /// Records the assembled blob and marks the upload complete at its full length. False when the
    /// upload was already complete (another request finished it).
    async fn complete_upload(&self, upload_id: &str, blob: &BlobRow) -> Result<bool>;
    /// Forgets an upload whose assembled blob failed verification.
    async fn discard_upload(&self, upload_id: &str) -> Result<()>;
    async fn blob(&self, sha256: &str) -> Result<Option<BlobRow>>;

    /// Stores a verified statement with its receipt unless one with the same kind and id exists;
    /// either way returns the stored row, so a repeat answers with the first receipt.
    async fn put_statement(&self, row: &StatementRow) -> Result<StatementRow>;
    async fn statements(&self) -> Result<Vec<StatementRow>>;

    /// Publishes (or replaces) an object in the pull feed for the given audience.
    async fn publish(&self, entry: &CatalogEntry) -> Result<()>;
    /// The current body of a published object (the audience-independent ones).
    async fn published(&self, kind: PullKind, id: &str) -> Result<Option<CatalogEntry>>;
    /// Feed entries after `after` visible to `inspector_id`, oldest first, at most `limit`.
    async fn pull(&self, inspector_id: &str, after: u64, limit: u32) -> Result<Vec<(u64, PullItem)>>;
}

/// Upload parts and content-addressed blobs.
#[async_trait]
pub trait Blobs: Send + Sync + 'static {
    async fn ping(&self) -> Result<()>;
    /// Starts the part of upload `upload_id` at `offset`, stored under `key`. The writer holds
    /// whatever exclusion the store needs until it is dropped: the caller checks the upload's offset
    /// again after this returns and keeps the writer until the part is recorded (and, for the last
    /// part, committed). A store that cannot vouch for the bytes before `offset` (written before
    /// a restart and never made durable) refuses with `tus.offset_mismatch`: HEAD first.
    async fn begin_part(&self, upload_id: &str, offset: u64, key: &str) -> Result<Box<dyn PartWriter + '_>>;
    /// Makes the first `offset` bytes of the upload durable and returns how many of them the store
    /// durably holds: `offset` unless bytes written before a restart were never made durable and may
    /// be lost, in which case only those it made durable count. What a HEAD may report.
    async fn sync_upload(&self, upload_id: &str, offset: u64) -> Result<u64>;
    /// Removes an upload's parts (after its commit, or when it is abandoned).
    async fn discard_parts(&self, upload_id: &str, parts: &[String]) -> Result<()>;
    /// Concatenates `parts` (the `length` bytes of upload `upload_id`), checks that their SHA-256
    /// is `expected`, and only then stores the result durably at its content address (idempotent:
    /// the same content may be committed twice).
    async fn commit(
        &self,
        expected: &str,
        upload_id: &str,
        length: u64,
        parts: &[String],
    ) -> Result<CommitOutcome>;
    /// Re-reads a stored blob and hashes it: `(sha256, size)`, or None when absent.
    async fn rehash(&self, sha256: &str) -> Result<Option<(String, u64)>>;
}

/// One part of an upload being written as its request body arrives.
#[async_trait]
pub trait PartWriter: Send {
    /// Appends the next bytes of the body.
    async fn write(&mut self, bytes: Bytes) -> Result<()>;
    /// The whole body arrived and passed its checks: keep the part. Durable only once the store
    /// says so ([`Blobs::sync_upload`], [`Blobs::commit`]).
    async fn keep(&mut self) -> Result<()>;
    /// Forgets what this part wrote (a checksum that did not match, a race lost).
    async fn abandon(&mut self) -> Result<()>;
}
