//! 证据 — persistence of sealed evidence items.
//!
//! One row per item, written once in the ingest transaction (with its trail event and outbox row)
//! and never changed: the database refuses UPDATE and DELETE. The signed manifest envelope is sealed
//! with the column key under the row id, so a manifest copied onto another row fails to open. The
//! content hash is reachable only through a keyed lookup hash. The thumbnail is sealed in the row
//! too (since migration 10), padded, under its own context; the `size` column holds the original's
//! size class, not its length (docs/decisions/0011-padded-sizes.md).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Keyring, StoreError};
use crate::{
    Result,
    checklist::EvidenceKind,
    crypto::padding::{self, BLOB_FLOOR, THUMBNAIL_FLOOR},
    protocol::envelope::SignedEnvelope,
};

/// What the ingest pipeline hands to the store.
#[derive(Debug, Clone)]
pub struct NewEvidence<'a> {
    pub id: &'a str,
    pub inspection_id: &'a str,
    pub item_id: Option<&'a str>,
    pub finding_id: Option<&'a str>,
    pub parent_id: Option<&'a str>,
    pub kind: EvidenceKind,
    pub media_type: &'a str,
    /// The original's exact length; the row stores only its size class.
    pub size: u64,
    /// Lowercase hex SHA-256 of the original bytes; stored only as a keyed lookup hash.
    pub sha256: &'a str,
    pub blob_id: &'a str,
    /// A thumbnail in its own vault blob: how items were stored before migration 10 (and tests).
    pub thumbnail_blob_id: Option<&'a str>,
    pub envelope: &'a SignedEnvelope,
}

/// A stored item with its manifest envelope opened (not yet verified: see `evidence::verify_item`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvidence {
    pub id: String,
    pub inspection_id: String,
    pub item_id: Option<String>,
    pub finding_id: Option<String>,
    pub parent_id: Option<String>,
    pub kind: EvidenceKind,
    pub media_type: String,
    /// The original's size class ([`padding::size_class`]); for rows written before migration 10,
    /// its exact length. The exact length is the signed manifest's `size`.
    pub size_class: u64,
    pub blob_id: String,
    /// The thumbnail's vault blob, for items sealed before migration 10.
    pub thumbnail_blob_id: Option<String>,
    /// Whether the thumbnail is sealed in the row (read it with [`thumbnail`]).
    pub thumbnail_sealed: bool,
    pub envelope: SignedEnvelope,
    pub created_at: String,
}

const LOOKUP_DOMAIN: &str = "evidence.sha256";
const COLUMNS: &str = "id, inspection_id, item_id, finding_id, parent_id, kind, media_type, size, blob_id, \
                       thumbnail_blob_id, manifest_enc, created_at, thumbnail_enc IS NOT NULL";

pub fn insert(tx: &Transaction<'_>, keys: &Keyring, item: &NewEvidence<'_>) -> Result<()> {
    insert_with_thumbnail(tx, keys, item, None)
}

/// [`insert`], with the thumbnail JPEG sealed in the row: no vault file of its own, so it commits
/// (or not) with the row, and a capture costs one fewer file fsync and directory fsync.
pub fn insert_with_thumbnail(
    tx: &Transaction<'_>,
    keys: &Keyring,
    item: &NewEvidence<'_>,
    thumbnail: Option<&[u8]>,
) -> Result<()> {
    let envelope = item.envelope.to_json_string()?;
    let sealed = keys.column.seal_str(&context(item.id), &envelope)?;
    let size = i64::try_from(padding::size_class(item.size, BLOB_FLOOR))
        .map_err(|_| StoreError::Corrupt { what: "evidence size".into(), reason: "beyond 2^63".into() })?;
    let thumbnail = match thumbnail {
        Some(bytes) => {
            let padded = padding::pad_value(bytes, THUMBNAIL_FLOOR).ok_or_else(|| StoreError::Corrupt {
                what: "evidence thumbnail".into(),
                reason: "beyond 4 GiB".into(),
            })?;
            Some(keys.column.seal(&thumbnail_context(item.id), &padded)?)
        }
        None => None,
    };
    let exact_size = keys.column.seal(&size_context(item.id), &item.size.to_be_bytes())?;
    tx.execute(
        "INSERT INTO evidence (id, inspection_id, item_id, finding_id, parent_id, kind, media_type, size, \
         sha256_lookup, blob_id, thumbnail_blob_id, manifest_enc, created_at, thumbnail_enc, size_enc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            item.id,
            item.inspection_id,
            item.item_id,
            item.finding_id,
            item.parent_id,
            item.kind.code(),
            item.media_type,
            size,
            keys.lookup.hash(LOOKUP_DOMAIN, item.sha256),
            item.blob_id,
            item.thumbnail_blob_id,
            sealed,
            super::now_timestamp(),
            thumbnail,
            exact_size,
        ],
    )
    .map_err(StoreError::sql("save evidence"))?;
    Ok(())
}

