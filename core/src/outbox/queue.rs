//! 待上传队列 — the outbox rows: what must reach the provincial system, written in the same
//! transaction as the change that produced it.
//!
//! A row is removed from the work list only when the server's signed receipt names the same hash
//! (`acknowledged`), or when a person must act (`wedged`, with a reason). Rows may depend on others
//! (a record waits for its evidence blobs); a row is due only when all its dependencies are
//! acknowledged. [`super::driver`] drains it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::{
    Result,
    store::{StoreError, timestamp},
};

/// What kind of object an outbox row uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// An evidence blob and its signed manifest.
    Evidence,
    /// A signed on-site record.
    Record,
    /// A signed trail head.
    TrailHead,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Evidence => "evidence",
            OutboxKind::Record => "record",
            OutboxKind::TrailHead => "trail_head",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "evidence" => OutboxKind::Evidence,
            "record" => OutboxKind::Record,
            "trail_head" => OutboxKind::TrailHead,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub kind: OutboxKind,
    pub object_id: String,
    pub depends_on: Vec<String>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub resume_offset: i64,
    pub wedged_reason: Option<String>,
    /// The tus upload on intake this row resumes, once created.
    pub upload_url: Option<String>,
    /// The last transient failure (for the status screen; never personal data).
    pub last_error: Option<String>,
}

/// Counts by state, for the outbox status screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStatus {
    pub pending: u64,
    pub in_flight: u64,
    pub acknowledged: u64,
    pub wedged: u64,
}

/// Queues `object_id` for upload inside the caller's transaction. Enqueuing the same object twice
/// is a no-op, so a retried domain operation never produces a duplicate upload.
pub fn enqueue(
    tx: &Transaction<'_>,
    kind: OutboxKind,
    object_id: &str,
    depends_on: &[String],
) -> Result<i64> {
    let now = timestamp(Utc::now());
    let deps = serde_json::to_string(depends_on)
        .map_err(|e| StoreError::Corrupt { what: "outbox dependencies".into(), reason: e.to_string() })?;
    tx.execute(
        "INSERT INTO outbox (kind, object_id, depends_on, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (kind, object_id) DO NOTHING",
        params![kind.as_str(), object_id, deps, now],
    )
    .map_err(StoreError::sql("enqueue upload"))?;
    let id = tx
        .query_row(
            "SELECT id FROM outbox WHERE kind = ?1 AND object_id = ?2",
            params![kind.as_str(), object_id],
            |r| r.get(0),
        )
        .map_err(StoreError::sql("enqueue upload"))?;
    Ok(id)
}

/// 定稿 — queues a frozen record and then its trail head inside the freeze's transaction: the
/// record waits for every evidence item of its inspection, the trail head (`<stream>@<seq>`, the
/// head right after the freeze event) waits for the record. Returns the trail head's object id.
pub fn enqueue_frozen_record(
    tx: &Transaction<'_>,
    record_id: &str,
    evidence_ids: &[String],
    stream: &str,
    head_seq: i64,
) -> Result<String> {
    enqueue(tx, OutboxKind::Record, record_id, evidence_ids)?;
    let head = crate::protocol::trail_head::trail_head_id(stream, head_seq);
    enqueue(tx, OutboxKind::TrailHead, &head, &[record_id.to_owned()])?;
    Ok(head)
}

/// Rows whose time has come and whose dependencies are all acknowledged, oldest first.
pub fn due(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<OutboxItem>> {
    let acknowledged: std::collections::HashSet<String> = {
        let mut stmt = conn
            .prepare("SELECT object_id FROM outbox WHERE state = 'acknowledged'")
            .map_err(StoreError::sql("read outbox"))?;
        let ids = stmt.query_map([], |r| r.get(0)).map_err(StoreError::sql("read outbox"))?;
        ids.collect::<rusqlite::Result<_>>().map_err(StoreError::sql("read outbox"))?
    };
    Ok(list(conn, "WHERE state IN ('pending', 'in_flight') AND next_attempt_at <= ?1", [timestamp(now)])?
        .into_iter()
        .filter(|item| item.depends_on.iter().all(|d| acknowledged.contains(d)))
        .collect())
}

/// Every row, oldest first, for the status read model.
pub fn all(conn: &Connection) -> Result<Vec<OutboxItem>> {
    list(conn, "", [])
}

pub fn get(conn: &Connection, kind: OutboxKind, object_id: &str) -> Result<Option<OutboxItem>> {
    Ok(list(conn, "WHERE kind = ?1 AND object_id = ?2", params![kind.as_str(), object_id])?
        .into_iter()
        .next())
}

/// The receipt stored with an acknowledged row (not verified here: see `sync::receipt`).
pub fn acknowledged_receipt(conn: &Connection, kind: OutboxKind, object_id: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT receipt FROM outbox WHERE kind = ?1 AND object_id = ?2 AND state = 'acknowledged'",
            params![kind.as_str(), object_id],
            |r| r.get::<_, Option<Vec<u8>>>(0),
        )
        .optional()
        .map_err(StoreError::sql("read outbox receipt"))?
        .flatten())
}

