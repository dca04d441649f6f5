//! 检查密文 — how an inspection is sealed in `inspections.body_enc`, bound to its revision and to
//! its trail (issue 10, finding 3).
//!
//! - The revision is in the encryption context (`inspections.body:<id>:r<revision>`), so a body only
//!   opens beside the revision it was written with.
//! - The head of the inspection's trail stream (`inspection:<id>`) when the body was written is
//!   inside the sealed body. Every append to that stream — the inspection's own events, and those
//!   of evidence, records and exports — moves the head; [`follow_trail`] moves the body's recorded
//!   head with it in the same transaction.
//!
//! An older ciphertext of the row (left in the `-wal`, in a backup, or put back by hand together
//! with its old revision) still decrypts, but names a head the trail has moved past: [`open`]
//! refuses it with [`StoreError::InspectionOlderThanTrail`] instead of loading an inspection with
//! fewer answers than its trail records. A body whose head is *ahead of* or not on its trail (the
//! trail cut short, or a body from another installation) is refused as
//! [`StoreError::InspectionTrailMismatch`].
//!
//! Beside the body, every write seals the task list's summary with the same head
//! ([`super::inspection_summary`]).

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub(super) use super::trail_binding::TrailHead;
use super::{
    Keyring, StoreError, inspection_summary,
    trail_binding::{
        Expected, FORMAT, STREAM_PREFIX, Standing, corrupt, current_head, followed, open_json, seal_json,
        standing,
    },
};
use crate::{Result, model::Inspection, trail::TrailEntry};

/// What `body_enc` holds once opened, format [`FORMAT`] (1 was the bare inspection under
/// `inspections.body:<id>`, converted by migration 7).
#[derive(Serialize, Deserialize)]
struct SealedBody<T> {
    v: u32,
    /// The stream's last event when this body was written; `None` before the first event.
    trail_head: Option<TrailHead>,
    inspection: T,
}

fn context(id: &str, revision: u64) -> String {
    format!("inspections.body:{id}:r{revision}")
}

fn what(id: &str) -> String {
    format!("inspection {id}")
}

fn seal_body<T: Serialize>(keys: &Keyring, id: &str, revision: u64, body: &SealedBody<T>) -> Result<Vec<u8>> {
    seal_json(keys, &context(id, revision), body, &what(id))
}

fn open_body<T: DeserializeOwned>(
    keys: &Keyring,
    id: &str,
    revision: u64,
    sealed: &[u8],
) -> Result<SealedBody<T>> {
    open_json(keys, &context(id, revision), sealed, &what(id), |b: &SealedBody<T>| b.v)
}

/// An inspection's two ciphertexts: its body (`inspections.body_enc`) and its task summary
/// (`inspection_summaries.summary_enc`).
pub(super) struct SealedRow {
    pub(super) body: Vec<u8>,
    pub(super) summary: Vec<u8>,
}

/// Seals `inspection` and its task summary with the current head of its stream: call it after the
/// operation's events were appended, in the same transaction, and store both.
pub(super) fn seal(conn: &Connection, keys: &Keyring, inspection: &Inspection) -> Result<SealedRow> {
    let id = inspection.id();
    let trail_head = current_head(conn, id)?;
    let summary = inspection_summary::seal(keys, inspection, trail_head.as_ref())?;
    let body = SealedBody { v: FORMAT, trail_head, inspection };
    Ok(SealedRow { body: seal_body(keys, id, inspection.revision(), &body)?, summary })
}

/// Opens the body of row `id` stored with `revision`, and refuses it unless it is as new as its
/// trail (see the module header).
pub(super) fn open(
    conn: &Connection,
    keys: &Keyring,
    id: &str,
    revision: u64,
    sealed: &[u8],
) -> Result<Inspection> {
    let body: SealedBody<Inspection> = open_body(keys, id, revision, sealed)?;
    if body.inspection.id() != id || body.inspection.revision() != revision {
        return Err(corrupt(&what(id), "the sealed inspection names another id or revision than its row"));
    }
    match standing(conn, id, body.trail_head.as_ref(), Expected::Current)? {
        Standing::Current => Ok(body.inspection),
        Standing::Older { stored_seq, trail_seq } => Err(StoreError::InspectionOlderThanTrail {
            inspection_id: id.to_owned(),
            revision,
            stored_seq,
            trail_seq,
        }
        .into()),
        Standing::Mismatch { stored_seq, trail_seq } => {
            Err(StoreError::InspectionTrailMismatch { inspection_id: id.to_owned(), stored_seq, trail_seq }
                .into())
        }
    }
}