pub fn get(conn: &Connection, keys: &Keyring, id: &str) -> Result<StoredEvidence> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM evidence WHERE id = ?1"), [id], row_parts)
        .optional()
        .map_err(StoreError::sql("read evidence"))?
        .ok_or_else(|| StoreError::NotFound { what: format!("evidence {id}") })?
        .open(keys)
}

/// The thumbnail JPEG sealed in row `id`, if it has one there (items sealed before migration 10
/// keep theirs in the vault: [`StoredEvidence::thumbnail_blob_id`]).
pub fn thumbnail(conn: &Connection, keys: &Keyring, id: &str) -> Result<Option<Vec<u8>>> {
    let sealed: Option<Vec<u8>> = conn
        .query_row("SELECT thumbnail_enc FROM evidence WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(StoreError::sql("read evidence thumbnail"))?
        .ok_or_else(|| StoreError::NotFound { what: format!("evidence {id}") })?;
    let Some(sealed) = sealed else { return Ok(None) };
    let padded = keys.column.open(&thumbnail_context(id), &sealed)?;
    let bytes = padding::unpad_value(&padded, THUMBNAIL_FLOOR).ok_or_else(|| StoreError::Corrupt {
        what: format!("evidence {id} thumbnail"),
        reason: "padding is not the canonical form".into(),
    })?;
    Ok(Some(bytes.to_vec()))
}

/// The original's exact size from the row's `size` column and its `size_enc` (sealed since
/// migration 10, when `size` became the size class; rows written before have an exact `size` and
/// no `size_enc`). For upload progress, without opening the manifest.
pub fn exact_size(keys: &Keyring, id: &str, size_column: i64, size_enc: Option<&[u8]>) -> Result<u64> {
    let corrupt =
        |reason: &str| StoreError::Corrupt { what: format!("evidence {id} size"), reason: reason.into() };
    match size_enc {
        Some(sealed) => {
            let bytes = keys.column.open(&size_context(id), sealed)?;
            let bytes: [u8; 8] = bytes.try_into().map_err(|_| corrupt("not 8 bytes"))?;
            Ok(u64::from_be_bytes(bytes))
        }
        None => u64::try_from(size_column).map_err(|_| corrupt("negative").into()),
    }
}

/// An inspection's items in the order they were sealed.
pub fn list_for_inspection(
    conn: &Connection,
    keys: &Keyring,
    inspection_id: &str,
) -> Result<Vec<StoredEvidence>> {
    sealed_rows_of_inspection(conn, inspection_id)?.into_iter().map(|row| row.open(keys)).collect()
}

/// An inspection's items in sealing order for display: a row that does not open is left out and its
/// id returned beside the rest, so one corrupt row cannot hide the others. Records and exports use
/// [`list_for_inspection`], which refuses instead: a legal record must never omit an item silently.
pub fn list_readable_for_inspection(
    conn: &Connection,
    keys: &Keyring,
    inspection_id: &str,
) -> Result<(Vec<StoredEvidence>, Vec<String>)> {
    let (mut readable, mut skipped) = (Vec::new(), Vec::new());
    for sealed in sealed_rows_of_inspection(conn, inspection_id)? {
        let id = sealed.id.clone();
        match sealed.open(keys) {
            Ok(item) => readable.push(item),
            Err(_) => skipped.push(id),
        }
    }
    Ok((readable, skipped))
}

fn sealed_rows_of_inspection(conn: &Connection, inspection_id: &str) -> Result<Vec<SealedRow>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM evidence WHERE inspection_id = ?1 ORDER BY created_at, rowid"
        ))
        .map_err(StoreError::sql("list evidence"))?;
    let rows = stmt.query_map([inspection_id], row_parts).map_err(StoreError::sql("list evidence"))?;
    Ok(rows.collect::<rusqlite::Result<_>>().map_err(StoreError::sql("list evidence"))?)
}

