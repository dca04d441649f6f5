//! 设备注册 — enrolling this installation with intake, and what is kept of it: the device id, the
//! certificate intake signed, intake's public key (against which every later receipt is checked),
//! the device clock's offset from intake's, and the pull cursor.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{IntakeClient, SyncError, clock::ClockSample};
use crate::{
    Result,
    crypto::{DeviceSigner, signer::key_id},
    protocol::{SignedEnvelope, enrolment::DeviceCertificate, receipt::ServerKeyInfo},
    store::{Keyring, Store, StoreError, timestamp},
};

/// What the installation holds of its enrolment.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrolment {
    pub base_url: String,
    pub device_id: String,
    /// 执法人员 — the inspector intake bound this device to (from the verified certificate).
    pub inspector_id: String,
    pub server_key: ServerKeyInfo,
    pub certificate: SignedEnvelope,
    pub enrolled_at: DateTime<Utc>,
    /// Server clock minus device clock, when measured.
    pub clock_offset_ms: Option<i64>,
    pub pull_cursor: String,
}

impl Enrolment {
    /// Intake's receipt-signing key, checked against its id.
    pub fn server_public_key(&self) -> Result<Vec<u8>> {
        self.server_key.public_key_bytes()
    }
}

const CERTIFICATE_CONTEXT: &str = "sync_enrolment.certificate";

/// Enrols with the one-time `code` and keeps the result, replacing an earlier enrolment. The
/// certificate must verify under the key intake presents and name this device's key.
pub async fn enrol(
    store: &Store,
    client: &IntakeClient,
    signer: &dyn DeviceSigner,
    code: &str,
    label: Option<String>,
) -> Result<Enrolment> {
    let response = client.enrol(code, label).await?;
    let server_key = response.server_key.public_key_bytes()?;
    let certificate = DeviceCertificate::open(&response.certificate, &server_key)?;
    let own_key = key_id(&signer.public_key()?)?;
    if certificate.device_key_id != own_key || certificate.device_id != response.device_id {
        return Err(SyncError::ReceiptRefused {
            object_id: response.device_id,
            reason: "the device certificate names another key or device",
        }
        .into());
    }
    let enrolment = Enrolment {
        base_url: client.base_url().to_owned(),
        device_id: response.device_id,
        inspector_id: certificate.inspector_id,
        server_key: response.server_key,
        certificate: response.certificate,
        enrolled_at: Utc::now(),
        clock_offset_ms: None,
        pull_cursor: String::new(),
    };
    // Enrolment's answers carry intake's clock in their `Date`: the captures made before the first
    // sync already know the offset (`super::clock`).
    let clock = client.clock_sample();
    store.write(|tx, keys| {
        save(tx, keys, &enrolment)?;
        clock.map_or(Ok(()), |sample| record_clock(tx, sample))
    })?;
    Ok(Enrolment { clock_offset_ms: clock.map(|c| c.offset_ms), ..enrolment })
}

fn save(tx: &Transaction<'_>, keys: &Keyring, e: &Enrolment) -> Result<()> {
    let certificate = keys.column.seal_str(CERTIFICATE_CONTEXT, &e.certificate.to_json_string()?)?;
    let server_key = serde_json::to_string(&e.server_key)
        .map_err(|err| StoreError::Corrupt { what: "server key".into(), reason: err.to_string() })?;
    tx.execute(
        "INSERT OR REPLACE INTO sync_enrolment
             (id, base_url, device_id, certificate, server_key, enrolled_at, clock_offset_ms, clock_measured_at, pull_cursor)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, NULL, NULL, '')",
        params![e.base_url, e.device_id, certificate, server_key, timestamp(e.enrolled_at)],
    )
    .map_err(StoreError::sql("save enrolment"))?;
    Ok(())
}

/// The stored enrolment, if any.
pub fn load(conn: &Connection, keys: &Keyring) -> Result<Option<Enrolment>> {
    let row = conn
        .query_row(
            "SELECT base_url, device_id, certificate, server_key, enrolled_at, clock_offset_ms, pull_cursor
             FROM sync_enrolment WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .optional()
        .map_err(StoreError::sql("read enrolment"))?;
    let Some((base_url, device_id, certificate, server_key, enrolled_at, clock_offset_ms, pull_cursor)) = row
    else {
        return Ok(None);
    };
    let corrupt = |reason: String| StoreError::Corrupt { what: "enrolment".into(), reason };
    let certificate =
        SignedEnvelope::from_json_str(&keys.column.open_string(CERTIFICATE_CONTEXT, &certificate)?)?;
    let server_key: ServerKeyInfo = serde_json::from_str(&server_key).map_err(|e| corrupt(e.to_string()))?;
    // The certificate was verified at enrolment; re-verify so a swapped row is caught.
    let read = DeviceCertificate::open(&certificate, &server_key.public_key_bytes()?)?;
    Ok(Some(Enrolment {
        base_url,
        device_id,
        inspector_id: read.inspector_id,
        server_key,
        certificate,
        enrolled_at: DateTime::parse_from_rfc3339(&enrolled_at)
            .map_err(|e| corrupt(e.to_string()))?
            .with_timezone(&Utc),
        clock_offset_ms,
        pull_cursor,
    }))
}

/// Records the device clock's offset from intake's, for the time fields of later captures.
pub fn record_clock(tx: &Transaction<'_>, sample: ClockSample) -> Result<()> {
    tx.execute(
        "UPDATE sync_enrolment SET clock_offset_ms = ?1, clock_measured_at = ?2 WHERE id = 1",
        params![sample.offset_ms, timestamp(sample.measured_at)],
    )
    .map_err(StoreError::sql("record clock offset"))?;
    Ok(())
}

/// The last measured offset (server minus device, ms); `None` before the first answer from intake.
pub fn clock_offset_ms(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT clock_offset_ms FROM sync_enrolment WHERE id = 1", [], |r| r.get(0))
        .optional()
        .map_err(StoreError::sql("read clock offset"))?
        .flatten())
}

pub fn set_pull_cursor(tx: &Transaction<'_>, cursor: &str) -> Result<()> {
    tx.execute("UPDATE sync_enrolment SET pull_cursor = ?1 WHERE id = 1", params![cursor])
        .map_err(StoreError::sql("save pull cursor"))?;
    Ok(())
}
