//! 上传驱动 — drains the outbox to intake.
//!
//! One pass takes the due rows (time come, dependencies acknowledged), oldest first, and for each:
//! marks it in flight; uploads its blob by tus, resuming from the offset the server reports;
//! submits its signed statement; verifies the receipt under the intake key learnt at enrolment and
//! checks it names the same hash; and only then acknowledges the row, keeping the receipt. A
//! network failure or a 5xx backs the row off (exponential, full jitter); a refusal a person must
//! resolve wedges it with a reason in Chinese and English. Nothing is deleted or released here.
//!
//! Rows cut off in flight (app killed, battery out) are due again at the next pass: the upload's
//! URL is on the row and the server says how far it got.
//!
//! A frozen record is sent as its signed freeze statement once every evidence item of its
//! inspection is acknowledged; the trail head after the freeze follows once the record is
//! (protocol::trail_head). Their receipts name the statement's own hash; a trail head's receipt is
//! kept as well as the countersignature of the trail anchor its statement names.

use std::{
    sync::atomic::AtomicU64,
    time::{Duration, Instant},
};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{Backoff, NetworkPolicy, OutboxItem, OutboxKind, queue};
use crate::{
    Error, Result,
    crypto::{DeviceSigner, signer::key_id},
    evidence::ingest::manifest_of,
    protocol::{
        SignedEnvelope,
        receipt::ReceiptKind,
        statement::statement_sha256,
        trail_head::{
            AnchorRef, TRAIL_HEAD_TYPE, TRAIL_HEAD_VERSION, TrailHeadStatement, parse_trail_head_id,
        },
    },
    record::{RecordError, persist},
    store::{Store, StoreError, anchors, evidence as evidence_rows, trail},
    sync::{
        Enrolment, IntakeClient, SyncError, enrolment,
        receipt::{self, Countersignature, ExpectedReceipt},
        upload::{self, BlobUpload},
    },
};

/// Why a row stopped: what a person reads on the outbox screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct WedgedReason {
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

impl WedgedReason {
    /// Reads a stored reason; reasons written before this format are shown as they are.
    pub fn parse(stored: &str) -> WedgedReason {
        serde_json::from_str(stored).unwrap_or_else(|_| WedgedReason {
            code: "outbox.wedged".into(),
            message_zh: stored.to_owned(),
            message_en: stored.to_owned(),
        })
    }

    pub(crate) fn of(error: &Error) -> WedgedReason {
        let explained = error.explain();
        WedgedReason {
            code: explained.code.to_owned(),
            message_zh: explained.message_zh,
            message_en: explained.message_en,
        }
    }
}

/// What one drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub acknowledged: u64,
    pub retried: u64,
    pub wedged: u64,
    /// Held back by the network policy (offline, or large on metered).
    pub held_back: u64,
    /// Bytes of blobs sent in this drain (chunks sent again after a cut included).
    pub bytes_sent: u64,
}

impl DrainReport {
    fn add(&mut self, other: DrainReport) {
        self.acknowledged += other.acknowledged;
        self.retried += other.retried;
        self.wedged += other.wedged;
        self.held_back += other.held_back;
        self.bytes_sent += other.bytes_sent;
    }
}

/// Drains one installation's outbox through one intake client.
pub struct Driver<'a> {
    pub store: &'a Store,
    pub client: &'a IntakeClient,
    pub signer: &'a dyn DeviceSigner,
    pub backoff: Backoff,
    pub network: NetworkPolicy,
}

enum Outcome {
    Acknowledged,
    HeldBack,
}

/// A signed statement with no blob, and where intake takes it.
struct Statement<'a> {
    path: &'static str,
    kind: ReceiptKind,
    envelope: &'a SignedEnvelope,
}

