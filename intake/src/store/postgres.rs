//! PostgreSQL metadata, for a province that runs several intake instances: every row an upload in
//! progress, a challenge or a token needs is here, so any instance serves any request.
//!
//! Concurrency rests on row-level atomic statements, not on locks held in a process: a challenge
//! is used by `UPDATE … WHERE NOT used RETURNING`, a part is recorded only by the `UPDATE` that moves
//! the offset from the value the request claimed, a statement is stored by `INSERT … ON CONFLICT DO
//! NOTHING` and read back. Migrations run under an advisory lock, so instances starting together
//! migrate once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use fieldseal_core::protocol::{
    pull::{PullItem, PullKind},
    receipt::ReceiptKind,
};
use tokio_postgres::{NoTls, Row};

use super::{
    sqlite::{ms, time},
    *,
};
use crate::error::IntakeError;

const MIGRATIONS: &[&str] = &[include_str!("sql/postgres-0001.sql")];
/// Any constant both instances agree on: the key of the migration advisory lock.
const MIGRATION_LOCK: i64 = 0x6669_656c_6473;

pub struct PostgresMetadata {
    pool: Pool,
}

fn storage(e: impl std::fmt::Display) -> IntakeError {
    IntakeError::storage(format!("postgres: {e}"))
}

impl PostgresMetadata {
    /// Connects to `url` (`postgres://user:password@host/db`, libpq options allowed) and migrates.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self> {
        let config: tokio_postgres::Config = url.parse().map_err(storage)?;
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(pool_size).build().map_err(storage)?;
        let store = PostgresMetadata { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(storage)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(storage)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS intake_schema (version INTEGER NOT NULL)")
            .await
            .map_err(storage)?;
        let version: i32 = tx
            .query_opt("SELECT version FROM intake_schema", &[])
            .await
            .map_err(storage)?
            .map(|r| r.get(0))
            .unwrap_or(0);
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > MIGRATIONS.len() {
            return Err(IntakeError::storage(format!(
                "database schema version {version} is newer than this intake ({}); upgrade intake",
                MIGRATIONS.len()
            )));
        }
        for sql in &MIGRATIONS[version..] {
            tx.batch_execute(sql).await.map_err(storage)?;
        }
        tx.execute("DELETE FROM intake_schema", &[]).await.map_err(storage)?;
        tx.execute("INSERT INTO intake_schema (version) VALUES ($1)", &[&(MIGRATIONS.len() as i32)])
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)
    }
}

const DEVICE_COLUMNS: &str =
    "device_id, inspector_id, key_id, public_key, label, enrolled_at, not_after, revoked_at, certificate";

fn device_row(r: &Row) -> Device {
    Device {
        device_id: r.get(0),
        inspector_id: r.get(1),
        key_id: r.get(2),
        public_key: r.get(3),
        label: r.get(4),
        enrolled_at: time(r.get(5)),
        not_after: time(r.get(6)),
        revoked_at: r.get::<_, Option<i64>>(7).map(time),
        certificate: r.get(8),
    }
}

const UPLOAD_COLUMNS: &str =
    r#"upload_id, device_id, length, "offset", declared_sha256, evidence_id, created_at, completed"#;

fn upload_row(r: &Row) -> Upload {
    Upload {
        upload_id: r.get(0),
        device_id: r.get(1),
        length: r.get::<_, i64>(2) as u64,
        offset: r.get::<_, i64>(3) as u64,
        declared_sha256: r.get(4),
        evidence_id: r.get(5),
        created_at: time(r.get(6)),
        completed: r.get(7),
    }
}

const STATEMENT_COLUMNS: &str = "kind, object_id, statement_sha256, blob_sha256, device_id, inspection_id, envelope, receipt, received_at";

fn statement_row(r: &Row) -> Result<StatementRow> {
    let kind: String = r.get(0);
    Ok(StatementRow {
        kind: ReceiptKind::parse(&kind).ok_or_else(|| storage(format!("unknown statement kind {kind}")))?,
        object_id: r.get(1),
        statement_sha256: r.get(2),
        blob_sha256: r.get(3),
        device_id: r.get(4),
        inspection_id: r.get(5),
        envelope: r.get(6),
        receipt: r.get(7),
        received_at: time(r.get(8)),
    })
}

