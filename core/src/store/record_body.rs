//! 笔录密文 — how a record document (现场检查笔录 or an addendum) is sealed in `records.body_enc`,
//! bound to its revision and to its inspection's trail, as inspection bodies are
//! ([`super::inspection_body`]; issue 10, finding 3 for records).
//!
//! - The revision is in the encryption context (`records.body:<id>:r<revision>`), so a document
//!   only opens beside the revision it was written with.
//! - The head of the inspection's trail stream (`inspection:<inspection id>`) when the document
//!   was written is inside the sealed body. While the record is a draft, every append to that
//!   stream moves the head; [`follow_trail`] moves each draft's recorded head with it in the same
//!   transaction. Freezing stops that: a frozen row never changes again (the database refuses it),
//!   so a frozen body keeps the head of its `record.frozen` event, the head its freeze statement
//!   signs.
//!
//! An older ciphertext of a draft (left in a backup, or put back by hand together with its old
//! revision and document hash) still decrypts, but names a head the trail has moved past: [`open`]
//! refuses it with [`StoreError::RecordOlderThanTrail`] instead of showing for signature a record
//! older than what its trail records (an earlier revision, without the findings or photos added
//! since). A body whose head is ahead of or not on its trail is refused as
//! [`StoreError::RecordTrailMismatch`]. This module knows nothing of the record's content: the
//! document stays an opaque `T` here, so the store does not depend on [`crate::record`].

use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub use super::trail_binding::{Expected, TrailHead};
use super::{
    Keyring, StoreError,
    trail_binding::{
        FORMAT, STREAM_PREFIX, Standing, current_head, followed, open_json, seal_json, standing,
    },
};
use crate::{Result, trail::TrailEntry};

/// What `body_enc` holds once opened, format [`FORMAT`] (1 was the bare canonical document under
/// `records.body:<id>`, converted by migration 12).
#[derive(Serialize, Deserialize)]
struct SealedBody<T> {
    v: u32,
    /// The inspection stream's last event when this body was written; `None` before the first.
    trail_head: Option<TrailHead>,
    document: T,
}

fn context(id: &str, revision: u32) -> String {
    format!("records.body:{id}:r{revision}")
}

fn what(id: &str) -> String {
    format!("record {id}")
}

fn seal_body<T: Serialize>(keys: &Keyring, id: &str, revision: u32, body: &SealedBody<T>) -> Result<Vec<u8>> {
    seal_json(keys, &context(id, revision), body, &what(id))
}

fn open_body<T: DeserializeOwned>(
    keys: &Keyring,
    id: &str,
    revision: u32,
    sealed: &[u8],
) -> Result<SealedBody<T>> {
    open_json(keys, &context(id, revision), sealed, &what(id), |b: &SealedBody<T>| b.v)
}

/// Seals `document` (revision `revision` of record `id`) with the current head of its
/// inspection's stream: call it before the operation's event is appended, in the same
/// transaction; the append then moves the head ([`follow_trail`]).
pub fn seal<T: Serialize>(
    conn: &Connection,
    keys: &Keyring,
    id: &str,
    inspection_id: &str,
    revision: u32,
    document: &T,
) -> Result<Vec<u8>> {
    let body = SealedBody { v: FORMAT, trail_head: current_head(conn, inspection_id)?, document };
    seal_body(keys, id, revision, &body)
}

/// Opens the document of record row `id` stored with `revision`, and refuses it unless it names
/// the head `expected` asks for (see the module header).
pub fn open<T: DeserializeOwned>(
    conn: &Connection,
    keys: &Keyring,
    id: &str,
    inspection_id: &str,
    revision: u32,
    expected: Expected<'_>,
    sealed: &[u8],
) -> Result<T> {
    let body: SealedBody<T> = open_body(keys, id, revision, sealed)?;
    let record_id = id.to_owned();
    match standing(conn, inspection_id, body.trail_head.as_ref(), expected)? {
        Standing::Current => Ok(body.document),
        Standing::Older { stored_seq, trail_seq } => {
            Err(StoreError::RecordOlderThanTrail { record_id, revision, stored_seq, trail_seq }.into())
        }
        Standing::Mismatch { stored_seq, trail_seq } => {
            Err(StoreError::RecordTrailMismatch { record_id, stored_seq, trail_seq }.into())
        }
    }
}