impl Driver<'_> {
    fn enrolment(&self) -> Result<Enrolment> {
        let enrolment = self.store.read(enrolment::load)?.ok_or(SyncError::NotEnrolled)?;
        self.client.set_device_id(&enrolment.device_id);
        Ok(enrolment)
    }

    /// One pass over the rows due now.
    pub async fn drain_once(&self) -> Result<DrainReport> {
        let enrolment = self.enrolment()?;
        let server_key = enrolment.server_public_key()?;
        let mut report = DrainReport::default();
        let on_wire = AtomicU64::new(0);
        let due = self.store.read(|conn, _| queue::due(conn, Utc::now()))?;
        for item in due {
            match self.attempt(&item, &enrolment, &server_key, &on_wire).await {
                Ok(Outcome::Acknowledged) => report.acknowledged += 1,
                Ok(Outcome::HeldBack) => report.held_back += 1,
                Err(error) => {
                    if self.fail(&item, &error)? {
                        report.retried += 1;
                    } else {
                        report.wedged += 1;
                    }
                }
            }
        }
        report.bytes_sent = on_wire.into_inner();
        if let Some(sample) = self.client.clock_sample() {
            self.store.write(|tx, _| enrolment::record_clock(tx, sample))?;
        }
        Ok(report)
    }

    /// Passes until nothing is due before `deadline` (or the network holds everything back),
    /// sleeping until the next row's retry time in between.
    pub async fn drain(&self, deadline: Instant) -> Result<DrainReport> {
        let mut total = DrainReport::default();
        loop {
            let report = self.drain_once().await?;
            total.add(report);
            // Rows whose dependencies are acknowledged, at whatever time they are due; a row
            // waiting on a wedged item is not waited for.
            let pending = self.store.read(|conn, _| {
                Ok(queue::due(conn, Utc::now() + chrono::Duration::days(36_500))?
                    .into_iter()
                    .map(|i| i.next_attempt_at)
                    .min())
            })?;
            let Some(next) = pending else { return Ok(total) };
            if report.held_back > 0 && report.acknowledged == 0 && report.retried == 0 {
                return Ok(total);
            }
            let wait = chrono::DateTime::parse_from_rfc3339(&next)
                .map(|t| (t.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(Duration::ZERO);
            if Instant::now() + wait >= deadline {
                return Ok(total);
            }
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }

    async fn attempt(
        &self,
        item: &OutboxItem,
        enrolment: &Enrolment,
        server_key: &[u8],
        on_wire: &AtomicU64,
    ) -> Result<Outcome> {
        match item.kind {
            OutboxKind::Evidence => self.send_evidence(item, enrolment, server_key, on_wire).await,
            OutboxKind::Record => {
                let record =
                    self.store.read(|conn, keys| persist::load_record(conn, keys, &item.object_id))?;
                let freeze = record.freeze.ok_or_else(|| RecordError::Corrupt {
                    record_id: record.id.clone(),
                    what: "queued for upload but not frozen".into(),
                })?;
                self.store.write(|tx, _| queue::start_attempt(tx, item.id))?;
                let sent = Statement { path: "/v1/records", kind: ReceiptKind::Record, envelope: &freeze };
                self.send_statement(item, sent, None, enrolment, server_key).await
            }
            OutboxKind::TrailHead => {
                let (envelope, anchor) = self.trail_head_statement(item)?;
                self.store.write(|tx, _| queue::start_attempt(tx, item.id))?;
                let sent =
                    Statement { path: "/v1/trail-heads", kind: ReceiptKind::TrailHead, envelope: &envelope };
                self.send_statement(item, sent, anchor, enrolment, server_key).await
            }
        }
    }

    async fn send_evidence(
        &self,
        item: &OutboxItem,
        enrolment: &Enrolment,
        server_key: &[u8],
        on_wire: &AtomicU64,
    ) -> Result<Outcome> {
        let row = self.store.read(|conn, keys| evidence_rows::get(conn, keys, &item.object_id))?;
        let manifest = manifest_of(&row.envelope)?;
        if !self.network.allows(manifest.size) {
            return Ok(Outcome::HeldBack);
        }
        self.store.write(|tx, _| queue::start_attempt(tx, item.id))?;
        let blob = BlobUpload {
            outbox_id: item.id,
            blob_id: &row.blob_id,
            evidence_id: &row.id,
            sha256: &manifest.sha256,
            size: manifest.size,
            upload_url: item.upload_url.as_deref(),
        };
        upload::upload_blob(self.store, self.client, &blob, on_wire, &mut |_, _| {}).await?;
        let envelope = self.client.submit("/v1/evidence", &row.envelope).await?;
        let expected = ExpectedReceipt {
            kind: ReceiptKind::Evidence,
            object_id: row.id.clone(),
            sha256: manifest.sha256.clone(),
            statement_sha256: statement_sha256(&row.envelope)?,
            device_id: enrolment.device_id.clone(),
        };
        receipt::check(&envelope, server_key, &expected)?;
        let stored = envelope.to_json_string()?;
        self.store.write(|tx, _| queue::acknowledge(tx, item.id, stored.as_bytes()))?;
        Ok(Outcome::Acknowledged)
    }

    /// A record or trail head: a statement with no blob, whose receipt names the statement's own
    /// hash. A trail head's verified receipt also becomes the countersignature of the anchor
    /// (`countersigns`, by counter) its statement names, in the acknowledgement's transaction.
    async fn send_statement(
        &self,
        item: &OutboxItem,
        sent: Statement<'_>,
        countersigns: Option<u64>,
        enrolment: &Enrolment,
        server_key: &[u8],
    ) -> Result<Outcome> {
        let envelope = self.client.submit(sent.path, sent.envelope).await?;
        let hash = statement_sha256(sent.envelope)?;
        let expected = ExpectedReceipt {
            kind: sent.kind,
            object_id: item.object_id.clone(),
            sha256: hash.clone(),
            statement_sha256: hash,
            device_id: enrolment.device_id.clone(),
        };
        receipt::check(&envelope, server_key, &expected)?;
        let stored = envelope.to_json_string()?;
        let countersignature = countersigns
            .map(|counter| {
                let kept = Countersignature { receipt: envelope, trail_head: sent.envelope.payload.clone() };
                Ok::<_, Error>((counter, kept.to_bytes()?))
            })
            .transpose()?;
        self.store.write(|tx, _| {
            queue::acknowledge(tx, item.id, stored.as_bytes())?;
            match &countersignature {
                Some((counter, bytes)) => anchors::set_countersignature(tx, *counter, bytes),
                None => Ok(()),
            }
        })?;
        Ok(Outcome::Acknowledged)
    }

    /// Signs the head a trail-head row names, after checking the whole chain up to it, naming the
    /// anchor that covers it; returns the envelope and that anchor's counter. The payload is read
    /// from the stored chain and anchors only, so every attempt signs the same statement.
    fn trail_head_statement(&self, item: &OutboxItem) -> Result<(SignedEnvelope, Option<u64>)> {
        let corrupt = |what: &str| StoreError::Corrupt {
            what: format!("outbox trail head {}", item.object_id),
            reason: what.to_owned(),
        };
        let (stream, seq) =
            parse_trail_head_id(&item.object_id).ok_or_else(|| corrupt("not <stream>@<seq>"))?;
        let inspection_id =
            stream.strip_prefix("inspection:").ok_or_else(|| corrupt("not an inspection stream"))?;
        let record_id = item.depends_on.first().ok_or_else(|| corrupt("names no record"))?;
        let entries = self.store.read(|conn, keys| trail::verify_stream(conn, keys, stream))?;
        let head = entries.iter().find(|e| e.seq == seq).ok_or_else(|| corrupt("no such event"))?;
        let anchor = self.store.read(|conn, _| anchors::first_of_at_or_after(conn, stream, seq))?;
        let statement = TrailHeadStatement {
            statement: TRAIL_HEAD_TYPE.to_owned(),
            v: TRAIL_HEAD_VERSION,
            trail_id: item.object_id.clone(),
            inspection_id: inspection_id.to_owned(),
            stream: stream.to_owned(),
            seq,
            hash: head.hash.clone(),
            at: head.at.clone(),
            record_id: record_id.clone(),
            device_key_id: key_id(&self.signer.public_key()?)?,
            anchor: anchor.clone().map(|(counter, anchor_hash)| AnchorRef { counter, anchor_hash }),
        };
        let payload = serde_json::to_value(&statement).map_err(|e| corrupt(&e.to_string()))?;
        Ok((SignedEnvelope::seal(&payload, self.signer)?, anchor.map(|(counter, _)| counter)))
    }

    /// Backs a row off (true) or wedges it (false), keeping the offset the server last reported.
    fn fail(&self, item: &OutboxItem, error: &Error) -> Result<bool> {
        let transient = matches!(error, Error::Sync(e) if e.is_transient());
        let current = self.store.read(|conn, _| queue::get(conn, item.kind, &item.object_id))?;
        let offset = current.as_ref().map_or(item.resume_offset, |c| c.resume_offset);
        let attempts = current.as_ref().map_or(item.attempts, |c| c.attempts);
        log::info!("outbox {} {}: {error}", item.kind.as_str(), item.id);
        self.store.write(|tx, _| {
            if transient {
                let delay = self.backoff.delay(u32::try_from(attempts).unwrap_or(u32::MAX));
                let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                queue::retry_later(tx, item.id, next, offset)?;
                queue::note_error(tx, item.id, WedgedReason::of(error).code.as_str())
            } else {
                let reason = serde_json::to_string(&WedgedReason::of(error)).unwrap_or_default();
                queue::wedge(tx, item.id, &reason)
            }
        })?;
        Ok(transient)
    }
}
