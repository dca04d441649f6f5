//! 全过程记录 — the hash-chained audit trail.
//!
//! Each stream (`inspection:<id>`, `device`) is an append-only chain: event `n` stores the hash of
//! event `n - 1`, and its own hash covers the stream, sequence number, time, kind, payload and that
//! previous hash. Editing, deleting or reordering any event breaks every hash after it, and the
//! database refuses UPDATE and DELETE on the table outright. Payloads are sealed with the column key
//! (they can name people); the hash is over the plaintext payload bytes exactly as sealed.
//!
//! Hash input (v1): `"fieldseal-trail-v1"` then, for each of stream, seq (decimal), at (RFC 3339),
//! kind, payload (compact JSON), prev_hash (hex): its length as u64 big-endian, then its bytes.

use ring::digest;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::{
    Result,
    crypto::{CryptoError, column::hex},
    store::{Keyring, StoreError, now_timestamp},
};

/// The hash that precedes the first event of every stream.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something that happened, to be appended to a stream's chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// `inspection:<id>` for everything on one visit, `device` for installation-wide events.
    pub stream: String,
    /// A stable, dotted name such as `inspection.started` or `evidence.sealed`.
    pub kind: String,
    pub payload: serde_json::Value,
}

impl DomainEvent {
    pub fn new(stream: impl Into<String>, kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self { stream: stream.into(), kind: kind.into(), payload }
    }
}

/// An event as stored in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrailEntry {
    pub stream: String,
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Appends `event` to its stream inside the caller's transaction, so the event commits or rolls back
/// with the change it describes.
pub fn append(tx: &Transaction<'_>, keys: &Keyring, event: &DomainEvent) -> Result<TrailEntry> {
    let (seq, prev_hash) = match head(tx, &event.stream)? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let at = now_timestamp();
    let payload_bytes = serde_json::to_vec(&event.payload)
        .map_err(|e| StoreError::Corrupt { what: "trail payload".into(), reason: e.to_string() })?;
    let hash = entry_hash(&event.stream, seq, &at, &event.kind, &payload_bytes, &prev_hash);
    let sealed = keys.column.seal(&payload_context(&event.stream, seq), &payload_bytes)?;
    tx.execute(
        "INSERT INTO trail_events (stream, seq, at, kind, payload_enc, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![event.stream, seq, at, event.kind, sealed, prev_hash, hash],
    )
    .map_err(StoreError::sql("append trail event"))?;
    Ok(TrailEntry {
        stream: event.stream.clone(),
        seq,
        at,
        kind: event.kind.clone(),
        payload: event.payload.clone(),
        prev_hash,
        hash,
    })
}

/// Reads a whole stream and checks every link; fails on the first event that does not verify.
pub fn verify_stream(conn: &Connection, keys: &Keyring, stream: &str) -> Result<Vec<TrailEntry>> {
    let mut stmt = conn
        .prepare("SELECT seq, at, kind, payload_enc, prev_hash, hash FROM trail_events WHERE stream = ?1 ORDER BY seq")
        .map_err(StoreError::sql("read trail"))?;
    let rows = stmt
        .query_map([stream], |r| {
            Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get::<_, Vec<u8>>(3)?, r.get(4)?, r.get(5)?))
        })
        .map_err(StoreError::sql("read trail"))?;
    let mut entries = Vec::new();
    let mut expected_prev = GENESIS.to_owned();
    for (index, row) in rows.enumerate() {
        let (seq, at, kind, sealed, prev_hash, hash): (i64, String, String, Vec<u8>, String, String) =
            row.map_err(StoreError::sql("read trail"))?;
        let broken = |why: &str| CryptoError::integrity(format!("trail {stream} event {seq}: {why}"));
        if seq != index as i64 + 1 {
            return Err(broken("sequence gap").into());
        }
        if prev_hash != expected_prev {
            return Err(broken("does not link to the previous event").into());
        }
        let payload_bytes = keys.column.open(&payload_context(stream, seq), &sealed)?;
        if entry_hash(stream, seq, &at, &kind, &payload_bytes, &prev_hash) != hash {
            return Err(broken("content does not match its hash").into());
        }
        let payload = serde_json::from_slice(&payload_bytes).map_err(|_| broken("payload is not JSON"))?;
        expected_prev = hash.clone();
        entries.push(TrailEntry { stream: stream.to_owned(), seq, at, kind, payload, prev_hash, hash });
    }
    Ok(entries)
}

/// The latest event's sequence number and hash: what gets signed at freeze.
pub fn head(conn: &Connection, stream: &str) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT seq, hash FROM trail_events WHERE stream = ?1 ORDER BY seq DESC LIMIT 1",
            [stream],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(StoreError::sql("read trail head"))?)
}