async fn publish_in(
    tx: &deadpool_postgres::Transaction<'_>,
    kind: PullKind,
    id: &str,
    version: &str,
    audience: &str,
    body: &serde_json::Value,
) -> Result<()> {
    tx.execute(
        "DELETE FROM catalog WHERE kind = $1 AND id = $2 AND audience = $3",
        &[&kind.as_str(), &id, &audience],
    )
    .await
    .map_err(storage)?;
    tx.execute(
        "INSERT INTO catalog (kind, id, version, audience, body) VALUES ($1, $2, $3, $4, $5)",
        &[&kind.as_str(), &id, &version, &audience, &body.to_string()],
    )
    .await
    .map_err(storage)?;
    Ok(())
}

#[async_trait]
impl Metadata for PostgresMetadata {
    async fn ping(&self) -> Result<()> {
        self.client().await?.query_one("SELECT 1", &[]).await.map_err(storage).map(|_| ())
    }

    async fn insert_enrolment_code(&self, code: &EnrolmentCode) -> Result<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO enrolment_codes (code_hash, inspector_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&code.code_hash, &code.inspector_id, &ms(code.created_at), &ms(code.expires_at)],
            )
            .await
            .map_err(storage)
            .map(|_| ())
    }

    async fn code_inspector(&self, code_hash: &str) -> Result<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT inspector_id FROM enrolment_codes WHERE code_hash = $1", &[&code_hash])
            .await
            .map_err(storage)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn enrol(&self, code_hash: &str, now: DateTime<Utc>, device: &Device) -> Result<EnrolOutcome> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        let code = tx
            .query_opt(
                "SELECT expires_at, used_at FROM enrolment_codes WHERE code_hash = $1 FOR UPDATE",
                &[&code_hash],
            )
            .await
            .map_err(storage)?;
        let outcome = match code.map(|r| (r.get::<_, i64>(0), r.get::<_, Option<i64>>(1))) {
            None => EnrolOutcome::CodeUnknown,
            Some((_, Some(_))) => EnrolOutcome::CodeUsed,
            Some((expires, None)) if expires <= ms(now) => EnrolOutcome::CodeExpired,
            Some(_) => {
                let inserted = tx
                    .execute(
                        &format!(
                            "INSERT INTO devices ({DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)
                             ON CONFLICT (key_id) DO NOTHING"
                        ),
                        &[
                            &device.device_id,
                            &device.inspector_id,
                            &device.key_id,
                            &device.public_key,
                            &device.label,
                            &ms(device.enrolled_at),
                            &ms(device.not_after),
                            &device.certificate,
                        ],
                    )
                    .await
                    .map_err(storage)?;
                if inserted == 0 {
                    EnrolOutcome::KeyAlreadyEnrolled
                } else {
                    tx.execute(
                        "UPDATE enrolment_codes SET used_at = $2, device_id = $3 WHERE code_hash = $1",
                        &[&code_hash, &ms(now), &device.device_id],
                    )
                    .await
                    .map_err(storage)?;
                    EnrolOutcome::Enrolled
                }
            }
        };
        tx.commit().await.map_err(storage)?;
        Ok(outcome)
    }

    async fn device(&self, device_id: &str) -> Result<Option<Device>> {
        let row = self
            .client()
            .await?
            .query_opt(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE device_id = $1"), &[&device_id])
            .await
            .map_err(storage)?;
        Ok(row.as_ref().map(device_row))
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        let rows = self
            .client()
            .await?
            .query(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY enrolled_at, device_id"), &[])
            .await
            .map_err(storage)?;
        Ok(rows.iter().map(device_row).collect())
    }

    async fn revoke_device(&self, device_id: &str, now: DateTime<Utc>) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        let Some(row) = tx
            .query_opt(
                "SELECT key_id, revoked_at FROM devices WHERE device_id = $1 FOR UPDATE",
                &[&device_id],
            )
            .await
            .map_err(storage)?
        else {
            return Ok(false);
        };
        let key_id: String = row.get(0);
        let revoked_at = row.get::<_, Option<i64>>(1).unwrap_or(ms(now));
        tx.execute("UPDATE devices SET revoked_at = $2 WHERE device_id = $1", &[&device_id, &revoked_at])
            .await
            .map_err(storage)?;
        tx.execute("DELETE FROM tokens WHERE device_id = $1", &[&device_id]).await.map_err(storage)?;
        let body =
            serde_json::json!({"device_id": device_id, "key_id": key_id, "revoked_at": time(revoked_at)});
        publish_in(&tx, PullKind::Revocation, &key_id, &revoked_at.to_string(), "", &body).await?;
        tx.commit().await.map_err(storage)?;
        Ok(true)
    }

    async fn insert_challenge(
        &self,
        challenge: &str,
        purpose: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO challenges (challenge, purpose, expires_at) VALUES ($1, $2, $3)",
                &[&challenge, &purpose, &ms(expires_at)],
            )
            .await
            .map_err(storage)?;
        client
            .execute("DELETE FROM challenges WHERE expires_at < $1", &[&(ms(expires_at) - 86_400_000)])
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn consume_challenge(
        &self,
        challenge: &str,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<ChallengeUse> {
        let row = self
            .client()
            .await?
            .query_opt(
                "UPDATE challenges SET used = TRUE WHERE challenge = $1 AND purpose = $2 AND NOT used RETURNING expires_at",
                &[&challenge, &purpose],
            )
            .await
            .map_err(storage)?;
        Ok(match row.map(|r| r.get::<_, i64>(0)) {
            None => ChallengeUse::Unknown,
            Some(expires) if expires <= ms(now) => ChallengeUse::Expired,
            Some(_) => ChallengeUse::Fresh,
        })
    }

    async fn insert_token(&self, token_hash: &str, device_id: &str, expires_at: DateTime<Utc>) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO tokens (token_hash, device_id, expires_at) VALUES ($1, $2, $3)",
                &[&token_hash, &device_id, &ms(expires_at)],
            )
            .await
            .map_err(storage)?;
        client
            .execute("DELETE FROM tokens WHERE expires_at < $1", &[&(ms(expires_at) - 86_400_000)])
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn token_device(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Device>> {
        let columns = DEVICE_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
        let row = self
            .client()
            .await?
            .query_opt(
                &format!(
                    "SELECT {columns} FROM tokens t JOIN devices d ON d.device_id = t.device_id
                     WHERE t.token_hash = $1 AND t.expires_at > $2"
                ),
                &[&token_hash, &ms(now)],
            )
            .await
            .map_err(storage)?;
        Ok(row.as_ref().map(device_row))
    }

    async fn insert_upload(&self, u: &Upload) -> Result<()> {
        self.client()
            .await?
            .execute(
                &format!("INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                &[
                    &u.upload_id,
                    &u.device_id,
                    &(u.length as i64),
                    &(u.offset as i64),
                    &u.declared_sha256,
                    &u.evidence_id,
                    &ms(u.created_at),
                    &u.completed,
                ],
            )
            .await
            .map_err(storage)
            .map(|_| ())
    }

    async fn upload(&self, upload_id: &str) -> Result<Option<Upload>> {
        let row = self
            .client()
            .await?
            .query_opt(&format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id = $1"), &[&upload_id])
            .await
            .map_err(storage)?;
        Ok(row.as_ref().map(upload_row))
    }

    async fn append_part(&self, upload_id: &str, part: &UploadPart) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        // A part's row need not survive a crash (the terminal then sends the part again, and the
        // blob store vouches only for what it made durable): this commit does not wait for the
        // WAL flush. PostgreSQL still applies commits in order, so a crash loses a suffix only.
        tx.batch_execute("SET LOCAL synchronous_commit TO OFF").await.map_err(storage)?;
        let moved = tx
            .execute(
                r#"UPDATE uploads SET "offset" = $3 WHERE upload_id = $1 AND "offset" = $2 AND NOT completed"#,
                &[&upload_id, &(part.offset as i64), &((part.offset + part.length) as i64)],
            )
            .await
            .map_err(storage)?;
        if moved == 1 {
            tx.execute(
                r#"INSERT INTO upload_parts (upload_id, "offset", length, key) VALUES ($1, $2, $3, $4)"#,
                &[&upload_id, &(part.offset as i64), &(part.length as i64), &part.key],
            )
            .await
            .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)?;
        Ok(moved == 1)
    }

    async fn upload_parts(&self, upload_id: &str) -> Result<Vec<UploadPart>> {
        let rows = self
            .client()
            .await?
            .query(
                r#"SELECT "offset", length, key FROM upload_parts WHERE upload_id = $1 ORDER BY "offset""#,
                &[&upload_id],
            )
            .await
            .map_err(storage)?;
        Ok(rows
            .iter()
            .map(|r| UploadPart {
                offset: r.get::<_, i64>(0) as u64,
                length: r.get::<_, i64>(1) as u64,
                key: r.get(2),
            })
            .collect())
    }

    async fn rewind_upload(&self, upload_id: &str, from: u64, to: u64) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        let moved = tx
            .execute(
                r#"UPDATE uploads SET "offset" = $3 WHERE upload_id = $1 AND "offset" = $2 AND NOT completed"#,
                &[&upload_id, &(from as i64), &(to as i64)],
            )
            .await
            .map_err(storage)?;
        if moved == 1 {
            tx.execute(
                r#"DELETE FROM upload_parts WHERE upload_id = $1 AND "offset" >= $2"#,
                &[&upload_id, &(to as i64)],
            )
            .await
            .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)?;
        Ok(moved == 1)
    }

    async fn complete_upload(&self, upload_id: &str, blob: &BlobRow) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        tx.execute(
            "INSERT INTO blobs (sha256, size, stored_at) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
            &[&blob.sha256, &(blob.size as i64), &ms(blob.stored_at)],
        )
        .await
        .map_err(storage)?;
        let completed = tx
            .execute(
                r#"UPDATE uploads SET completed = TRUE, "offset" = length WHERE upload_id = $1 AND NOT completed"#,
                &[&upload_id],
            )
            .await
            .map_err(storage)?;
        tx.execute("DELETE FROM upload_parts WHERE upload_id = $1", &[&upload_id]).await.map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(completed == 1)
    }

    async fn discard_upload(&self, upload_id: &str) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        tx.execute("DELETE FROM upload_parts WHERE upload_id = $1", &[&upload_id]).await.map_err(storage)?;
        tx.execute("DELETE FROM uploads WHERE upload_id = $1", &[&upload_id]).await.map_err(storage)?;
        tx.commit().await.map_err(storage)
    }

    async fn blob(&self, sha256: &str) -> Result<Option<BlobRow>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT sha256, size, stored_at FROM blobs WHERE sha256 = $1", &[&sha256])
            .await
            .map_err(storage)?;
        Ok(row.map(|r| BlobRow {
            sha256: r.get(0),
            size: r.get::<_, i64>(1) as u64,
            stored_at: time(r.get(2)),
        }))
    }

    async fn put_statement(&self, row: &StatementRow) -> Result<StatementRow> {
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO statements ({STATEMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (kind, object_id) DO NOTHING"
                ),
                &[
                    &row.kind.as_str(),
                    &row.object_id,
                    &row.statement_sha256,
                    &row.blob_sha256,
                    &row.device_id,
                    &row.inspection_id,
                    &row.envelope,
                    &row.receipt,
                    &ms(row.received_at),
                ],
            )
            .await
            .map_err(storage)?;
        let stored = client
            .query_one(
                &format!("SELECT {STATEMENT_COLUMNS} FROM statements WHERE kind = $1 AND object_id = $2"),
                &[&row.kind.as_str(), &row.object_id],
            )
            .await
            .map_err(storage)?;
        statement_row(&stored)
    }

    async fn statements(&self) -> Result<Vec<StatementRow>> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {STATEMENT_COLUMNS} FROM statements ORDER BY inspection_id, kind, received_at, object_id"
                ),
                &[],
            )
            .await
            .map_err(storage)?;
        rows.iter().map(statement_row).collect()
    }

    async fn publish(&self, e: &CatalogEntry) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        publish_in(&tx, e.kind, &e.id, &e.version, &e.audience, &e.body).await?;
        tx.commit().await.map_err(storage)
    }

    async fn published(&self, kind: PullKind, id: &str) -> Result<Option<CatalogEntry>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT version, body FROM catalog WHERE kind = $1 AND id = $2 AND audience = ''",
                &[&kind.as_str(), &id],
            )
            .await
            .map_err(storage)?;
        Ok(row.and_then(|r| {
            Some(CatalogEntry {
                kind,
                id: id.to_owned(),
                version: r.get(0),
                audience: String::new(),
                body: serde_json::from_str(r.get::<_, &str>(1)).ok()?,
            })
        }))
    }

    async fn pull(&self, inspector_id: &str, after: u64, limit: u32) -> Result<Vec<(u64, PullItem)>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, kind, id, version, body FROM catalog
                 WHERE seq > $1 AND (audience = '' OR audience = $2) ORDER BY seq LIMIT $3",
                &[&(after as i64), &inspector_id, &i64::from(limit)],
            )
            .await
            .map_err(storage)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.get(1);
                Ok((
                    r.get::<_, i64>(0) as u64,
                    PullItem {
                        kind: PullKind::parse(&kind)
                            .ok_or_else(|| storage(format!("unknown kind {kind}")))?,
                        id: r.get(2),
                        version: r.get(3),
                        body: serde_json::from_str(r.get::<_, &str>(4)).map_err(storage)?,
                    },
                ))
            })
            .collect()
    }
}
