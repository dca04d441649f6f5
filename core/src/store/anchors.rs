//! 锚定 in SQLite: the signed trail heads (see [`crate::trail::anchor`] for what they are and how
//! they are checked). Rows are append-only; the one later change allowed is the server's
//! countersignature, once.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Keyring, StoreError, inspections, trail};
use crate::{
    Result,
    crypto::{CryptoError, DeviceSigner},
    protocol::SignedEnvelope,
    trail::{
        GENESIS,
        anchor::{
            StoredAnchor, TRAIL_HEAD_TYPE, TRAIL_HEAD_VERSION, TrailCheckpoint, TrailHeadStatement,
            evidence_sealed_up_to,
        },
    },
};

/// Signs the head of `stream` with the device key and stores the anchor, inside the caller's
/// transaction, so the anchor commits with the change it anchors (or neither does). A no-op
/// (`None`) for a stream without events or already anchored at its head. Returns the new
/// checkpoint, which the caller hands to the platform's checkpoint store after the commit.
pub fn sign_head(
    tx: &Transaction<'_>,
    keys: &Keyring,
    signer: &dyn DeviceSigner,
    stream: &str,
    at: &str,
) -> Result<Option<TrailCheckpoint>> {
    let Some((seq, head)) = trail::head(tx, stream)? else { return Ok(None) };
    if latest_of(tx, stream)?.is_some_and(|(s, h)| s == seq && h == head) {
        return Ok(None);
    }
    let entries = trail::entries(tx, keys, stream)?;
    let state = match stream.strip_prefix("inspection:") {
        Some(id) => Some(inspections::load_inspection(tx, keys, id)?.state().code().to_owned()),
        None => None,
    };
    let previous = latest(tx)?;
    let statement = TrailHeadStatement {
        statement: TRAIL_HEAD_TYPE.to_owned(),
        v: TRAIL_HEAD_VERSION,
        counter: previous.as_ref().map_or(1, |p| p.counter + 1),
        prev_anchor: previous.map_or_else(|| GENESIS.to_owned(), |p| p.anchor_hash),
        stream: stream.to_owned(),
        seq,
        head,
        state,
        evidence_sealed: evidence_sealed_up_to(&entries, seq),
        at: at.to_owned(),
    };
    let hash = statement.anchor_hash().map_err(|e| CryptoError::integrity(e.to_string()))?;
    let payload = serde_json::to_value(&statement)
        .map_err(|e| CryptoError::integrity(format!("trail head statement: {e}")))?;
    let envelope = SignedEnvelope::seal(&payload, signer)?;
    insert(tx, keys, &statement, &hash, &envelope)?;
    Ok(Some(TrailCheckpoint { counter: statement.counter, anchor_hash: hash }))
}

/// Stores a signed head inside the caller's transaction. `anchor_hash` is the statement's.
pub fn insert(
    tx: &Transaction<'_>,
    keys: &Keyring,
    statement: &TrailHeadStatement,
    anchor_hash: &str,
    envelope: &SignedEnvelope,
) -> Result<()> {
    let counter = i64::try_from(statement.counter).map_err(|_| StoreError::Corrupt {
        what: "trail anchor".into(),
        reason: "counter beyond 2^63".into(),
    })?;
    let sealed = keys.column.seal_str(&context(statement.counter), &envelope.to_json_string()?)?;
    tx.execute(
        "INSERT INTO trail_anchors (counter, stream, seq, head_hash, anchor_hash, envelope_enc, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![counter, statement.stream, statement.seq, statement.head, anchor_hash, sealed, statement.at],
    )
    .map_err(StoreError::sql("save trail anchor"))?;
    Ok(())
}

