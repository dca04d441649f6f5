//! SQLite metadata (the default): one file in the data directory, WAL, foreign keys, a busy
//! timeout, `user_version` migrations in one IMMEDIATE transaction. rusqlite is synchronous, so
//! every call runs in `spawn_blocking` on one connection behind a mutex: SQLite has one writer
//! anyway, and the statements are short.

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fieldseal_core::protocol::{
    pull::{PullItem, PullKind},
    receipt::ReceiptKind,
};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::*;
use crate::error::IntakeError;

const MIGRATIONS: &[&str] = &[include_str!("sql/sqlite-0001.sql")];

pub struct SqliteMetadata {
    conn: Arc<Mutex<Connection>>,
}

fn storage(e: rusqlite::Error) -> IntakeError {
    IntakeError::storage(format!("sqlite: {e}"))
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl SqliteMetadata {
    /// Opens (creating and migrating) `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path).map_err(storage)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(storage)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(storage)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(storage)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(storage)?;
        migrate(&mut conn)?;
        Ok(SqliteMetadata { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-applied transaction (rusqlite rolls
            // back on drop), so a poisoned lock is safe to keep using.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard).map_err(storage)
        })
        .await
        .map_err(IntakeError::internal)?
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(storage)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(storage)?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        return Err(IntakeError::storage(format!(
            "database schema version {version} is newer than this intake ({}); upgrade intake",
            MIGRATIONS.len()
        )));
    }
    for sql in &MIGRATIONS[version..] {
        tx.execute_batch(sql).map_err(storage)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64).map_err(storage)?;
    tx.commit().map_err(storage)
}

const DEVICE_COLUMNS: &str =
    "device_id, inspector_id, key_id, public_key, label, enrolled_at, not_after, revoked_at, certificate";

fn device_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        device_id: r.get(0)?,
        inspector_id: r.get(1)?,
        key_id: r.get(2)?,
        public_key: r.get(3)?,
        label: r.get(4)?,
        enrolled_at: time(r.get(5)?),
        not_after: time(r.get(6)?),
        revoked_at: r.get::<_, Option<i64>>(7)?.map(time),
        certificate: r.get(8)?,
    })
}

fn upload_row(r: &Row<'_>) -> rusqlite::Result<Upload> {
    Ok(Upload {
        upload_id: r.get(0)?,
        device_id: r.get(1)?,
        length: r.get::<_, i64>(2)? as u64,
        offset: r.get::<_, i64>(3)? as u64,
        declared_sha256: r.get(4)?,
        evidence_id: r.get(5)?,
        created_at: time(r.get(6)?),
        completed: r.get(7)?,
    })
}

const STATEMENT_COLUMNS: &str = "kind, object_id, statement_sha256, blob_sha256, device_id, inspection_id, envelope, receipt, received_at";

fn statement_row(r: &Row<'_>) -> rusqlite::Result<StatementRow> {
    let kind: String = r.get(0)?;
    Ok(StatementRow {
        kind: ReceiptKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("kind {kind}").into(),
            )
        })?,
        object_id: r.get(1)?,
        statement_sha256: r.get(2)?,
        blob_sha256: r.get(3)?,
        device_id: r.get(4)?,
        inspection_id: r.get(5)?,
        envelope: r.get(6)?,
        receipt: r.get(7)?,
        received_at: time(r.get(8)?),
    })
}

fn catalog_item(r: &Row<'_>) -> rusqlite::Result<(u64, PullItem)> {
    let kind: String = r.get(1)?;
    let body: String = r.get(4)?;
    let conversion =
        |what: String| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, what.into());
    Ok((
        r.get::<_, i64>(0)? as u64,
        PullItem {
            kind: PullKind::parse(&kind).ok_or_else(|| conversion(format!("kind {kind}")))?,
            id: r.get(2)?,
            version: r.get(3)?,
            body: serde_json::from_str(&body).map_err(|e| conversion(e.to_string()))?,
        },
    ))
}