/// Ids of items in `inspection_id` whose original has this SHA-256.
pub fn find_by_sha256(
    conn: &Connection,
    keys: &Keyring,
    inspection_id: &str,
    sha256: &str,
) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT id FROM evidence WHERE sha256_lookup = ?1 AND inspection_id = ?2 ORDER BY rowid")
        .map_err(StoreError::sql("find evidence by hash"))?;
    let rows = stmt
        .query_map(params![keys.lookup.hash(LOOKUP_DOMAIN, sha256), inspection_id], |r| r.get(0))
        .map_err(StoreError::sql("find evidence by hash"))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>().map_err(StoreError::sql("find evidence by hash"))?)
}

/// Every vault blob id some evidence row points to (originals and thumbnails), for orphan sweeps.
pub fn referenced_blob_ids(conn: &Connection) -> Result<std::collections::BTreeSet<String>> {
    let mut stmt = conn
        .prepare("SELECT blob_id FROM evidence UNION SELECT thumbnail_blob_id FROM evidence WHERE thumbnail_blob_id IS NOT NULL")
        .map_err(StoreError::sql("list evidence blobs"))?;
    let rows = stmt.query_map([], |r| r.get(0)).map_err(StoreError::sql("list evidence blobs"))?;
    Ok(rows.collect::<rusqlite::Result<_>>().map_err(StoreError::sql("list evidence blobs"))?)
}