pub fn status(conn: &Connection) -> Result<OutboxStatus> {
    let mut status = OutboxStatus::default();
    let mut stmt = conn
        .prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        .map_err(StoreError::sql("read outbox"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(StoreError::sql("read outbox"))?;
    for row in rows {
        let (state, count) = row.map_err(StoreError::sql("read outbox"))?;
        let slot = match state.as_str() {
            "pending" => &mut status.pending,
            "in_flight" => &mut status.in_flight,
            "acknowledged" => &mut status.acknowledged,
            _ => &mut status.wedged,
        };
        *slot = count as u64;
    }
    Ok(status)
}

/// Records the server's receipt: the row leaves the work list for good.
pub fn acknowledge(tx: &Transaction<'_>, id: i64, receipt: &[u8]) -> Result<()> {
    update(
        tx,
        id,
        "UPDATE outbox SET state = 'acknowledged', receipt = ?2 WHERE id = ?1",
        params![id, receipt],
    )
}

/// A failure a person must resolve (e.g. the server rejected the manifest): stop retrying.
pub fn wedge(tx: &Transaction<'_>, id: i64, reason: &str) -> Result<()> {
    update(
        tx,
        id,
        "UPDATE outbox SET state = 'wedged', wedged_reason = ?2 WHERE id = ?1",
        params![id, reason],
    )
}

/// A transient failure: try again at `next_attempt_at`, keeping how far a resumable upload got.
pub fn retry_later(
    tx: &Transaction<'_>,
    id: i64,
    next_attempt_at: DateTime<Utc>,
    resume_offset: i64,
) -> Result<()> {
    update(
        tx,
        id,
        "UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?2, resume_offset = ?3 WHERE id = ?1",
        params![id, timestamp(next_attempt_at), resume_offset],
    )
}

/// An attempt begins: the row is `in_flight` until it ends. A row found `in_flight` when the store
/// opens was cut off (app killed, battery); [`due`] returns it again and the upload resumes from
/// the offset the server reports.
pub fn start_attempt(tx: &Transaction<'_>, id: i64) -> Result<()> {
    update(
        tx,
        id,
        "UPDATE outbox SET state = 'in_flight' WHERE id = ?1 AND state IN ('pending', 'in_flight')",
        params![id],
    )
}

/// Remembers the tus upload created for this row, so a later attempt resumes it.
pub fn set_upload(tx: &Transaction<'_>, id: i64, upload_url: Option<&str>) -> Result<()> {
    update(tx, id, "UPDATE outbox SET upload_url = ?2 WHERE id = ?1", params![id, upload_url])
}

/// Records how far the server holds the upload (learnt from it, never assumed).
pub fn set_offset(tx: &Transaction<'_>, id: i64, offset: i64) -> Result<()> {
    update(tx, id, "UPDATE outbox SET resume_offset = ?2 WHERE id = ?1", params![id, offset])
}

/// A transient failure with what went wrong, for the status screen.
pub fn note_error(tx: &Transaction<'_>, id: i64, error: &str) -> Result<()> {
    update(tx, id, "UPDATE outbox SET last_error = ?2 WHERE id = ?1", params![id, error])
}

/// A person asked to try a wedged row again: it becomes due now, attempts start over.
pub fn retry_wedged(tx: &Transaction<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    update(
        tx,
        id,
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2, wedged_reason = NULL
         WHERE id = ?1 AND state = 'wedged'",
        params![id, timestamp(now)],
    )
}

fn update(tx: &Transaction<'_>, id: i64, sql: &str, params: impl rusqlite::Params) -> Result<()> {
    let changed = tx.execute(sql, params).map_err(StoreError::sql("update outbox"))?;
    if changed == 0 {
        return Err(StoreError::NotFound { what: format!("outbox item {id}") }.into());
    }
    Ok(())
}

fn list(conn: &Connection, filter: &str, params: impl rusqlite::Params) -> Result<Vec<OutboxItem>> {
    let sql = format!(
        "SELECT id, kind, object_id, depends_on, state, attempts, next_attempt_at, resume_offset, wedged_reason,
                upload_url, last_error
         FROM outbox {filter} ORDER BY id"
    );
    let mut stmt = conn.prepare(&sql).map_err(StoreError::sql("read outbox"))?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
            ))
        })
        .map_err(StoreError::sql("read outbox"))?;
    let mut items = Vec::new();
    for row in rows {
        let (
            id,
            kind,
            object_id,
            deps,
            state,
            attempts,
            next_attempt_at,
            resume_offset,
            wedged_reason,
            upload_url,
            last_error,
        ) = row.map_err(StoreError::sql("read outbox"))?;
        let corrupt =
            |reason: &str| StoreError::Corrupt { what: format!("outbox item {id}"), reason: reason.into() };
        items.push(OutboxItem {
            id,
            kind: OutboxKind::parse(&kind).ok_or_else(|| corrupt("unknown kind"))?,
            object_id,
            depends_on: serde_json::from_str(&deps)
                .map_err(|_| corrupt("dependencies are not a JSON list"))?,
            state,
            attempts,
            next_attempt_at,
            resume_offset,
            wedged_reason,
            upload_url,
            last_error,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{crypto::software_vault::KeyFileVault, store::Store};

    fn store(dir: &std::path::Path) -> Store {
        Store::open(dir.join("data"), &KeyFileVault::open_or_create(dir.join("kek")).unwrap()).unwrap()
    }

    #[test]
    fn a_record_is_not_due_until_its_evidence_is_acknowledged() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(tmp.path());
        let (ev, _rec) = store
            .write(|tx, _| {
                let ev = enqueue(tx, OutboxKind::Evidence, "ev-1", &[])?;
                let rec = enqueue(tx, OutboxKind::Record, "rec-1", &["ev-1".to_string()])?;
                Ok((ev, rec))
            })
            .unwrap();
        let due_ids = |store: &Store| {
            store
                .read(|c, _| due(c, Utc::now()))
                .unwrap()
                .into_iter()
                .map(|i| i.object_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(due_ids(&store), vec!["ev-1"]);
        store.write(|tx, _| acknowledge(tx, ev, b"receipt")).unwrap();
        assert_eq!(due_ids(&store), vec!["rec-1"]);
        let status = store.read(|c, _| status(c)).unwrap();
        assert_eq!((status.pending, status.acknowledged), (1, 1));
    }

    #[test]
    fn enqueuing_the_same_object_twice_keeps_one_row() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(tmp.path());
        let a = store.write(|tx, _| enqueue(tx, OutboxKind::Evidence, "ev-1", &[])).unwrap();
        let b = store.write(|tx, _| enqueue(tx, OutboxKind::Evidence, "ev-1", &[])).unwrap();
        assert_eq!(a, b);
        assert_eq!(store.read(|c, _| status(c)).unwrap().pending, 1);
    }

    #[test]
    fn wedged_and_backed_off_items_are_not_due() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(tmp.path());
        store
            .write(|tx, _| {
                let a = enqueue(tx, OutboxKind::Evidence, "a", &[])?;
                let b = enqueue(tx, OutboxKind::Evidence, "b", &[])?;
                wedge(tx, a, "server rejected manifest")?;
                retry_later(tx, b, Utc::now() + chrono::Duration::minutes(5), 65536)
            })
            .unwrap();
        assert!(store.read(|c, _| due(c, Utc::now())).unwrap().is_empty());
        let b = store.read(|c, _| get(c, OutboxKind::Evidence, "b")).unwrap().unwrap();
        assert_eq!((b.attempts, b.resume_offset), (1, 65536));
        let later = store.read(|c, _| due(c, Utc::now() + chrono::Duration::minutes(6))).unwrap();
        assert_eq!(later.len(), 1);
        let a = store.read(|c, _| get(c, OutboxKind::Evidence, "a")).unwrap().unwrap();
        assert_eq!(a.wedged_reason.as_deref(), Some("server rejected manifest"));
    }
}
