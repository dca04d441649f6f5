//! 全过程记录 in SQLite: append inside the caller's transaction, read back and verify. The chain
//! itself (event hash, link check) is [`crate::trail`]'s, which knows nothing of the database.
//!
//! Payloads and salts are sealed with the column key (payloads can name people; salts keep a
//! database file alone from confirming a guessed payload); the hash is over the plaintext exactly
//! as specified in [`super::chain`].

use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Keyring, StoreError, clock_timestamp};
use crate::{
    Result,
    crypto::{CryptoError, column::hex},
    trail::{ChainBreak, DomainEvent, GENESIS, TRAIL_FORMAT, TrailEntry, event_hash, verify_chain},
};

/// Appends `event` to its stream inside the caller's transaction, so the event commits or rolls back
/// with the change it describes. An event in an inspection's stream also moves the head recorded in
/// that inspection's sealed body (see [`super::inspection_body`]), so the body stays as new as its
/// trail; draft records of the inspection follow it too (see [`super::record_body`]).
pub fn append(tx: &Transaction<'_>, keys: &Keyring, event: &DomainEvent) -> Result<TrailEntry> {
    let entry = append_unfollowed(tx, keys, event)?;
    super::inspection_body::follow_trail(tx, keys, &entry)?;
    Ok(entry)
}

/// [`append`] without moving the inspection body's head: only for the inspection's own save, which
/// seals a new body with the new head right after. Draft records of the inspection still follow
/// (an inspection saved while its record is a draft, as freezing does).
pub(super) fn append_unfollowed(
    tx: &Transaction<'_>,
    keys: &Keyring,
    event: &DomainEvent,
) -> Result<TrailEntry> {
    let (seq, prev_hash) = match head(tx, &event.stream)? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let mut salt = [0u8; 32];
    SystemRandom::new().fill(&mut salt).map_err(|_| CryptoError::Random)?;
    let mut entry = TrailEntry {
        v: TRAIL_FORMAT,
        stream: event.stream.clone(),
        seq,
        // The installation's clock, not the system's: tests and demos fix the time of the trail.
        at: clock_timestamp(tx)?,
        kind: event.kind.clone(),
        payload: event.payload.clone(),
        prev_hash,
        salt: Some(hex(&salt)),
        hash: String::new(),
    };
    entry.hash = event_hash(&entry).map_err(|e| StoreError::Corrupt {
        what: format!("trail event {}", event.kind),
        reason: e.to_string(),
    })?;
    let payload_bytes = serde_json::to_vec(&entry.payload)
        .map_err(|e| StoreError::Corrupt { what: "trail payload".into(), reason: e.to_string() })?;
    let sealed = keys.column.seal(&payload_context(&entry.stream, seq), &payload_bytes)?;
    let sealed_salt = keys.column.seal(&salt_context(&entry.stream, seq), &salt)?;
    tx.execute(
        "INSERT INTO trail_events (stream, seq, at, kind, payload_enc, prev_hash, hash, format, salt_enc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            entry.stream,
            seq,
            entry.at,
            entry.kind,
            sealed,
            entry.prev_hash,
            entry.hash,
            TRAIL_FORMAT,
            sealed_salt
        ],
    )
    .map_err(StoreError::sql("append trail event"))?;
    super::record_body::follow_trail(tx, keys, &entry)?;
    Ok(entry)
}

/// Reads a whole stream with payloads and salts opened, without checking it (see [`verify_stream`]).
pub fn entries(conn: &Connection, keys: &Keyring, stream: &str) -> Result<Vec<TrailEntry>> {
    let mut stmt = conn
        .prepare(
            "SELECT seq, at, kind, payload_enc, prev_hash, hash, format, salt_enc FROM trail_events
             WHERE stream = ?1 ORDER BY seq",
        )
        .map_err(StoreError::sql("read trail"))?;
    let rows = stmt
        .query_map([stream], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, u32>(6)?,
                r.get::<_, Option<Vec<u8>>>(7)?,
            ))
        })
        .map_err(StoreError::sql("read trail"))?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, at, kind, sealed, prev_hash, hash, v, sealed_salt) =
            row.map_err(StoreError::sql("read trail"))?;
        let broken = |why: &str| CryptoError::integrity(format!("trail {stream} event {seq}: {why}"));
        let payload_bytes = keys.column.open(&payload_context(stream, seq), &sealed)?;
        let payload = serde_json::from_slice(&payload_bytes).map_err(|_| broken("payload is not JSON"))?;
        let salt = match sealed_salt {
            Some(s) => Some(hex(&keys.column.open(&salt_context(stream, seq), &s)?)),
            None => None,
        };
        out.push(TrailEntry { v, stream: stream.to_owned(), seq, at, kind, payload, prev_hash, salt, hash });
    }
    Ok(out)
}

/// Reads a whole stream and checks every link; fails on the first event that does not verify.
pub fn verify_stream(conn: &Connection, keys: &Keyring, stream: &str) -> Result<Vec<TrailEntry>> {
    let entries = entries(conn, keys, stream)?;
    verify_chain(stream, &entries)
        .map_err(|e: ChainBreak| CryptoError::integrity(format!("trail {stream} {e}")))?;
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

/// The hash of event `seq` of `stream`, if the trail holds it.
pub fn hash_at(conn: &Connection, stream: &str, seq: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT hash FROM trail_events WHERE stream = ?1 AND seq = ?2",
            params![stream, seq],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::sql("read trail event"))?)
}

/// What the trail says about sealed evidence: the evidence id of every `evidence.sealed` event
/// with the stream it is in, and how many such events did not open (which then might name any id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedEvidenceEvents {
    pub by_evidence: std::collections::BTreeMap<String, String>,
    pub unreadable: usize,
}

/// Reads every `evidence.sealed` event's evidence id (the kind is a plaintext column, so only those
/// payloads are opened). Used to tell an orphan blob whose row vanished from one never committed.
pub fn sealed_evidence(conn: &Connection, keys: &Keyring) -> Result<SealedEvidenceEvents> {
    let mut stmt = conn
        .prepare("SELECT stream, seq, payload_enc FROM trail_events WHERE kind = 'evidence.sealed'")
        .map_err(StoreError::sql("read sealed evidence events"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)))
        .map_err(StoreError::sql("read sealed evidence events"))?;
    let mut found = SealedEvidenceEvents::default();
    for row in rows {
        let (stream, seq, sealed) = row.map_err(StoreError::sql("read sealed evidence events"))?;
        let id = keys
            .column
            .open(&payload_context(&stream, seq), &sealed)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|payload| payload.get("evidence_id")?.as_str().map(str::to_owned));
        match id {
            Some(id) => {
                found.by_evidence.insert(id, stream);
            }
            None => found.unreadable += 1,
        }
    }
    Ok(found)
}

/// Every stream that has at least one event.
pub fn streams(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT DISTINCT stream FROM trail_events ORDER BY stream")
        .map_err(StoreError::sql("list trail streams"))?;
    let rows = stmt.query_map([], |r| r.get(0)).map_err(StoreError::sql("list trail streams"))?;
    Ok(rows.collect::<rusqlite::Result<_>>().map_err(StoreError::sql("list trail streams"))?)
}

fn payload_context(stream: &str, seq: i64) -> String {
    format!("trail_events.payload:{stream}:{seq}")
}

fn salt_context(stream: &str, seq: i64) -> String {
    format!("trail_events.salt:{stream}:{seq}")
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