#[async_trait]
impl Metadata for SqliteMetadata {
    async fn ping(&self) -> Result<()> {
        self.run(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }

    async fn insert_enrolment_code(&self, code: &EnrolmentCode) -> Result<()> {
        let code = code.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO enrolment_codes (code_hash, inspector_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![code.code_hash, code.inspector_id, ms(code.created_at), ms(code.expires_at)],
            )
            .map(|_| ())
        })
        .await
    }

    async fn code_inspector(&self, code_hash: &str) -> Result<Option<String>> {
        let hash = code_hash.to_owned();
        self.run(move |c| {
            c.query_row("SELECT inspector_id FROM enrolment_codes WHERE code_hash = ?1", [hash], |r| r.get(0))
                .optional()
        })
        .await
    }

    async fn enrol(&self, code_hash: &str, now: DateTime<Utc>, device: &Device) -> Result<EnrolOutcome> {
        let (code_hash, device) = (code_hash.to_owned(), device.clone());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let code: Option<(i64, Option<i64>)> = tx
                .query_row(
                    "SELECT expires_at, used_at FROM enrolment_codes WHERE code_hash = ?1",
                    [&code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let outcome = match code {
                None => EnrolOutcome::CodeUnknown,
                Some((_, Some(_))) => EnrolOutcome::CodeUsed,
                Some((expires, None)) if expires <= ms(now) => EnrolOutcome::CodeExpired,
                Some(_) => {
                    let taken: bool = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM devices WHERE key_id = ?1)",
                        [&device.key_id],
                        |r| r.get(0),
                    )?;
                    if taken {
                        EnrolOutcome::KeyAlreadyEnrolled
                    } else {
                        tx.execute(
                            "UPDATE enrolment_codes SET used_at = ?2, device_id = ?3 WHERE code_hash = ?1",
                            params![code_hash, ms(now), device.device_id],
                        )?;
                        tx.execute(
                            &format!("INSERT INTO devices ({DEVICE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)"),
                            params![
                                device.device_id,
                                device.inspector_id,
                                device.key_id,
                                device.public_key,
                                device.label,
                                ms(device.enrolled_at),
                                ms(device.not_after),
                                device.certificate
                            ],
                        )?;
                        EnrolOutcome::Enrolled
                    }
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn device(&self, device_id: &str) -> Result<Option<Device>> {
        let id = device_id.to_owned();
        self.run(move |c| {
            c.query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE device_id = ?1"),
                [id],
                device_row,
            )
            .optional()
        })
        .await
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        self.run(|c| {
            let mut s =
                c.prepare(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY enrolled_at, device_id"))?;
            s.query_map([], device_row)?.collect()
        })
        .await
    }

    async fn revoke_device(&self, device_id: &str, now: DateTime<Utc>) -> Result<bool> {
        let id = device_id.to_owned();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let key: Option<(String, Option<i64>)> = tx
                .query_row("SELECT key_id, revoked_at FROM devices WHERE device_id = ?1", [&id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let Some((key_id, revoked)) = key else { return Ok(false) };
            let revoked_at = revoked.unwrap_or(ms(now));
            tx.execute("UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1", params![id, revoked_at])?;
            tx.execute("DELETE FROM tokens WHERE device_id = ?1", [&id])?;
            let body = serde_json::json!({"device_id": id, "key_id": key_id, "revoked_at": time(revoked_at)});
            publish_in(&tx, PullKind::Revocation, &key_id, &revoked_at.to_string(), "", &body)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn insert_challenge(
        &self,
        challenge: &str,
        purpose: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let (challenge, purpose) = (challenge.to_owned(), purpose.to_owned());
        self.run(move |c| {
            c.execute(
                "INSERT INTO challenges (challenge, purpose, expires_at) VALUES (?1, ?2, ?3)",
                params![challenge, purpose, ms(expires_at)],
            )?;
            // Keep the table small: challenges long past their expiry can never be used again.
            c.execute("DELETE FROM challenges WHERE expires_at < ?1", [ms(expires_at) - 86_400_000])?;
            Ok(())
        })
        .await
    }

    async fn consume_challenge(
        &self,
        challenge: &str,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<ChallengeUse> {
        let (challenge, purpose) = (challenge.to_owned(), purpose.to_owned());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: Option<(i64, bool)> = tx
                .query_row(
                    "SELECT expires_at, used FROM challenges WHERE challenge = ?1 AND purpose = ?2",
                    [&challenge, &purpose],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let outcome = match found {
                None | Some((_, true)) => ChallengeUse::Unknown,
                Some((expires, false)) => {
                    tx.execute("UPDATE challenges SET used = 1 WHERE challenge = ?1", [&challenge])?;
                    if expires <= ms(now) { ChallengeUse::Expired } else { ChallengeUse::Fresh }
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn insert_token(&self, token_hash: &str, device_id: &str, expires_at: DateTime<Utc>) -> Result<()> {
        let (token_hash, device_id) = (token_hash.to_owned(), device_id.to_owned());
        self.run(move |c| {
            c.execute(
                "INSERT INTO tokens (token_hash, device_id, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, device_id, ms(expires_at)],
            )?;
            c.execute("DELETE FROM tokens WHERE expires_at < ?1", [ms(expires_at) - 86_400_000])?;
            Ok(())
        })
        .await
    }

    async fn token_device(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Device>> {
        let token_hash = token_hash.to_owned();
        self.run(move |c| {
            c.query_row(
                &format!(
                    "SELECT {} FROM tokens t JOIN devices d ON d.device_id = t.device_id
                     WHERE t.token_hash = ?1 AND t.expires_at > ?2",
                    DEVICE_COLUMNS.split(", ").map(|col| format!("d.{col}")).collect::<Vec<_>>().join(", ")
                ),
                params![token_hash, ms(now)],
                device_row,
            )
            .optional()
        })
        .await
    }

    async fn insert_upload(&self, upload: &Upload) -> Result<()> {
        let u = upload.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO uploads (upload_id, device_id, length, offset, declared_sha256, evidence_id, created_at, completed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![u.upload_id, u.device_id, u.length as i64, u.offset as i64, u.declared_sha256, u.evidence_id, ms(u.created_at), u.completed],
            )
            .map(|_| ())
        })
        .await
    }

    async fn upload(&self, upload_id: &str) -> Result<Option<Upload>> {
        let id = upload_id.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT upload_id, device_id, length, offset, declared_sha256, evidence_id, created_at, completed
                 FROM uploads WHERE upload_id = ?1",
                [id],
                upload_row,
            )
            .optional()
        })
        .await
    }

    async fn append_part(&self, upload_id: &str, part: &UploadPart) -> Result<bool> {
        let (id, part) = (upload_id.to_owned(), part.clone());
        self.run(move |c| {
            // A part's row need not survive a power cut (the terminal then sends the part again,
            // and the blob store vouches only for what it made durable), so this commit does not
            // wait on the disk: the WAL keeps commits in order, and the next FULL one — the
            // upload's completion — makes it durable with everything before it.
            c.pragma_update(None, "synchronous", "NORMAL")?;
            let appended = (|| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let moved = tx.execute(
                    "UPDATE uploads SET offset = ?3 WHERE upload_id = ?1 AND offset = ?2 AND completed = 0",
                    params![id, part.offset as i64, (part.offset + part.length) as i64],
                )?;
                if moved == 1 {
                    tx.execute(
                        "INSERT INTO upload_parts (upload_id, offset, length, key) VALUES (?1, ?2, ?3, ?4)",
                        params![id, part.offset as i64, part.length as i64, part.key],
                    )?;
                }
                tx.commit()?;
                Ok(moved == 1)
            })();
            c.pragma_update(None, "synchronous", "FULL")?;
            appended
        })
        .await
    }

    async fn rewind_upload(&self, upload_id: &str, from: u64, to: u64) -> Result<bool> {
        let id = upload_id.to_owned();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let moved = tx.execute(
                "UPDATE uploads SET offset = ?3 WHERE upload_id = ?1 AND offset = ?2 AND completed = 0",
                params![id, from as i64, to as i64],
            )?;
            if moved == 1 {
                tx.execute(
                    "DELETE FROM upload_parts WHERE upload_id = ?1 AND offset >= ?2",
                    params![id, to as i64],
                )?;
            }
            tx.commit()?;
            Ok(moved == 1)
        })
        .await
    }

    async fn upload_parts(&self, upload_id: &str) -> Result<Vec<UploadPart>> {
        let id = upload_id.to_owned();
        self.run(move |c| {
            let mut s = c.prepare(
                "SELECT offset, length, key FROM upload_parts WHERE upload_id = ?1 ORDER BY offset",
            )?;
            s.query_map([id], |r| {
                Ok(UploadPart {
                    offset: r.get::<_, i64>(0)? as u64,
                    length: r.get::<_, i64>(1)? as u64,
                    key: r.get(2)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn complete_upload(&self, upload_id: &str, blob: &BlobRow) -> Result<bool> {
        let (id, blob) = (upload_id.to_owned(), blob.clone());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO blobs (sha256, size, stored_at) VALUES (?1, ?2, ?3) ON CONFLICT (sha256) DO NOTHING",
                params![blob.sha256, blob.size as i64, ms(blob.stored_at)],
            )?;
            let completed = tx.execute(
                "UPDATE uploads SET completed = 1, offset = length WHERE upload_id = ?1 AND completed = 0",
                [&id],
            )?;
            tx.execute("DELETE FROM upload_parts WHERE upload_id = ?1", [&id])?;
            tx.commit()?;
            Ok(completed == 1)
        })
        .await
    }

    async fn discard_upload(&self, upload_id: &str) -> Result<()> {
        let id = upload_id.to_owned();
        self.run(move |c| {
            c.execute("DELETE FROM upload_parts WHERE upload_id = ?1", [&id])?;
            c.execute("DELETE FROM uploads WHERE upload_id = ?1", [&id]).map(|_| ())
        })
        .await
    }

    async fn blob(&self, sha256: &str) -> Result<Option<BlobRow>> {
        let sha = sha256.to_owned();
        self.run(move |c| {
            c.query_row("SELECT sha256, size, stored_at FROM blobs WHERE sha256 = ?1", [sha], |r| {
                Ok(BlobRow {
                    sha256: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                    stored_at: time(r.get(2)?),
                })
            })
            .optional()
        })
        .await
    }

    async fn put_statement(&self, row: &StatementRow) -> Result<StatementRow> {
        let row = row.clone();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                &format!(
                    "INSERT INTO statements ({STATEMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (kind, object_id) DO NOTHING"
                ),
                params![
                    row.kind.as_str(),
                    row.object_id,
                    row.statement_sha256,
                    row.blob_sha256,
                    row.device_id,
                    row.inspection_id,
                    row.envelope,
                    row.receipt,
                    ms(row.received_at)
                ],
            )?;
            let stored = tx.query_row(
                &format!("SELECT {STATEMENT_COLUMNS} FROM statements WHERE kind = ?1 AND object_id = ?2"),
                params![row.kind.as_str(), row.object_id],
                statement_row,
            )?;
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    async fn statements(&self) -> Result<Vec<StatementRow>> {
        self.run(|c| {
            let mut s = c.prepare(&format!(
                "SELECT {STATEMENT_COLUMNS} FROM statements ORDER BY inspection_id, kind, received_at, object_id"
            ))?;
            s.query_map([], statement_row)?.collect()
        })
        .await
    }

    async fn publish(&self, entry: &CatalogEntry) -> Result<()> {
        let e = entry.clone();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            publish_in(&tx, e.kind, &e.id, &e.version, &e.audience, &e.body)?;
            tx.commit()
        })
        .await
    }

    async fn published(&self, kind: PullKind, id: &str) -> Result<Option<CatalogEntry>> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT version, body FROM catalog WHERE kind = ?1 AND id = ?2 AND audience = ''",
                params![kind.as_str(), id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()
            .map(|found| {
                found.and_then(|(version, body)| {
                    Some(CatalogEntry {
                        kind,
                        id: id.clone(),
                        version,
                        audience: String::new(),
                        body: serde_json::from_str(&body).ok()?,
                    })
                })
            })
        })
        .await
    }

    async fn pull(&self, inspector_id: &str, after: u64, limit: u32) -> Result<Vec<(u64, PullItem)>> {
        let inspector = inspector_id.to_owned();
        self.run(move |c| {
            let mut s = c.prepare(
                "SELECT seq, kind, id, version, body FROM catalog
                 WHERE seq > ?1 AND (audience = '' OR audience = ?2) ORDER BY seq LIMIT ?3",
            )?;
            s.query_map(params![after as i64, inspector, limit], catalog_item)?.collect()
        })
        .await
    }
}

/// Replaces an object in the feed: the old row goes, the new one gets the next sequence number, so a
/// cursor past the old one still sees the change.
fn publish_in(
    tx: &rusqlite::Transaction<'_>,
    kind: PullKind,
    id: &str,
    version: &str,
    audience: &str,
    body: &serde_json::Value,
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM catalog WHERE kind = ?1 AND id = ?2 AND audience = ?3",
        params![kind.as_str(), id, audience],
    )?;
    tx.execute(
        "INSERT INTO catalog (kind, id, version, audience, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind.as_str(), id, version, audience, body.to_string()],
    )?;
    Ok(())
}