fn payload_context(stream: &str, seq: i64) -> String {
    format!("trail_events.payload:{stream}:{seq}")
}

fn entry_hash(stream: &str, seq: i64, at: &str, kind: &str, payload: &[u8], prev_hash: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"fieldseal-trail-v1");
    let seq = seq.to_string();
    for field in
        [stream.as_bytes(), seq.as_bytes(), at.as_bytes(), kind.as_bytes(), payload, prev_hash.as_bytes()]
    {
        ctx.update(&(field.len() as u64).to_be_bytes());
        ctx.update(field);
    }
    hex(ctx.finish().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{crypto::software_vault::KeyFileVault, store::Store};
    use serde_json::json;

    fn store(dir: &std::path::Path) -> Store {
        Store::open(dir.join("data"), &KeyFileVault::open_or_create(dir.join("kek")).unwrap()).unwrap()
    }

    fn append_three(store: &Store) {
        for (i, kind) in ["inspection.started", "inspection.checked_in", "answer.set"].iter().enumerate() {
            store
                .write(|tx, keys| {
                    append(tx, keys, &DomainEvent::new("inspection:A", *kind, json!({ "n": i })))
                })
                .unwrap();
        }
    }

    #[test]
    fn events_chain_and_verify() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(tmp.path());
        append_three(&store);
        store
            .write(|tx, keys| append(tx, keys, &DomainEvent::new("device", "device.opened", json!({}))))
            .unwrap();
        let entries = store.read(|c, k| verify_stream(c, k, "inspection:A")).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].prev_hash, GENESIS);
        assert_eq!(entries[1].prev_hash, entries[0].hash);
        assert_eq!(entries[2].payload, json!({ "n": 2 }));
        assert_eq!(store.read(|c, _| head(c, "inspection:A")).unwrap().unwrap().0, 3);
        assert_eq!(store.read(|c, k| verify_stream(c, k, "device")).unwrap().len(), 1);
    }

    #[test]
    fn the_database_refuses_to_edit_or_delete_trail_events() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(tmp.path());
        append_three(&store);
        let edit = store.write(|tx, _| {
            tx.execute("UPDATE trail_events SET kind = 'x' WHERE seq = 2", [])
                .map_err(StoreError::sql("t"))?;
            Ok(())
        });
        assert!(edit.is_err());
        let delete = store.write(|tx, _| {
            tx.execute("DELETE FROM trail_events WHERE seq = 3", []).map_err(StoreError::sql("t"))?;
            Ok(())
        });
        assert!(delete.is_err());
        assert_eq!(store.read(|c, k| verify_stream(c, k, "inspection:A")).unwrap().len(), 3);
    }

    /// With the triggers dropped (someone editing the file directly), the hashes still catch it.
    #[test]
    fn editing_any_event_directly_in_the_file_breaks_verification() {
        for (column, value) in
            [("kind", "'answer.forged'"), ("at", "'2020-01-01T00:00:00.000Z'"), ("seq", "seq + 10")]
        {
            let tmp = tempfile::tempdir().unwrap();
            let store = store(tmp.path());
            append_three(&store);
            store
                .write(|tx, _| {
                    tx.execute_batch(&format!(
                        "DROP TRIGGER trail_events_no_update; UPDATE trail_events SET {column} = {value} WHERE seq = 2;"
                    ))
                    .map_err(StoreError::sql("tamper"))?;
                    Ok(())
                })
                .unwrap();
            let err = store.read(|c, k| verify_stream(c, k, "inspection:A")).unwrap_err();
            assert_eq!(err.explain().code, "crypto.integrity", "{column}");
        }
    }

    #[test]
    fn swapping_payloads_between_events_breaks_verification() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(tmp.path());
        append_three(&store);
        store
            .write(|tx, _| {
                tx.execute_batch(
                    "DROP TRIGGER trail_events_no_update;
                     UPDATE trail_events SET payload_enc = (SELECT payload_enc FROM trail_events WHERE seq = 1) WHERE seq = 2;",
                )
                .map_err(StoreError::sql("tamper"))?;
                Ok(())
            })
            .unwrap();
        assert!(store.read(|c, k| verify_stream(c, k, "inspection:A")).is_err());
    }

    #[test]
    fn a_rolled_back_change_leaves_no_event() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(tmp.path());
        let result: Result<()> = store.write(|tx, keys| {
            append(tx, keys, &DomainEvent::new("inspection:B", "answer.set", json!({})))?;
            Err(StoreError::NotFound { what: "item".into() }.into())
        });
        assert!(result.is_err());
        assert!(store.read(|c, k| verify_stream(c, k, "inspection:B")).unwrap().is_empty());
    }
}