/// `(evidence id, blob id)` of an inspection's rows, without opening anything (for the
/// installation's integrity check, which must see rows that do not open too).
pub fn blobs_of_inspection(conn: &Connection, inspection_id: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn
        .prepare("SELECT id, blob_id FROM evidence WHERE inspection_id = ?1 ORDER BY rowid")
        .map_err(StoreError::sql("list evidence blobs"))?;
    let rows = stmt
        .query_map([inspection_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(StoreError::sql("list evidence blobs"))?;
    Ok(rows.collect::<rusqlite::Result<_>>().map_err(StoreError::sql("list evidence blobs"))?)
}

struct SealedRow {
    id: String,
    inspection_id: String,
    item_id: Option<String>,
    finding_id: Option<String>,
    parent_id: Option<String>,
    kind: String,
    media_type: String,
    size: i64,
    blob_id: String,
    thumbnail_blob_id: Option<String>,
    manifest: Vec<u8>,
    created_at: String,
    thumbnail_sealed: bool,
}

impl SealedRow {
    fn open(self, keys: &Keyring) -> Result<StoredEvidence> {
        let corrupt = |reason: &str| StoreError::Corrupt {
            what: format!("evidence {}", self.id),
            reason: reason.into(),
        };
        let kind = kind_from_code(&self.kind).ok_or_else(|| corrupt("unknown kind"))?;
        let size_class = u64::try_from(self.size).map_err(|_| corrupt("negative size"))?;
        let text = keys.column.open_string(&context(&self.id), &self.manifest)?;
        let envelope = SignedEnvelope::from_json_str(&text)?;
        Ok(StoredEvidence {
            id: self.id,
            inspection_id: self.inspection_id,
            item_id: self.item_id,
            finding_id: self.finding_id,
            parent_id: self.parent_id,
            kind,
            media_type: self.media_type,
            size_class,
            blob_id: self.blob_id,
            thumbnail_blob_id: self.thumbnail_blob_id,
            thumbnail_sealed: self.thumbnail_sealed,
            envelope,
            created_at: self.created_at,
        })
    }
}

fn kind_from_code(code: &str) -> Option<EvidenceKind> {
    [
        EvidenceKind::Photo,
        EvidenceKind::Video,
        EvidenceKind::Audio,
        EvidenceKind::Document,
        EvidenceKind::Data,
    ]
    .into_iter()
    .find(|k| k.code() == code)
}

fn row_parts(r: &rusqlite::Row<'_>) -> rusqlite::Result<SealedRow> {
    Ok(SealedRow {
        id: r.get(0)?,
        inspection_id: r.get(1)?,
        item_id: r.get(2)?,
        finding_id: r.get(3)?,
        parent_id: r.get(4)?,
        kind: r.get(5)?,
        media_type: r.get(6)?,
        size: r.get(7)?,
        blob_id: r.get(8)?,
        thumbnail_blob_id: r.get(9)?,
        manifest: r.get(10)?,
        created_at: r.get(11)?,
        thumbnail_sealed: r.get(12)?,
    })
}

fn context(id: &str) -> String {
    format!("evidence.manifest:{id}")
}

fn size_context(id: &str) -> String {
    format!("evidence.size:{id}")
}

fn thumbnail_context(id: &str) -> String {
    format!("evidence.thumbnail:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        crypto::{signer::SoftwareSigner, software_vault::KeyFileVault},
        store::Store,
    };

    fn envelope() -> SignedEnvelope {
        let payload = serde_json::json!({"type": "evidence_manifest", "v": 1, "note": "王建国在场"});
        SignedEnvelope::seal(&payload, &SoftwareSigner::fixed_for_tests()).unwrap()
    }

    fn item<'a>(id: &'a str, env: &'a SignedEnvelope) -> NewEvidence<'a> {
        NewEvidence {
            id,
            inspection_id: "insp-1",
            item_id: Some("item-1"),
            finding_id: None,
            parent_id: None,
            kind: EvidenceKind::Photo,
            media_type: "image/jpeg",
            size: 1234,
            sha256: "aa",
            blob_id: id,
            thumbnail_blob_id: None,
            envelope: env,
        }
    }

    #[test]
    fn evidence_rows_round_trip_and_are_immutable_with_no_plaintext_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
        let store = Store::open(tmp.path().join("data"), &vault).unwrap();
        let env = envelope();
        store.write(|tx, keys| insert(tx, keys, &item("ev1", &env))).unwrap();
        let got = store.read(|c, k| get(c, k, "ev1")).unwrap();
        assert_eq!(got.envelope, env);
        assert_eq!(got.kind, EvidenceKind::Photo);
        assert_eq!(store.read(|c, k| find_by_sha256(c, k, "insp-1", "aa")).unwrap(), vec!["ev1".to_string()]);
        assert!(store.read(|c, k| find_by_sha256(c, k, "insp-1", "bb")).unwrap().is_empty());
        assert_eq!(store.read(|c, k| list_for_inspection(c, k, "insp-1")).unwrap().len(), 1);

        let upd = store.write(|tx, _| {
            tx.execute("UPDATE evidence SET size = 1 WHERE id = 'ev1'", [])
                .map_err(StoreError::sql("tamper"))?;
            Ok(())
        });
        assert!(upd.is_err());
        let del = store.write(|tx, _| {
            tx.execute("DELETE FROM evidence", []).map_err(StoreError::sql("tamper"))?;
            Ok(())
        });
        assert!(del.is_err());
        drop(store);
        for file in ["fieldseal.db", "fieldseal.db-wal"] {
            if let Ok(bytes) = std::fs::read(tmp.path().join("data").join(file)) {
                let needle = "王建国".as_bytes();
                assert!(!bytes.windows(needle.len()).any(|w| w == needle), "plaintext in {file}");
            }
        }
    }

    #[test]
    fn a_manifest_moved_to_another_row_does_not_open() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
        let store = Store::open(tmp.path().join("data"), &vault).unwrap();
        let env = envelope();
        store.write(|tx, keys| insert(tx, keys, &item("ev1", &env))).unwrap();
        // Copy ev1's sealed manifest into a new row ev2 (the database refuses UPDATE, so INSERT).
        store
            .write(|tx, _| {
                tx.execute(
                    "INSERT INTO evidence (id, inspection_id, kind, media_type, size, sha256_lookup, blob_id, manifest_enc, created_at) \
                     SELECT 'ev2', inspection_id, kind, media_type, size, sha256_lookup, 'ev2', manifest_enc, created_at FROM evidence WHERE id = 'ev1'",
                    [],
                )
                .map_err(StoreError::sql("copy"))?;
                Ok(())
            })
            .unwrap();
        let err = store.read(|c, k| get(c, k, "ev2")).unwrap_err();
        assert_eq!(err.explain().code, "crypto.integrity");
    }
}