/// Moves the stored body's recorded head to `appended`, which was just appended to an inspection's
/// stream by someone other than the inspection's own save (evidence sealed, a record signed, a
/// bundle exported), so the body stays as new as its trail.
///
/// A body that was *not* current before this append (rolled back, damaged, from another key) is
/// left as it is, so it is still refused on load: following the trail never launders a stale body
/// and never fails the append that triggered it. The task summary follows by the same rule.
pub(super) fn follow_trail(tx: &Transaction<'_>, keys: &Keyring, appended: &TrailEntry) -> Result<()> {
    let Some(id) = appended.stream.strip_prefix(STREAM_PREFIX) else { return Ok(()) };
    let row: Option<(i64, Vec<u8>, Option<Vec<u8>>)> = tx
        .query_row(
            "SELECT i.revision, i.body_enc, s.summary_enc FROM inspections i
             LEFT JOIN inspection_summaries s ON s.inspection_id = i.id WHERE i.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(StoreError::sql("read inspection"))?;
    let Some((revision, sealed, summary)) = row else { return Ok(()) };
    let revision = revision.max(0) as u64;
    // The inspection stays opaque JSON here: only its head changes.
    let Ok(mut body) = open_body::<serde_json::Value>(keys, id, revision, &sealed) else { return Ok(()) };
    let Some(head_after) = followed(body.trail_head.as_ref(), appended) else { return Ok(()) };
    // A summary not at the body's head stays as it is (the list then reads the body).
    if let Some(summary) = summary {
        let followed =
            inspection_summary::follow(keys, id, revision, &summary, body.trail_head.as_ref(), &head_after)?;
        if let Some(followed) = followed {
            inspection_summary::store(tx, id, &followed)?;
        }
    }
    body.trail_head = Some(head_after);
    tx.execute(
        "UPDATE inspections SET body_enc = ?2 WHERE id = ?1",
        params![id, seal_body(keys, id, revision, &body)?],
    )
    .map_err(StoreError::sql("save inspection"))?;
    Ok(())
}

/// Migration 13: every inspection whose body opens (and is as new as its trail) gets its task
/// summary. A body that does not open is left without one: the list keeps reporting it as before.
pub(super) fn seal_summaries(tx: &Transaction<'_>, keys: Option<&Keyring>) -> Result<()> {
    let rows = stored_rows(tx)?;
    if rows.is_empty() {
        return Ok(());
    }
    let keys = keys.ok_or_else(|| StoreError::KeyringMissing { found: "table inspections".into() })?;
    for (id, revision, sealed) in rows {
        let Ok(inspection) = open(tx, keys, &id, revision, &sealed) else { continue };
        let summary = inspection_summary::seal(keys, &inspection, current_head(tx, &id)?.as_ref())?;
        inspection_summary::store(tx, &id, &summary)?;
    }
    Ok(())
}

/// Migration 7: every format-1 body (the bare inspection under `inspections.body:<id>`) is sealed
/// again as format 2 with its revision and its stream's head at upgrade time. Nothing older is
/// known to compare with, so the upgrade trusts the store as it finds it.
pub(super) fn upgrade_to_format_2(tx: &Transaction<'_>, keys: Option<&Keyring>) -> Result<()> {
    let rows = stored_rows(tx)?;
    if rows.is_empty() {
        return Ok(());
    }
    let keys = keys.ok_or_else(|| StoreError::KeyringMissing { found: "table inspections".into() })?;
    for (id, revision, sealed) in rows {
        // A row that does not open (damaged before the upgrade) is left as it is: it stays
        // unreadable and reported by the lists, and does not stop the store from opening.
        let Ok(json) = keys.column.open(&format!("inspections.body:{id}"), &sealed) else { continue };
        let Ok(inspection) = serde_json::from_slice::<serde_json::Value>(&json) else { continue };
        let body = SealedBody { v: FORMAT, trail_head: current_head(tx, &id)?, inspection };
        tx.execute(
            "UPDATE inspections SET body_enc = ?2 WHERE id = ?1",
            params![id, seal_body(keys, &id, revision, &body)?],
        )
        .map_err(StoreError::sql("upgrade inspection body"))?;
    }
    Ok(())
}

/// Every inspection row as a migration reads it: id, revision and sealed body.
fn stored_rows(tx: &Transaction<'_>) -> Result<Vec<(String, u64, Vec<u8>)>> {
    let mut stmt = tx
        .prepare("SELECT id, revision, body_enc FROM inspections")
        .map_err(StoreError::sql("read inspections"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64, r.get(2)?)))
        .map_err(StoreError::sql("read inspections"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::sql("read inspections"))?;
    Ok(rows)
}