/// Moves the recorded head of every draft record of the inspection whose stream `appended` was
/// just added to, so each draft stays as new as its trail.
///
/// A draft that was *not* current before this append (rolled back, damaged, from another key) is
/// left as it is, so it is still refused on load: following never launders a stale body and
/// never fails the append that triggered it.
pub fn follow_trail(tx: &Transaction<'_>, keys: &Keyring, appended: &TrailEntry) -> Result<()> {
    let Some(inspection_id) = appended.stream.strip_prefix(STREAM_PREFIX) else { return Ok(()) };
    let drafts = {
        let mut stmt = tx
            .prepare(
                "SELECT id, revision, body_enc FROM records WHERE inspection_id = ?1 AND state = 'draft'",
            )
            .map_err(StoreError::sql("read draft records"))?;
        stmt.query_map([inspection_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, Vec<u8>>(2)?))
        })
        .map_err(StoreError::sql("read draft records"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::sql("read draft records"))?
    };
    for (id, revision, sealed) in drafts {
        // The document stays opaque JSON here: only its head changes.
        let Ok(mut body) = open_body::<serde_json::Value>(keys, &id, revision, &sealed) else { continue };
        let Some(head_after) = followed(body.trail_head.as_ref(), appended) else { continue };
        body.trail_head = Some(head_after);
        tx.execute(
            "UPDATE records SET body_enc = ?2 WHERE id = ?1 AND state = 'draft'",
            params![id, seal_body(keys, &id, revision, &body)?],
        )
        .map_err(StoreError::sql("save record"))?;
    }
    Ok(())
}

/// Migration 12: every format-1 document (the bare canonical document under `records.body:<id>`)
/// is sealed again as format 2 with its revision and a trail head: a draft gets its stream's head
/// at upgrade time, a frozen record the head its freeze statement signed. Nothing older is known
/// to compare a draft with, so the upgrade trusts the store as it finds it.
pub(super) fn upgrade_to_format_2(tx: &Transaction<'_>, keys: Option<&Keyring>) -> Result<()> {
    type Row = (String, String, u32, String, Vec<u8>, Option<Vec<u8>>);
    let rows: Vec<Row> = {
        let mut stmt = tx
            .prepare("SELECT id, inspection_id, revision, state, body_enc, freeze_enc FROM records")
            .map_err(StoreError::sql("read records"))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .map_err(StoreError::sql("read records"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::sql("read records"))?
    };
    if rows.is_empty() {
        return Ok(());
    }
    let keys = keys.ok_or_else(|| StoreError::KeyringMissing { found: "table records".into() })?;
    for (id, inspection_id, revision, state, sealed, freeze) in rows {
        // A row that does not open (damaged before the upgrade) is left as it is: it stays
        // unreadable and reported on load, and does not stop the store from opening.
        let Ok(text) = keys.column.open(&format!("records.body:{id}"), &sealed) else { continue };
        let Ok(document) = serde_json::from_slice::<serde_json::Value>(&text) else { continue };
        let trail_head = if state == "frozen" {
            let Some(head) = freeze.as_deref().and_then(|f| signed_freeze_head(keys, &id, f)) else {
                continue;
            };
            Some(head)
        } else {
            current_head(tx, &inspection_id)?
        };
        let body = SealedBody { v: FORMAT, trail_head, document };
        tx.execute(
            "UPDATE records SET body_enc = ?2 WHERE id = ?1",
            params![id, seal_body(keys, &id, revision, &body)?],
        )
        .map_err(StoreError::sql("upgrade record body"))?;
    }
    Ok(())
}

/// The trail head a sealed freeze envelope (`records.freeze:<id>`) signs, read as plain JSON
/// (`payload.trail_head`); `None` when it does not open or has none.
fn signed_freeze_head(keys: &Keyring, id: &str, sealed: &[u8]) -> Option<TrailHead> {
    let json = keys.column.open(&format!("records.freeze:{id}"), sealed).ok()?;
    let envelope: serde_json::Value = serde_json::from_slice(&json).ok()?;
    serde_json::from_value(envelope.get("payload")?.get("trail_head")?.clone())
        .ok()
        .map(|h: FreezeHead| TrailHead { seq: h.seq, hash: h.hash })
}

#[derive(Deserialize)]
struct FreezeHead {
    seq: i64,
    hash: String,
}