/// Every anchor in counter order, envelopes opened (not verified: see
/// [`crate::trail::anchor::verify_anchors`]).
pub fn all(conn: &Connection, keys: &Keyring) -> Result<Vec<StoredAnchor>> {
    let mut stmt = conn
        .prepare("SELECT counter, envelope_enc FROM trail_anchors ORDER BY counter")
        .map_err(StoreError::sql("read trail anchors"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(StoreError::sql("read trail anchors"))?;
    rows.map(|row| {
        let (counter, sealed) = row.map_err(StoreError::sql("read trail anchors"))?;
        opened(keys, counter, &sealed)
    })
    .collect()
}

fn opened(keys: &Keyring, counter: i64, sealed: &[u8]) -> Result<StoredAnchor> {
    let counter = u64::try_from(counter).map_err(|_| StoreError::Corrupt {
        what: "trail anchor".into(),
        reason: "negative counter".into(),
    })?;
    let text = keys.column.open_string(&context(counter), sealed)?;
    Ok(StoredAnchor { counter, envelope: SignedEnvelope::from_json_str(&text)? })
}

/// The anchors from `counter` on, in counter order, envelopes opened (not verified: see
/// [`crate::trail::anchor::verify_anchors_since`]). At open this is the checkpoint's anchor and the
/// few a crash may have left beyond it, not the whole chain.
pub fn since(conn: &Connection, keys: &Keyring, counter: u64) -> Result<Vec<StoredAnchor>> {
    let from = i64::try_from(counter).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare("SELECT counter, envelope_enc FROM trail_anchors WHERE counter >= ?1 ORDER BY counter")
        .map_err(StoreError::sql("read trail anchors"))?;
    let rows = stmt
        .query_map([from], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(StoreError::sql("read trail anchors"))?;
    rows.map(|row| {
        let (counter, sealed) = row.map_err(StoreError::sql("read trail anchors"))?;
        opened(keys, counter, &sealed)
    })
    .collect()
}

/// How many anchors there are and the highest counter: equal when no counter is missing.
pub fn counter_span(conn: &Connection) -> Result<(u64, u64)> {
    let (count, max): (i64, Option<i64>) = conn
        .query_row("SELECT count(*), max(counter) FROM trail_anchors", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(StoreError::sql("count trail anchors"))?;
    Ok((count.max(0) as u64, max.unwrap_or(0).max(0) as u64))
}

/// The anchors of one stream in counter order, envelopes opened (what a bundle carries: the other
/// streams' anchors name other inspections).
pub fn of_stream(conn: &Connection, keys: &Keyring, stream: &str) -> Result<Vec<StoredAnchor>> {
    let mut stmt = conn
        .prepare("SELECT counter, envelope_enc FROM trail_anchors WHERE stream = ?1 ORDER BY counter")
        .map_err(StoreError::sql("read trail anchors"))?;
    let rows = stmt
        .query_map([stream], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(StoreError::sql("read trail anchors"))?;
    let mut out = Vec::new();
    for row in rows {
        let (counter, sealed) = row.map_err(StoreError::sql("read trail anchors"))?;
        let counter = u64::try_from(counter).map_err(|_| StoreError::Corrupt {
            what: "trail anchor".into(),
            reason: "negative counter".into(),
        })?;
        let text = keys.column.open_string(&context(counter), &sealed)?;
        out.push(StoredAnchor { counter, envelope: SignedEnvelope::from_json_str(&text)? });
    }
    Ok(out)
}

/// The newest anchor's counter and hash, as the checkpoint records it.
pub fn latest(conn: &Connection) -> Result<Option<TrailCheckpoint>> {
    let row = conn
        .query_row("SELECT counter, anchor_hash FROM trail_anchors ORDER BY counter DESC LIMIT 1", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()
        .map_err(StoreError::sql("read latest trail anchor"))?;
    Ok(row.map(|(counter, anchor_hash)| TrailCheckpoint { counter: counter.max(0) as u64, anchor_hash }))
}

/// The newest anchor of `stream`: `(seq, head hash)`.
pub fn latest_of(conn: &Connection, stream: &str) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT seq, head_hash FROM trail_anchors WHERE stream = ?1 ORDER BY counter DESC LIMIT 1",
            [stream],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(StoreError::sql("read trail anchor"))?)
}

/// The oldest anchor of `stream` at or after event `seq`: `(counter, anchor hash)`. Fixed once it
/// exists (anchors are append-only and a stream's anchored seq only grows), so every attempt to
/// send a trail head names the same one.
pub fn first_of_at_or_after(conn: &Connection, stream: &str, seq: i64) -> Result<Option<(u64, String)>> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT counter, anchor_hash FROM trail_anchors WHERE stream = ?1 AND seq >= ?2
             ORDER BY counter LIMIT 1",
            params![stream, seq],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(StoreError::sql("read trail anchor"))?;
    Ok(row.map(|(counter, hash)| (counter.max(0) as u64, hash)))
}

/// Every filled countersignature slot, by counter (not verified: see
/// [`crate::sync::receipt::Countersignature::check`]).
pub fn countersignatures(conn: &Connection) -> Result<Vec<(u64, Vec<u8>)>> {
    let mut stmt = conn
        .prepare("SELECT counter, countersignature FROM trail_anchors WHERE countersignature IS NOT NULL ORDER BY counter")
        .map_err(StoreError::sql("read anchor countersignatures"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(StoreError::sql("read anchor countersignatures"))?;
    let mut out = Vec::new();
    for row in rows {
        let (counter, bytes) = row.map_err(StoreError::sql("read anchor countersignatures"))?;
        out.push((counter.max(0) as u64, bytes));
    }
    Ok(out)
}

/// The server's countersignature slot: sync stores intake's verified receipt for the trail-head
/// statement naming this anchor's hash here (a [`crate::sync::receipt::Countersignature`]).
/// Refused by the database when the anchor already has one.
pub fn set_countersignature(tx: &Transaction<'_>, counter: u64, countersignature: &[u8]) -> Result<()> {
    let counter = i64::try_from(counter).map_err(|_| StoreError::Corrupt {
        what: "trail anchor".into(),
        reason: "counter beyond 2^63".into(),
    })?;
    let changed = tx
        .execute(
            "UPDATE trail_anchors SET countersignature = ?2 WHERE counter = ?1",
            params![counter, countersignature],
        )
        .map_err(StoreError::sql("save anchor countersignature"))?;
    if changed == 0 {
        return Err(StoreError::NotFound { what: format!("trail anchor {counter}") }.into());
    }
    Ok(())
}

fn context(counter: u64) -> String {
    format!("trail_anchors.envelope:{counter}")
}
