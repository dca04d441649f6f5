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
//! Records and trail heads are sent once their statement formats are stored by the record and
//! trail modules; until then their rows wait (they are not attempted, so they never wedge).

use std::{
    sync::atomic::AtomicU64,
    time::{Duration, Instant},
};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{Backoff, NetworkPolicy, OutboxItem, OutboxKind, queue};
use crate::{
    Error, Result,
    crypto::DeviceSigner,
    evidence::ingest::manifest_of,
    protocol::{receipt::ReceiptKind, statement::statement_sha256},
    store::{Store, evidence as evidence_rows},
    sync::{
        Enrolment, IntakeClient, SyncError, enrolment,
        receipt::{self, ExpectedReceipt},
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

    fn of(error: &Error) -> WedgedReason {
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
    Waiting,
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
                Ok(Outcome::Waiting) => {}
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
            let pending = self.store.read(|conn, _| {
                Ok(queue::all(conn)?
                    .into_iter()
                    .filter(|i| {
                        i.kind == OutboxKind::Evidence && matches!(i.state.as_str(), "pending" | "in_flight")
                    })
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
        if item.kind != OutboxKind::Evidence {
            return Ok(Outcome::Waiting);
        }
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
